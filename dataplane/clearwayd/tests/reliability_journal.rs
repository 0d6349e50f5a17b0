//! Reliability group, the journal failing under a real clearwayd: its disk
//! fills up (a real 1 MiB tmpfs in the scenario's private mount namespace,
//! filled by another writer mid-run) and its `fdatasync` fails (the
//! test-only fault switch `CLEARWAYD_TEST_JOURNAL_FAULT`). From the failure
//! on, money-moving requests are answered 39=96, the reason is in the log
//! and in /metrics, and nothing is approved that is not journaled.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

mod common;
mod faultlab;

use faultlab::issuer::Behaviour;
use faultlab::lab::LabOptions;
use faultlab::{netns, Run};

const PHASE: u32 = 200;
const RATE: u32 = 500;

/// Requests sent just before the failure surfaced may still have been
/// approved (their records made it); from this many after the first 96 on,
/// every answer must be 96.
const IN_FLIGHT_MARGIN: usize = 50;

/// Checks shared by both journal faults once the journal has failed:
/// `sent` in sending order.
fn after_failure(run: &mut Run, sent: &[u32], reason: &str) {
    let acq = run.acq.log();
    let failed = run.metric("clearway_journal_failed", "");
    let said = run.lab.said();
    let code = |s: &u32| acq.answers.get(s).and_then(|a| a.first()).cloned();
    let first96 = sent.iter().position(|s| code(s).as_deref() == Some("96"));
    let settled: Vec<u32> = first96
        .map(|i| sent.iter().skip(i + IN_FLIGHT_MARGIN).copied().collect())
        .unwrap_or_default();
    let declined = settled
        .iter()
        .filter(|s| code(s).as_deref() == Some("96"))
        .count();
    let row = &mut run.row;
    row.faults_injected = 1;
    row.expect(
        first96.is_some(),
        "the failure was met: some request answered 96",
    );
    row.expect(
        failed == 1,
        format!("/metrics clearway_journal_failed is {failed}, want 1"),
    );
    row.expect(
        said.contains("JOURNAL FAILED") && said.contains(reason),
        format!("clearwayd's log names the failure ({reason:?})"),
    );
    row.expect(
        !settled.is_empty() && declined == settled.len(),
        format!(
            "{declined} of {} requests sent well after the first 96 answered 96",
            settled.len()
        ),
    );
    row.notes = format!(
        "{} approved, {} declined 96 ({declined} of the {} sent well after the failure); ",
        acq.with_code("00").len(),
        acq.with_code("96").len(),
        settled.len()
    );
}

#[test]
fn journal_disk_full_declines_with_96_and_approves_nothing_unjournaled() {
    if !netns::inside() {
        return netns::run_inside(
            "journal_disk_full_declines_with_96_and_approves_nothing_unjournaled",
            &[],
        );
    }
    let mut opts = LabOptions::new("journal_disk_full");
    opts.journal_tmpfs = Some("1m");
    let mut run = Run::start(
        opts,
        Behaviour::Healthy,
        "journal on a 1 MiB tmpfs, filled to the last byte by another writer mid-run",
    );
    let mut sent = run.acq.send(PHASE, RATE);
    run.drain(Duration::from_secs(3), Duration::from_millis(100));
    // Another writer takes every free byte of the journal's volume.
    let filler = run.lab.journal.parent().unwrap().join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0xA5u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.write_all(&block[..1]);
    drop(f);
    // The journal meets the full disk once its last page is used up.
    sent.extend(run.acq.send(PHASE, RATE));
    run.drain(Duration::from_secs(3), Duration::from_millis(300));
    after_failure(&mut run, &sent, "disk full");
    run.finish(&BTreeSet::new());
}

#[test]
fn journal_fsync_failure_declines_with_96_and_approves_nothing_unjournaled() {
    if !netns::inside() {
        return netns::run_inside(
            "journal_fsync_failure_declines_with_96_and_approves_nothing_unjournaled",
            &[("CLEARWAYD_TEST_JOURNAL_FAULT", "fsync-fails-at-sync:60")],
        );
    }
    let mut run = Run::start(
        LabOptions::new("journal_fsync_fails"),
        Behaviour::Healthy,
        "the journal's 60th fdatasync fails with EIO (test-only fault switch)",
    );
    let mut sent = run.acq.send(PHASE, RATE);
    run.drain(Duration::from_secs(3), Duration::from_millis(100));
    let phase2 = run.acq.send(PHASE, RATE);
    sent.extend(&phase2);
    run.drain(Duration::from_secs(3), Duration::from_millis(300));
    after_failure(&mut run, &sent, "fdatasync failed");
    run.finish(&BTreeSet::new());
}
