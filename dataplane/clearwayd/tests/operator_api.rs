//! clearctl and the API against a running clearwayd on virtual devices:
//! each command's happy path and error path, a 1,000,000-row route import
//! while clearway-perf traffic runs (every transaction still answered),
//! /metrics moving with traffic, and an unauthenticated TCP request refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;

use common::{default_config_in, sibling, Clearctl, Daemon};

/// clearctl on the test's clearwayd, and the test's directory.
struct Env {
    dir: PathBuf,
    ctl: Clearctl,
}

impl Env {
    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.ctl.ok(args).stdout).into_owned()
    }

    /// Runs a command that must fail with one line saying what to do.
    fn refused(&self, args: &[&str], needle: &str) {
        let err = self.ctl.refused(args, needle);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err:?}");
    }
}

fn config(dir: &Path, tag: u32) -> String {
    let token = dir.join("token");
    std::fs::write(&token, "s3cret-token-for-the-test-only\n").unwrap();
    default_config_in(dir, &format!("clw-api-{tag}")).replace(
        "[api]\n",
        &format!(
            "[api]\ntcp = \"127.0.0.1:{}\"\ntoken_file = \"{}\"\n",
            20000 + tag % 20000,
            token.display()
        ),
    )
}

#[test]
fn clearctl_drives_a_running_clearwayd() {
    let tag = std::process::id();
    let dir = std::env::temp_dir().join(format!("clw-api-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("clearway.toml");
    std::fs::write(&cfg, config(&dir, tag)).unwrap();
    let _daemon = Daemon::start(
        &["-c", cfg.to_str().unwrap()],
        &dir.join("clearwayd.stderr"),
        "clearwayd: API on",
    );
    let env = Env {
        ctl: Clearctl::new(dir.join("api.sock")),
        dir: dir.clone(),
    };

    // status and participants
    let status = env.ok(&["--json", "status"]);
    assert!(status.contains("\"participants\""), "{status}");
    assert!(env.ok(&["participants", "list"]).contains("issuer-2"));
    assert!(env
        .ok(&["participants", "show", "acquirer-1"])
        .contains("10.0.1.1:5001"));
    env.refused(&["participants", "show", "nobody"], "participants list");
    env.ok(&[
        "participants",
        "add",
        "bank-c",
        "--role",
        "issuer",
        "--source",
        "10.0.2.3:9001",
    ]);
    env.refused(
        &[
            "participants",
            "add",
            "bank-c",
            "--role",
            "issuer",
            "--source",
            "10.0.2.4:9001",
        ],
        "bank-c",
    );
    env.ok(&["participants", "suspend", "bank-c"]);
    env.ok(&["participants", "resume", "bank-c"]);
    env.refused(&["participants", "suspend", "bank-x"], "bank-x");

    // routes
    env.ok(&["routes", "add", "62", "bank-c"]);
    assert!(env.ok(&["routes", "list"]).contains("bank-c"));
    env.ok(&["routes", "del", "62"]);
    env.refused(&["routes", "add", "6x", "bank-c"], "6x");

    // accounts
    assert!(env.ok(&["accounts", "list"]).contains("acquirer-1"));
    env.ok(&[
        "accounts",
        "deposit",
        "acquirer-1",
        "5000",
        "--reason",
        "top-up",
    ]);
    env.ok(&[
        "accounts",
        "set-limit",
        "acquirer-2",
        "net-debit-cap",
        "100000",
        "--reason",
        "board decision",
    ]);
    env.refused(
        &[
            "accounts",
            "withdraw",
            "acquirer-1",
            "999999999999999",
            "--reason",
            "too much",
        ],
        "",
    );
    env.refused(&["accounts", "show", "nobody"], "nobody");

    // A 1,000,000-row import while traffic runs: every transaction answered.
    let csv = dir.join("bins.csv");
    let mut text = String::from("prefix,participant\n");
    for d in 0..10 {
        text.push_str(&format!("4{d},issuer-1\n5{d},issuer-2\n"));
    }
    let mut n = 20u64;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut seen = std::collections::HashSet::new();
    while n < 1_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (first, who) = if x & 1 == 0 {
            ('4', "issuer-1")
        } else {
            ('5', "issuer-2")
        };
        let p = format!("{first}{:011}", x % 100_000_000_000);
        if seen.insert(p.clone()) {
            text.push_str(&format!("{p},{who}\n"));
            n += 1;
        }
    }
    std::fs::write(&csv, text).unwrap();
    let json = dir.join("perf.json");
    let perf = Command::new(sibling("clearway-perf"))
        .args(["--transactions", "30000", "--outstanding", "32", "--quiet"])
        .arg("--socket")
        .arg(dir.join("memif.sock"))
        .arg("--json")
        .arg(&json)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let imported = env.ok(&["--json", "routes", "import", csv.to_str().unwrap()]);
    assert!(imported.contains("1000000"), "{imported}");
    let perf = perf.wait_with_output().unwrap();
    assert!(perf.status.success(), "clearway-perf against clearwayd");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let run = &report["runs"][0];
    assert_eq!(
        run["answered"], run["sent"],
        "no message lost across the import: {report}"
    );
    assert_eq!(run["lost"].as_u64(), Some(0));

    // metrics moved with the traffic
    let metrics = Command::new("curl")
        .args([
            "-s",
            "--unix-socket",
            env.ctl.socket().to_str().unwrap(),
            "http://clearway/metrics",
        ])
        .output()
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics.stdout);
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert!(
        value("clearway_messages_received_total") >= 30_000.0,
        "messages counted:\n{metrics}"
    );
    assert!(env.ok(&["stats"]).contains("rx"));

    // windows, cutoff, settlement
    env.ok(&["cutoff"]);
    let mut settled = false;
    for _ in 0..100 {
        if env.ctl.run(&["settlement", "show", "1"]).status.success() {
            settled = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(settled, "window 1 settles after the cutoff");
    assert!(env.ok(&["windows", "list"]).contains("settled"));
    env.refused(&["windows", "show", "99"], "windows list");
    let export = env.dir.join("export");
    std::fs::create_dir_all(&export).unwrap();
    env.ok(&[
        "settlement",
        "export",
        "1",
        "--out",
        export.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_dir(&export).unwrap().count() >= 2,
        "settlement files exported"
    );

    // TCP without the token: 401 with a JSON error.
    let tcp = format!("http://127.0.0.1:{}/v1/status", 20000 + tag % 20000);
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &tcp])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    let _ = std::fs::remove_dir_all(&dir);
}
