//! The JSON report carries the keys the issue names, with the types tools
//! reading it expect, for a switch run with a baseline and without one.

use clearway_perf::driver::{Second, Trial};
use clearway_perf::engine::Counters;
use clearway_perf::latency::LatencyHistogram;
use clearway_perf::report::{Report, RunSummary, BASELINE, REQUIRED_KEYS, TARGET};
use serde_json::Value;

fn trial(answered: u64, messages: u64, lat_us: u64) -> Trial {
    let mut latency = LatencyHistogram::new();
    for _ in 0..answered.min(1000) {
        latency.record_ns(lat_us * 1000);
    }
    let mut counters = Counters {
        sent: answered + 2,
        answered,
        lost: 2,
        timeouts: 1,
        rx_messages: messages,
        ..Counters::default()
    };
    counters.codes.0[0] = answered - 1;
    counters.codes.0[91] = 1;
    Trial {
        label: "t".into(),
        send_seconds: 2.0,
        counters,
        latency,
        per_second: vec![Second {
            t: 1,
            sent: 1,
            answered: 1,
            messages: 1,
            lost: 0,
            p50_us: 1.0,
            p99_us: 2.0,
        }],
        next_seq: 0,
    }
}

fn json_of(report: &Report) -> Value {
    serde_json::from_str(&report.to_json()).expect("the report is valid JSON")
}

#[test]
fn a_switch_run_with_baseline_has_every_key_and_the_ratio() {
    let runs = vec![
        RunSummary::new(BASELINE, 1, None, Some(256), &trial(2_000, 4_000_000, 5)),
        RunSummary::new(TARGET, 1, None, Some(256), &trial(1_000, 1_000_000, 20)),
        RunSummary::new(BASELINE, 2, None, Some(256), &trial(2_000, 2_000_000, 5)),
        RunSummary::new(TARGET, 2, None, Some(256), &trial(1_000, 2_000_000, 20)),
    ];
    let report = Report::build(serde_json::json!({"pacing": "closed loop"}), runs, vec![]).unwrap();
    let v = json_of(&report);
    for key in REQUIRED_KEYS {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    for key in [
        "tps",
        "msgs_per_s",
        "p50_us",
        "p99_us",
        "p999_us",
        "baseline_mpps",
        "ratio_vs_baseline",
    ] {
        assert!(v[key].is_f64(), "{key} is a number: {}", v[key]);
    }
    assert!(v["lost"].is_u64() && v["timeouts"].is_u64());
    assert!(v["config"].is_object());
    // Medians: target 0.5 M and 1 M msgs over 2 s -> 0.75 M/s; baseline 2 M and 1 M -> 1.5 M/s.
    assert_eq!(v["msgs_per_s"].as_f64().unwrap(), 750_000.0);
    assert_eq!(v["baseline_mpps"].as_f64().unwrap(), 1.5);
    assert_eq!(v["ratio_vs_baseline"].as_f64().unwrap(), 0.5);
    assert_eq!(
        v["lost"].as_u64().unwrap(),
        4,
        "summed over the target's runs"
    );
    assert_eq!(v["timeouts"].as_u64().unwrap(), 2);
    assert!((19.0..=21.0).contains(&v["p99_us"].as_f64().unwrap()));
    assert_eq!(v["runs"].as_array().unwrap().len(), 4);
    assert_eq!(v["runs"][1]["response_codes"]["91"].as_u64().unwrap(), 1);
    assert!(v["runs"][0]["per_second"].is_array());
    assert!(report.to_text().contains("ratio vs baseline 0.50"));
}

#[test]
fn without_a_baseline_the_keys_are_present_and_null() {
    let runs = vec![RunSummary::new(
        TARGET,
        1,
        Some(1000),
        None,
        &trial(10, 20, 7),
    )];
    let v = json_of(&Report::build(serde_json::json!({}), runs, vec![]).unwrap());
    for key in REQUIRED_KEYS {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert!(v["baseline_mpps"].is_null());
    assert!(v["ratio_vs_baseline"].is_null());
    assert_eq!(v["measured"], "target");
}

#[test]
fn a_baseline_only_run_reports_the_reflector_as_the_headline() {
    let runs = vec![RunSummary::new(
        BASELINE,
        1,
        None,
        Some(8),
        &trial(10, 3_000_000, 3),
    )];
    let v = json_of(&Report::build(serde_json::json!({}), runs, vec![]).unwrap());
    assert_eq!(v["measured"], "reflector");
    assert_eq!(v["baseline_mpps"].as_f64().unwrap(), 1.5);
    assert_eq!(v["ratio_vs_baseline"].as_f64().unwrap(), 1.0);
}
