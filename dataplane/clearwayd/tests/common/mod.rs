//! A clearwayd child process for the integration tests: started, waited for
//! until it prints a given line, its output kept, and killed however the
//! test ends (a failed test never leaves a busy-polling daemon behind).

#![allow(dead_code)] // each test binary uses its own subset

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_clearwayd");

/// A workspace binary built beside this test (cargo-nextest builds them all).
pub fn sibling(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        bin.exists(),
        "build {name} first (cargo build --workspace): {}",
        bin.display()
    );
    bin
}

/// clearwayd's embedded default configuration moved into `dir` (memif
/// socket, journal and settlement files, API socket `dir/api.sock`), with
/// EAL files under `file_prefix` and 16,384-entry pending and duplicate
/// tables, small enough for a test machine.
pub fn default_config_in(dir: &Path, file_prefix: &str) -> String {
    let default = Command::new(BIN)
        .arg("--print-default-config")
        .output()
        .unwrap();
    String::from_utf8(default.stdout)
        .unwrap()
        .replace(
            "/tmp/clearway-memif.sock",
            &dir.join("memif.sock").display().to_string(),
        )
        .replace("/tmp/clearway-demo", &dir.display().to_string())
        .replace(
            "/run/clearway/api.sock",
            &dir.join("api.sock").display().to_string(),
        )
        .replace("clearwayd-demo", file_prefix)
        .replace("pending_capacity = 262144", "pending_capacity = 16384")
        .replace("dedup_capacity = 262144", "dedup_capacity = 16384")
}

/// clearctl talking to the API socket `socket`.
pub struct Clearctl {
    socket: PathBuf,
    bin: PathBuf,
}

impl Clearctl {
    pub fn new(socket: PathBuf) -> Clearctl {
        Clearctl {
            socket,
            bin: sibling("clearctl"),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Runs `clearctl --socket SOCKET args...`.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; its output.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "clearctl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs a command that must fail saying `needle` on stderr; its stderr.
    pub fn refused(&self, args: &[&str], needle: &str) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "clearctl {args:?} should fail");
        assert!(
            err.contains(needle),
            "clearctl {args:?}: {err:?} should mention {needle:?}"
        );
        err
    }
}

