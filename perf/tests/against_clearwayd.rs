//! End to end against the real switch: clearwayd with its embedded default
//! configuration (moved to a socket, journal and settlement directory of
//! this test) serves memif; clearway-perf drives a fixed number of
//! transactions at it in closed loop; every one must get exactly one answer.
//!
//! clearwayd is the workspace binary built beside this test (cargo-nextest
//! builds every binary of the workspace).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn clearwayd() -> PathBuf {
    // target/<profile>/deps/against_clearwayd-* -> target/<profile>/clearwayd
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("clearwayd");
    assert!(
        bin.exists(),
        "build clearwayd first (cargo build -p clearwayd): {}",
        bin.display()
    );
    bin
}

#[test]
fn every_transaction_sent_through_clearwayd_gets_exactly_one_answer() {
    let dir = std::env::temp_dir().join(format!("clw-perf-switch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("memif.sock");
    let daemon = clearwayd();
    let default = Command::new(&daemon)
        .arg("--print-default-config")
        .output()
        .unwrap();
    let cfg = String::from_utf8(default.stdout)
        .unwrap()
        .replace("/tmp/clearway-memif.sock", &socket.display().to_string())
        .replace("/tmp/clearway-demo", &dir.display().to_string())
        .replace(
            "clearwayd-demo",
            &format!("clw-perf-switch-{}", std::process::id()),
        )
        .replace("pending_capacity = 262144", "pending_capacity = 16384")
        .replace("dedup_capacity = 262144", "dedup_capacity = 16384");
    let cfg_path = dir.join("clearway.toml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let mut child = Command::new(&daemon)
        .args(["-c", cfg_path.to_str().unwrap(), "--run-seconds", "120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("clearwayd: switch on") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("clearwayd started its switch");

    let json = dir.join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_clearway-perf"))
        .args([
            "--transactions",
            "20000",
            "--outstanding",
            "64",
            "--verify",
            "--quiet",
        ])
        .arg("--socket")
        .arg(&socket)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("clearway-perf runs");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    let daemon_said = reader.join().unwrap();
    let said = format!(
        "{}\n{}\nclearwayd:\n{daemon_said}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "clearway-perf failed:\n{said}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for key in [
        "tps",
        "msgs_per_s",
        "p50_us",
        "p99_us",
        "p999_us",
        "lost",
        "timeouts",
        "baseline_mpps",
        "ratio_vs_baseline",
        "config",
    ] {
        assert!(v.get(key).is_some(), "report key {key}: {said}");
    }
    let run = &v["runs"][0];
    assert_eq!(run["sent"].as_u64(), Some(20_000), "{said}");
    assert_eq!(
        run["answered"].as_u64(),
        Some(20_000),
        "every transaction answered: {said}"
    );
    for key in ["lost", "duplicates", "unknown"] {
        assert_eq!(run[key].as_u64(), Some(0), "{key}: {said}");
    }
    assert!(
        daemon_said.contains("window 1 closed and settled"),
        "the cutoff at stop settled:\n{daemon_said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
