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
