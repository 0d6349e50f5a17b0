//! clearwayd as an operator runs it: a forwarding config moves traffic
//! and prints figures, signals stop it cleanly, configuration mistakes are
//! one clear message and exit status 2.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;
use common::BIN;

/// Two net_null ports forwarding to each other: traffic flows at once.
fn default_config() -> String {
    format!(
        r#"
{eal}
[[dataplane.ports]]
name = "left"
device = "net_null0,size=64"

[[dataplane.ports]]
name = "right"
device = "net_null1,size=64"

[dataplane.mempool]
mbufs = 8191

[forward]
pairs = [["left", "right"]]
"#,
        eal = common::eal_toml(&format!("clearwayd-test-{}", std::process::id()))
    )
}

fn write_config(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("clearwayd-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The final table's rx and tx figures for one port.
fn final_figures(stdout: &str, port: &str) -> (u64, u64) {
    let tail = stdout
        .split("final figures per port:")
        .nth(1)
        .expect("final table printed");
    let line = tail
        .lines()
        .find(|l| l.split_whitespace().next() == Some(port))
        .expect("port row");
    let cols: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|c| c.parse().unwrap())
        .collect();
    (cols[0], cols[1])
}

#[test]
fn forward_config_moves_traffic_prints_figures_and_stops_by_itself() {
    let path = write_config("run.toml", &default_config());
    let out = Command::new(BIN)
        .args(["-c", &path, "--run-seconds", "2.5"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("[stats]  left: rx "),
        "per-second table printed:\n{stdout}"
    );
    for port in ["left", "right"] {
        let (rx, tx) = final_figures(&stdout, port);
        assert!(rx > 0 && tx > 0, "{port}: rx {rx} tx {tx}\n{stdout}");
    }
    // What left receives goes out of right and the other way round.
    assert_eq!(
        final_figures(&stdout, "left").0,
        final_figures(&stdout, "right").1
    );
}

#[test]
fn sigterm_stops_cleanly_with_final_figures() {
    let path = write_config("sig.toml", &default_config());
    let child = Command::new(BIN)
        .args(["-c", &path])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "clean exit on SIGTERM:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("final figures per port"), "{stdout}");
}

fn expect_config_error(cfg_text: &str, name: &str, needle: &str) {
    let path = write_config(name, cfg_text);
    let out = Command::new(BIN)
        .args(["-c", &path, "--run-seconds", "1"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit 2 for a config error:\n{stdout}\n{stderr}"
    );
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("clearwayd:"))
        .collect();
    assert_eq!(ours.len(), 1, "one message from clearwayd:\n{stderr}");
    assert!(
        ours[0].contains(needle),
        "{:?} should mention {needle:?}",
        ours[0]
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn forward_pair_naming_a_missing_port_is_exit_2() {
    let cfg = default_config().replace(r#"[["left", "right"]]"#, r#"[["left", "uplink9"]]"#);
    expect_config_error(&cfg, "missing.toml", "\"uplink9\"");
}

#[test]
fn a_vdev_dpdk_does_not_know_is_exit_2() {
    let cfg = default_config().replace("net_null1,size=64", "net_bogus1,size=64");
    expect_config_error(&cfg, "vdev.toml", "DPDK refused to start");
}

#[test]
fn more_queues_than_the_driver_gives_is_exit_2() {
    let sock = std::env::temp_dir().join(format!("clearwayd-q-{}.sock", std::process::id()));
    let cfg = default_config()
        .replace(
            "device = \"net_null0,size=64\"",
            &format!(
                "device = \"net_memif0,role=server,socket={},socket-abstract=no\"\nrx_queues = 300\nrx_desc = 64",
                sock.display()
            ),
        )
        .replace("mbufs = 8191", "mbufs = 65535");
    expect_config_error(&cfg, "queues.toml", "gives at most 255 rx");
}

#[test]
fn missing_config_file_and_syntax_errors_are_exit_2() {
    let out = Command::new(BIN)
        .args(["-c", "/nonexistent/clearway.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    expect_config_error("[dataplane\n", "syntax.toml", "line 1");
}

#[test]
fn check_config_prints_the_plan_without_starting_dpdk() {
    let path = write_config("check.toml", &default_config());
    let out = Command::new(BIN)
        .args(["-c", &path, "--check-config"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("configuration OK"), "{stdout}");
    assert!(
        stdout.contains("--vdev"),
        "the EAL arguments are shown:\n{stdout}"
    );
}
