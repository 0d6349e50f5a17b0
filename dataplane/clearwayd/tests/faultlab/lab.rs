//! clearwayd in the scenario's namespaces: its configuration, start,
//! `kill -9` and restart, clean stop, and its /metrics.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{http, ACQ_RESERVE, CURRENCY, ISS_RESERVE, SWITCH_IP};
use crate::common::ip;
use crate::common::Daemon;

/// The tap clearwayd creates (alone in the namespace, so the name is fixed).
const TAP: &str = "clwrel0";

/// What a scenario changes in the laboratory.
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub scenario: &'static str,
    /// The issuer's timeout: stand-in 91 and the first 0420 after it.
    pub issuer_timeout_ms: u64,
    pub reversal_retry_ms: u64,
    pub reversal_attempts: u8,
    /// Put the journal on a tmpfs of this size (e.g. "1m").
    pub journal_tmpfs: Option<&'static str>,
    /// Also serve the API on TCP with a bearer token.
    pub tcp_api: bool,
}

impl LabOptions {
    pub fn new(scenario: &'static str) -> LabOptions {
        LabOptions {
            scenario,
            issuer_timeout_ms: 250,
            reversal_retry_ms: 100,
            reversal_attempts: 3,
            journal_tmpfs: None,
            tcp_api: false,
        }
    }
}

/// A running clearwayd and where its files are.
pub struct Lab {
    pub opts: LabOptions,
    pub dir: PathBuf,
    pub cfg: PathBuf,
    pub journal: PathBuf,
    pub api: PathBuf,
    pub tcp: Option<(String, String)>,
    daemon: Option<Daemon>,
    /// Everything earlier daemons of this lab printed (before a kill -9).
    pub earlier_output: String,
    /// Keep the scenario's directory (config, journal, logs) for a look
    /// afterwards; cleared once a scenario found nothing wrong.
    pub keep_files: bool,
}

impl Lab {
    pub fn start(opts: LabOptions) -> Lab {
        let dir =
            std::env::temp_dir().join(format!("clw-rel-{}-{}", opts.scenario, std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let journal_volume = dir.join("journal-volume");
        std::fs::create_dir_all(&journal_volume).unwrap();
        if let Some(size) = opts.journal_tmpfs {
            // Private mount namespace (see netns.rs): only this scenario sees it.
            let out = Command::new("mount")
                .args([
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={size}"),
                    "clwrel-journal",
                ])
                .arg(&journal_volume)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "mount tmpfs: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let journal = journal_volume.join("journal");
        let api = dir.join("api.sock");
        let tcp = opts.tcp_api.then(|| {
            let token = format!("reliability-token-{}", std::process::id());
            std::fs::write(dir.join("token"), format!("{token}\n")).unwrap();
            ("127.0.0.1:18580".to_string(), token)
        });
        let cfg = dir.join("clearway.toml");
        std::fs::write(&cfg, config(&opts, &dir, &journal, &api, tcp.is_some())).unwrap();
        let mut lab = Lab {
            opts,
            dir,
            cfg,
            journal,
            api,
            tcp,
            daemon: None,
            earlier_output: String::new(),
            keep_files: true,
        };
        lab.launch();
        lab
    }

    fn launch(&mut self) {
        let d = Daemon::start(
            &["-c", self.cfg.to_str().unwrap()],
            &self
                .dir
                .join(format!("clearwayd-{}.stderr", self.earlier_output.len())),
            "clearwayd: API on",
        );
        self.daemon = Some(d);
        // The tap appeared with the port; give the kernel side its
        // participants' addresses (again after every restart).
        ip(&["link", "set", "lo", "up"]);
        for a in ["10.213.9.10/24", "10.213.9.20/24"] {
            let _ = Command::new("ip")
                .args(["addr", "add", a, "dev", TAP])
                .output();
        }
        ip(&["link", "set", TAP, "up"]);
    }

    /// SIGKILL under load, then a fresh start on the same journal.
    pub fn kill9_and_restart(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.kill9();
            self.earlier_output.push_str(&d.said());
            self.earlier_output.push_str("\n--- kill -9 ---\n");
        }
        self.launch();
    }

    /// What the running daemon printed so far.
    pub fn said(&self) -> String {
        format!(
            "{}{}",
            self.earlier_output,
            self.daemon.as_ref().map(|d| d.said()).unwrap_or_default()
        )
    }

    pub fn metrics(&self) -> String {
        let r = http::unix(&self.api, "GET", "/metrics", b"");
        assert_eq!(r.status, 200, "GET /metrics: {r:?}");
        r.body
    }

    /// SIGTERM: the final cutoff is netted and settled, then it exits.
    /// Returns whether it exited cleanly and everything it printed.
    pub fn stop(&mut self) -> (bool, String) {
        let d = self.daemon.take().expect("running");
        let (ok, out) = d.terminate();
        (ok, format!("{}{out}", self.earlier_output))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.daemon.take();
        if self.opts.journal_tmpfs.is_some() {
            let _ = Command::new("umount")
                .arg(self.dir.join("journal-volume"))
                .output();
        }
    }
}

fn config(opts: &LabOptions, dir: &Path, journal: &Path, api: &Path, tcp: bool) -> String {
    let tcp = if tcp {
        format!(
            "tcp = \"127.0.0.1:18580\"\ntoken_file = \"{}\"\n",
            dir.join("token").display()
        )
    } else {
        String::new()
    };
    format!(
        r#"
{eal}
[[dataplane.ports]]
name = "tap0"
device = "net_tap0,iface={TAP}"

[dataplane.mempool]
mbufs = 8191

[switch]
service_ip = "{SWITCH_IP}"
service_mac = "02:c1:ea:00:00:01"
port = "tap0"
pending_capacity = 8192
dedup_capacity = 8192
reversal_retry_ms = {retry}
reversal_attempts = {attempts}

[api]
socket = "{api}"
{tcp}
[journal]
dir = "{journal}"
durability = "sync"

[clearing]
cutoff = "command"
settlement_dir = "{settlement}"
in_flight_grace_ms = 200

[[accounts]]
participant = "acq"
currency = {CURRENCY}
reserve = {ACQ_RESERVE}

[[accounts]]
participant = "iss"
currency = {CURRENCY}
reserve = {ISS_RESERVE}

[[participants]]
id = "acq"
roles = ["acquirer"]
# Field 32 of its requests (testkit::request): its own institution.
institution_ids = ["123456"]
sources = ["{acq}"]

[[participants]]
id = "iss"
roles = ["issuer"]
sources = ["{iss}"]
timeout_ms = {timeout}

[[routes]]
prefix = "476173"
participant = "iss"
"#,
        eal = crate::common::eal_toml(&format!("clwrel-{}-{}", opts.scenario, std::process::id())),
        retry = opts.reversal_retry_ms,
        attempts = opts.reversal_attempts,
        api = api.display(),
        journal = journal.display(),
        settlement = dir.join("settlement").display(),
        acq = super::ACQ,
        iss = super::ISS,
        timeout = opts.issuer_timeout_ms,
    )
}