/// `ip ...` in the current network namespace; panics with its error.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("iproute2");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `[dataplane.eal]` table every test configuration uses: no
/// hugepages, 512 MiB, no shared config (one process per EAL), EAL files
/// under `file_prefix` (unique per test process), quiet logs.
pub fn eal_toml(file_prefix: &str) -> String {
    format!(
        r#"[dataplane.eal]
hugepages = false
memory_mb = 512
no_shconf = true
file_prefix = "{file_prefix}"
extra_args = ["--log-level=lib.eal:warning", "--no-telemetry"]
"#
    )
}

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
    use rte::{Burst, Eal, Mempool, Port, PortConfig, RxQueue, TxQueue};
    use std::net::SocketAddrV4;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};
    use switch::testkit::{answer, parse_udp, udp_frame, Msg, ACQUIRER_INSTITUTION};

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
        let eal = super::eal_toml(file_prefix);
        format!(
            r#"
{eal}
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
    /// A test's fresh directory (`clearwayd-NAME-PID` under the temp dir)
    /// holding its `clearway.toml` for this network (EAL prefix
    /// `clw-NAME-PID`, tables of `capacity`) and the memif socket.
    pub struct Prepared {
        pub dir: PathBuf,
        pub socket: PathBuf,
        pub cfg: PathBuf,
    }

    pub fn prepare(name: &str, capacity: u32) -> Prepared {
        let tag = std::process::id();
        let dir = std::env::temp_dir().join(format!("clearwayd-{name}-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("memif.sock");
        let cfg = dir.join("clearway.toml");
        let text = config(&dir, &socket, &format!("clw-{name}-{tag}"), capacity);
        std::fs::write(&cfg, text).unwrap();
        Prepared { dir, socket, cfg }
    }

    pub fn start(cfg: &Path) -> Daemon {
        Daemon::start(
            &["-c", cfg.to_str().unwrap()],
            &cfg.with_extension("stderr"),
            "clearwayd: switch on",
        )
    }

    /// The test side of the memif link: a DPDK memif client in the test
    /// process playing both the acquirer and the issuer.
    pub struct Peer {
        pool: Mempool,
        port: Port,
        rx: RxQueue,
        tx: TxQueue,
        /// Requests that reached the issuer (and that it approved), over
        /// every clearwayd run.
        pub issuer_saw: usize,
        // Last: dropped after every DPDK object above.
        _eal: Eal,
    }

    impl Peer {
        /// Starts this process's EAL (files under `eal_tag`) with a memif
        /// client on `socket` and starts its port; the link comes up once
        /// clearwayd (the server) accepts it, see [`Peer::wait_link`].
        pub fn connect(eal_tag: &str, socket: &Path) -> Peer {
            let mut args = rte::test_eal_args(eal_tag);
            args.push(format!(
                "--vdev=net_memif0,role=client,socket={},socket-abstract=no,id=0",
                socket.display()
            ));
            let eal = Eal::init(&args).unwrap();
            let pool = Mempool::create(&eal, "peer", 8191, 64, 2176, -1).unwrap();
            let port = Port::by_name(&eal, "net_memif0").unwrap();
            port.configure(&PortConfig::default(), &pool).unwrap();
            port.start().unwrap();
            Peer {
                rx: port.rx_queue(0).unwrap(),
                tx: port.tx_queue(0).unwrap(),
                pool,
                port,
                issuer_saw: 0,
                _eal: eal,
            }
        }

        /// Waits up to 20 s for the memif link; false if it stayed down. A
        /// restarted server needs the client to reconnect, and a memif
        /// client connects when its port starts: restart ours every 300 ms
        /// until it has.
        #[must_use]
        pub fn wait_link(&mut self) -> bool {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut retry_at = Instant::now() + Duration::from_millis(300);
            while !self.port.link().unwrap().up {
                if Instant::now() >= deadline {
                    return false;
                }
                if Instant::now() >= retry_at {
                    let _ = self.port.stop();
                    let _ = self.port.start();
                    retry_at = Instant::now() + Duration::from_millis(300);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            true
        }

        /// Puts `frame` on the link.
        pub fn send(&mut self, frame: &[u8]) {
            let mut m = self.pool.alloc().unwrap();
            m.set_len(frame.len()).unwrap();
            m.data_mut().copy_from_slice(frame);
            let mut b = Burst::new();
            b.push(m).unwrap();
            // memif refuses when its ring is full: retry briefly, then give
            // up (an unsent request is simply not a transaction).
            for _ in 0..1000 {
                if self.tx.tx_burst(&mut b) == 1 {
                    return;
                }
            }
        }

        /// The acquirer sends `message` to the switch's service port.
        pub fn acquirer_sends(&mut self, message: &[u8]) {
            let acq: SocketAddrV4 = ACQ.parse().unwrap();
            let switch: SocketAddrV4 = format!("{SWITCH}:8583").parse().unwrap();
            self.send(&udp_frame(acq, ACQ_MAC, switch, SWITCH_MAC, message));
        }

        /// The issuer approves `request` (39 = 00), answering to `to`, and
        /// counts it in [`Peer::issuer_saw`].
        pub fn issuer_approves(&mut self, request: &Msg, to: SocketAddrV4) {
            self.issuer_saw += 1;
            let iss: SocketAddrV4 = ISS.parse().unwrap();
            let reply = answer(request, "00").encode();
            self.send(&udp_frame(iss, ISS_MAC, to, SWITCH_MAC, &reply));
        }

        /// One receive burst's ISO 8583 messages: (from, to, message).
        /// Frames that are not UDP carrying ISO 8583 are skipped.
        pub fn receive(&mut self) -> Vec<(SocketAddrV4, SocketAddrV4, Msg)> {
            let mut b = Burst::new();
            self.rx.rx_burst(&mut b);
            b.drain()
                .filter_map(|m| parse_udp(m.data()))
                .flat_map(|(flow, msgs)| msgs.into_iter().map(move |m| (flow.src, flow.dst, m)))
                .collect()
        }
    }
}
