//! Runs a scenario inside a network namespace and a private mount
//! namespace of its own, and removes the network namespace afterwards.

use std::process::Command;

/// Set in the child that runs inside the namespaces.
const INSIDE: &str = "CLW_RELIABILITY_INSIDE";

/// True inside the namespaces (the scenario body runs there).
pub fn inside() -> bool {
    std::env::var_os(INSIDE).is_some()
}

/// Deletes the namespace however the test ends.
struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// Re-runs test `name` of this binary inside a fresh network namespace and
/// a private mount namespace (what it mounts never reaches the host), with
/// `env` added to its environment; panics with its output if it fails.
pub fn run_inside(name: &str, env: &[(&str, &str)]) {
    let ns = Namespace(format!("clwrel{}", std::process::id()));
    let out = Command::new("ip")
        .args(["netns", "add", &ns.0])
        .output()
        .expect("iproute2 (ip) is needed");
    assert!(
        out.status.success(),
        "ip netns add {}: {} (these tests run as root)",
        ns.0,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        &ns.0,
        "unshare",
        "--mount",
        "--propagation",
        "private",
    ])
    .arg(std::env::current_exe().expect("own path"))
    .args([name, "--exact", "--nocapture", "--test-threads=1"])
    .env(INSIDE, "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .expect("running the scenario inside its namespace");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{text}");
    assert!(
        out.status.success(),
        "scenario {name} failed inside its namespace:\n{text}"
    );
}
