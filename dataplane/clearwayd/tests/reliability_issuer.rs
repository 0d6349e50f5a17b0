//! Reliability group, issuer faults, against a real clearwayd: the issuer
//! down (never answers), slow (answers after its timeout) and flapping
//! (answering and silent in turn). Each acquirer request gets exactly one
//! answer; what the issuer did not answer in time is stood in with 39=91
//! and reversed with 0420s, retried to their bound; nothing approved is
//! lost and nothing unanswered moves money.

use std::collections::BTreeSet;
use std::time::Duration;

mod common;
mod faultlab;

use faultlab::issuer::Behaviour;
use faultlab::lab::LabOptions;
use faultlab::{netns, Run};

const REQUESTS: u32 = 300;
const RATE: u32 = 600;

#[test]
fn issuer_down_every_request_gets_a_stand_in_91_and_reversals_until_the_bound() {
    if !netns::inside() {
        return netns::run_inside(
            "issuer_down_every_request_gets_a_stand_in_91_and_reversals_until_the_bound",
            &[],
        );
    }
    let opts = LabOptions::new("issuer_down");
    let attempts = u64::from(opts.reversal_attempts);
    let mut run = Run::start(
        opts,
        Behaviour::Down,
        "issuer never answers (0200s and 0420s withheld)",
    );
    let stans = run.acq.send(REQUESTS, RATE);
    // Timeout 250 ms, then 0420s at +0, +100, +200 ms (doubling), given up
    // after the third: all done about 1 s after the last request.
    run.drain(Duration::from_secs(3), Duration::from_millis(1500));
    let n = stans.len() as u64;
    let acq = run.acq.log();
    let iss = run.iss.log();
    let (timeouts, sent, given_up) = (
        run.metric("clearway_timeouts_total", ""),
        run.metric("clearway_reversals_total", "outcome=\"sent\""),
        run.metric("clearway_reversals_total", "outcome=\"given_up\""),
    );
    let row = &mut run.row;
    row.faults_injected = iss.withheld.len() as u64 + iss.reversals_withheld;
    row.expect(
        acq.with_code("91").len() as u64 == n,
        format!(
            "every answer is a stand-in 91: {} of {n}",
            acq.with_code("91").len()
        ),
    );
    row.expect(
        timeouts == n,
        format!("{timeouts} timeouts counted for {n} requests"),
    );
    row.expect(
        sent == n * attempts && given_up == n,
        format!(
            "0420s: {sent} sent (want {}), {given_up} given up (want {n})",
            n * attempts
        ),
    );
    let per_txn: BTreeSet<u32> = iss.reversals.values().copied().collect();
    row.expect(
        iss.reversals.len() as u64 == n && per_txn == BTreeSet::from([attempts as u32]),
        format!(
            "each transaction reversed exactly {attempts} times; the issuer saw {:?}",
            per_txn
        ),
    );
    row.notes = format!("timeouts {timeouts}, 0420s sent {sent}, given up {given_up}; ");
    run.finish(&BTreeSet::new());
}

#[test]
fn issuer_slow_late_answers_are_dropped_and_counted_stand_ins_and_reversals_sent() {
    if !netns::inside() {
        return netns::run_inside(
            "issuer_slow_late_answers_are_dropped_and_counted_stand_ins_and_reversals_sent",
            &[],
        );
    }
    let mut opts = LabOptions::new("issuer_slow");
    // One 0420 each, so the accounting of late 0430s is exact.
    opts.reversal_attempts = 1;
    opts.reversal_retry_ms = 2000;
    let delay = Duration::from_millis(450);
    let mut run = Run::start(
        opts,
        Behaviour::Slow { delay },
        "issuer answers 450 ms late (timeout 250 ms): every 0210 and 0430 late",
    );
    let stans = run.acq.send(REQUESTS, RATE);
    run.drain(Duration::from_secs(3), Duration::from_millis(1200));
    let n = stans.len() as u64;
    let acq = run.acq.log();
    let iss = run.iss.log();
    let late = run.metric("clearway_drops_total", "reason=\"late_response\"");
    let unmatched = run.metric("clearway_drops_total", "reason=\"unmatched_response\"");
    let confirmed = run.metric("clearway_reversals_total", "outcome=\"confirmed\"");
    let sent = run.metric("clearway_reversals_total", "outcome=\"sent\"");
    let row = &mut run.row;
    row.faults_injected = iss.approvals_sent;
    row.expect(
        acq.with_code("91").len() as u64 == n,
        format!(
            "every answer is a stand-in 91: {} of {n}",
            acq.with_code("91").len()
        ),
    );
    row.expect(sent == n, format!("{sent} 0420s sent for {n} stand-ins"));
    // Every late 0210 and every 0430 is either a confirmation or a
    // counted drop: nothing reaches the acquirer.
    let from_issuer = iss.approvals_sent + iss.reversal_answers_sent;
    row.expect(
        late + unmatched + confirmed == from_issuer && late > 0,
        format!("issuer sent {from_issuer} late answers; switch: {late} late + {unmatched} unmatched dropped, {confirmed} reversals confirmed"),
    );
    row.notes = format!(
        "late 0210s dropped {late}, unmatched {unmatched}, reversals confirmed {confirmed}; "
    );
    run.finish(&BTreeSet::new());
}

#[test]
fn issuer_flapping_each_request_is_approved_or_stood_in_exactly_once() {
    if !netns::inside() {
        return netns::run_inside(
            "issuer_flapping_each_request_is_approved_or_stood_in_exactly_once",
            &[],
        );
    }
    let opts = LabOptions::new("issuer_flapping");
    let period = Duration::from_millis(200);
    let mut run = Run::start(
        opts,
        Behaviour::Flapping { period },
        "issuer answers for 200 ms, then is silent for 200 ms, in turn",
    );
    let stans = run.acq.send(REQUESTS * 2, RATE);
    run.drain(Duration::from_secs(3), Duration::from_millis(1500));
    let n = stans.len() as u64;
    let acq = run.acq.log();
    let iss = run.iss.log();
    let timeouts = run.metric("clearway_timeouts_total", "");
    let confirmed = run.metric("clearway_reversals_total", "outcome=\"confirmed\"");
    let given_up = run.metric("clearway_reversals_total", "outcome=\"given_up\"");
    let row = &mut run.row;
    row.faults_injected = iss.withheld.len() as u64 + iss.reversals_withheld;
    let (ok, stood_in) = (
        acq.with_code("00").len() as u64,
        acq.with_code("91").len() as u64,
    );
    row.expect(
        ok + stood_in == n && ok > 0 && stood_in > 0,
        format!("{ok} approved + {stood_in} stood in of {n}"),
    );
    let withheld: BTreeSet<u32> = iss.withheld.clone();
    let stood: BTreeSet<u32> = acq.with_code("91").into_iter().collect();
    row.expect(
        withheld == stood,
        "the stand-ins are exactly the requests the issuer withheld",
    );
    row.expect(
        timeouts == stood_in && confirmed + given_up == timeouts,
        format!("{timeouts} timeouts, {confirmed} reversals confirmed + {given_up} given up"),
    );
    row.notes = format!("approved {ok}, stood in {stood_in}, reversals confirmed {confirmed}, given up {given_up}; ");
    run.finish(&BTreeSet::new());
}
