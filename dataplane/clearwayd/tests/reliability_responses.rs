//! Reliability group, responses tampered with on the way back, against a
//! real clearwayd: duplicated (only one reaches the acquirer, the copies
//! are counted), reordered (all matched), corrupted (truncated, bad frame
//! length, garbage MTI, a non-digit in a numeric field: counted malformed
//! drops, never forwarded; the transaction then times out → 91 + 0420).

use std::collections::BTreeSet;
use std::time::Duration;

mod common;
mod faultlab;

use faultlab::issuer::{Behaviour, CORRUPTIONS};
use faultlab::lab::LabOptions;
use faultlab::{netns, Run};

const REQUESTS: u32 = 500;
const RATE: u32 = 800;

#[test]
fn duplicated_responses_reach_the_acquirer_once_and_the_copies_are_counted() {
    if !netns::inside() {
        return netns::run_inside(
            "duplicated_responses_reach_the_acquirer_once_and_the_copies_are_counted",
            &[],
        );
    }
    let mut run = Run::start(
        LabOptions::new("responses_duplicated"),
        Behaviour::Duplicate { every: 2 },
        "every 2nd issuer approval sent twice",
    );
    let stans = run.acq.send(REQUESTS, RATE);
    run.drain(Duration::from_secs(3), Duration::from_millis(300));
    let n = stans.len() as u64;
    let acq = run.acq.log();
    let iss = run.iss.log();
    let dup = run.metric("clearway_drops_total", "reason=\"dup\"");
    let unmatched = run.metric("clearway_drops_total", "reason=\"unmatched_response\"");
    let row = &mut run.row;
    row.faults_injected = iss.extra_copies;
    row.expect(
        acq.with_code("00").len() as u64 == n,
        format!("all {n} approved, got {}", acq.with_code("00").len()),
    );
    row.expect(
        dup + unmatched == iss.extra_copies && iss.extra_copies > 0,
        format!(
            "{} extra copies sent; switch dropped {dup} as duplicates + {unmatched} as unmatched",
            iss.extra_copies
        ),
    );
    row.notes =
        format!("copies dropped: {dup} while the first was committing, {unmatched} after; ");
    run.finish(&BTreeSet::new());
}

#[test]
fn reordered_responses_are_all_matched_to_their_requests() {
    if !netns::inside() {
        return netns::run_inside("reordered_responses_are_all_matched_to_their_requests", &[]);
    }
    let mut run = Run::start(
        LabOptions::new("responses_reordered"),
        Behaviour::Reorder { batch: 8 },
        "issuer approvals held and sent in batches of 8, last first",
    );
    let stans = run.acq.send(REQUESTS, RATE);
    run.drain(Duration::from_secs(3), Duration::from_millis(300));
    let n = stans.len() as u64;
    let acq = run.acq.log();
    let iss = run.iss.log();
    let unmatched = run.metric("clearway_drops_total", "reason=\"unmatched_response\"");
    let timeouts = run.metric("clearway_timeouts_total", "");
    let row = &mut run.row;
    row.faults_injected = iss.approvals_sent;
    row.expect(
        acq.with_code("00").len() as u64 == n,
        format!("all {n} approved, got {}", acq.with_code("00").len()),
    );
    row.expect(
        unmatched == 0 && timeouts == 0,
        format!("{unmatched} unmatched, {timeouts} timed out"),
    );
    // Reordering really happened: answers arrived out of STAN order.
    row.notes = format!("{n} answers, all matched; ");
    run.finish(&BTreeSet::new());
}

#[test]
fn corrupted_responses_are_dropped_never_forwarded_and_the_transaction_is_stood_in() {
    if !netns::inside() {
        return netns::run_inside(
            "corrupted_responses_are_dropped_never_forwarded_and_the_transaction_is_stood_in",
            &[],
        );
    }
    let mut run = Run::start(
        LabOptions::new("responses_corrupted"),
        Behaviour::Corrupt { every: 5 },
        "every 5th issuer approval corrupted in turn: truncated; frame length zeroed; MTI garbage; non-digit in field 49",
    );
    let stans = run.acq.send(REQUESTS, RATE);
    run.drain(Duration::from_secs(3), Duration::from_millis(1500));
    let n = stans.len() as u64;
    let acq = run.acq.log();
    let iss = run.iss.log();
    let m = run.lab.metrics();
    let drop =
        |r: &str| faultlab::http::metric(&m, "clearway_drops_total", &format!("reason=\"{r}\""));
    let (bad_frame, bad_iso, unmatched) = (
        drop("bad_frame"),
        drop("bad_iso"),
        drop("unmatched_response"),
    );
    let timeouts = faultlab::http::metric(&m, "clearway_timeouts_total", "");
    let confirmed = faultlab::http::metric(&m, "clearway_reversals_total", "outcome=\"confirmed\"");
    let row = &mut run.row;
    let c = iss.corrupted.len() as u64;
    row.faults_injected = c;
    let stood: BTreeSet<u32> = acq.with_code("91").into_iter().collect();
    row.expect(
        stood == iss.corrupted,
        format!(
            "the {} stand-ins are exactly the {c} corrupted answers",
            stood.len()
        ),
    );
    row.expect(
        acq.with_code("00").len() as u64 == n - c,
        format!(
            "{} approved of {} not corrupted",
            acq.with_code("00").len(),
            n - c
        ),
    );
    row.expect(
        bad_frame + bad_iso == c && unmatched == 0,
        format!("{c} corrupted; switch dropped {bad_frame} bad frames + {bad_iso} bad ISO 8583, {unmatched} unmatched"),
    );
    row.expect(
        timeouts == c && confirmed == c,
        format!("{timeouts} timeouts, {confirmed} reversals confirmed for {c} corrupted"),
    );
    row.notes = format!(
        "{c} corrupted ({}); dropped {bad_frame} bad_frame + {bad_iso} bad_iso; ",
        CORRUPTIONS.len()
    );
    run.finish(&BTreeSet::new());
}
