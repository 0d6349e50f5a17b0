//! End to end over memif between two processes: the harness spawns its own
//! reflector (`--baseline-only`), drives a fixed number of transactions at
//! it in closed loop, and the JSON report must show every one answered
//! exactly once: none lost, none duplicated, none unmatched.
//!
//! Needs a second core for the reflector (lcore 1), as on the CI machine.

use std::process::Command;

use serde_json::Value;

#[test]
fn every_transaction_sent_to_the_reflector_gets_exactly_one_answer() {
    let dir = std::env::temp_dir().join(format!("clw-perf-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("report.json");
    let plots = dir.join("plots");
    let out = Command::new(env!("CARGO_BIN_EXE_clearway-perf"))
        .args([
            "--baseline-only",
            "--transactions",
            "20000",
            "--outstanding",
            "64",
            "--verify",
            "--quiet",
            "--repeat",
            "2",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--plot")
        .arg(&plots)
        .output()
        .expect("clearway-perf runs");
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "clearway-perf failed:\n{said}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["measured"], "reflector", "{said}");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "two repeats");
    for run in runs {
        assert_eq!(run["sent"].as_u64(), Some(20_000), "{said}");
        assert_eq!(run["answered"].as_u64(), Some(20_000), "{said}");
        for key in ["lost", "duplicates", "unknown", "timeouts"] {
            assert_eq!(run[key].as_u64(), Some(0), "{key}: {said}");
        }
        let c = &run["counters"];
        for key in ["malformed", "stray", "late", "tx_dropped"] {
            assert_eq!(c[key].as_u64(), Some(0), "{key}: {said}");
        }
        // The reflector only turns the MTI round: no field 39.
        assert_eq!(run["response_codes"]["none"].as_u64(), Some(20_000));
    }
    assert!(v["baseline_mpps"].as_f64().unwrap() > 0.0);
    assert!(
        said.contains("reflector: reflected 40000"),
        "the reflector saw each request once:\n{said}"
    );
    assert!(plots.join("latency_cdf.svg").exists() && plots.join("throughput.svg").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
