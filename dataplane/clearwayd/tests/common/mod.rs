//! A clearwayd child process for the integration tests: started, waited for
//! until it prints a given line, its output kept, and killed however the
//! test ends (a failed test never leaves a busy-polling daemon behind).

#![allow(dead_code)] // each test binary uses its own subset

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_clearwayd");

pub struct Daemon {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr_path: std::path::PathBuf,
}

impl Daemon {
    /// Runs clearwayd with `args` (through `taskset` on every online CPU:
    /// a test process that started its own EAL is pinned to one, and its
    /// children would inherit that) and waits up to 90 s for `ready`.
    pub fn start(args: &[&str], stderr_path: &Path, ready: &str) -> Daemon {
        let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
        let mut child = Command::new("taskset")
            .args(["-c", online.trim(), BIN])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(stderr_path).unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let (kept, wanted) = (stdout.clone(), ready.to_owned());
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains(&wanted) {
                    let _ = tx.send(());
                }
                let mut s = kept.lock().unwrap();
                if s.len() < 64 * 1024 {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        let mut d = Daemon {
            child,
            stdout,
            stderr_path: stderr_path.to_owned(),
        };
        if rx.recv_timeout(Duration::from_secs(90)).is_err() {
            let _ = d.child.kill();
            panic!(
                "clearwayd did not print {ready:?} within 90 s:\n{}",
                d.said()
            );
        }
        d
    }

    /// What it printed so far, stdout then stderr.
    pub fn said(&self) -> String {
        format!(
            "{}{}",
            self.stdout.lock().unwrap(),
            std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
        )
    }

    /// SIGKILL, as a crash.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean stop; returns everything it printed.
    pub fn terminate(mut self) -> (bool, String) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let ok = self.child.wait().map(|s| s.success()).unwrap_or(false);
        // The reader thread drains the pipe to its end.
        std::thread::sleep(Duration::from_millis(100));
        (ok, self.said())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one-acquirer, one-issuer network of the memif end-to-end tests:
/// clearwayd is the memif server with its journal on, the test process the
/// client playing both banks.
pub mod memif_net {
    use super::Daemon;
    use std::path::Path;
    use switch::testkit::ACQUIRER_INSTITUTION;

    pub const SWITCH: &str = "10.0.0.1";
    pub const SWITCH_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    pub const ACQ: &str = "10.0.1.1:5001";
    pub const ACQ_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x01];
    pub const ISS: &str = "10.0.2.1:9001";
    pub const ISS_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x02, 0x01];

    /// clearway.toml for that network: journal and settlement under `dir`,
    /// the memif socket at `socket`, EAL files under `file_prefix`, pending
    /// and duplicate tables of `capacity` entries; the acquirer holds a CNY
    /// reserve, BIN 476173 routes to the issuer.
    pub fn config(dir: &Path, socket: &Path, file_prefix: &str, capacity: u32) -> String {
        format!(
            r#"
[dataplane.eal]
hugepages = false
memory_mb = 512
no_shconf = true
file_prefix = "{file_prefix}"
extra_args = ["--log-level=lib.eal:warning", "--no-telemetry"]

[[dataplane.ports]]
name = "m0"
device = "net_memif0,role=server,socket={socket},socket-abstract=no,id=0"

[dataplane.mempool]
mbufs = 8191

[switch]
service_ip = "{SWITCH}"
service_mac = "02:00:00:00:00:01"
port = "m0"
pending_capacity = {capacity}
dedup_capacity = {capacity}

[journal]
dir = "{journal}"
durability = "sync"

[clearing]
cutoff = "command"
settlement_dir = "{settlement}"

[[accounts]]
participant = "acq"
currency = 156
reserve = 100000000000

[[participants]]
id = "acq"
roles = ["acquirer"]
sources = ["{ACQ}"]
institution_ids = ["{ACQUIRER_INSTITUTION}"]
next_hop_mac = "02:00:00:00:01:01"

[[participants]]
id = "iss"
roles = ["issuer"]
sources = ["{ISS}"]
next_hop_mac = "02:00:00:00:02:01"

[[routes]]
prefix = "476173"
participant = "iss"
"#,
            socket = socket.display(),
            journal = dir.join("journal").display(),
            settlement = dir.join("settlement").display(),
        )
    }

    /// Starts clearwayd on `cfg` and waits until its switch runs.
    pub fn start(cfg: &Path) -> Daemon {
        Daemon::start(
            &["-c", cfg.to_str().unwrap()],
            &cfg.with_extension("stderr"),
            "clearwayd: switch on",
        )
    }
}
