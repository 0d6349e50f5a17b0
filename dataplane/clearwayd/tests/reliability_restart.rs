//! Reliability group, `kill -9` of clearwayd under load with restarts (the
//! crash_recovery test's approach, fewer rounds, over kernel sockets):
//! every approval the acquirer saw survives in the recovered ledger, every
//! ledger entry was either answered to the acquirer or was in flight at a
//! kill, and the money reconciles to the cent.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

mod common;
mod faultlab;

use faultlab::issuer::Behaviour;
use faultlab::lab::LabOptions;
use faultlab::{netns, Run};

const KILLS: u32 = 3;
const RATE: u32 = 800;

#[test]
fn kill_9_under_load_with_restarts_loses_no_approval_and_no_cent() {
    if !netns::inside() {
        return netns::run_inside(
            "kill_9_under_load_with_restarts_loses_no_approval_and_no_cent",
            &[],
        );
    }
    let mut run = Run::start(
        LabOptions::new("kill9_restart"),
        Behaviour::Healthy,
        "clearwayd killed with SIGKILL mid-traffic 3 times, restarted on the same journal",
    );
    let never = AtomicBool::new(false);
    let mut in_killed_rounds: BTreeSet<u32> = BTreeSet::new();
    // A cheap deterministic "random" for the kill moments.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id());
    for round in 0..=KILLS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let before = run.acq.log().sent.len();
        let for_how_long = Duration::from_millis(if round == KILLS { 800 } else { 300 + x % 700 });
        // Traffic right up to the kill: requests are in flight when it lands.
        run.acq.send_for(for_how_long, RATE, &never);
        if round < KILLS {
            run.lab.kill9_and_restart();
            run.row.kill9_restarts += 1;
            let log = run.acq.log();
            in_killed_rounds.extend(log.sent.keys().skip(before).copied());
            run.iss.sign_on();
        }
    }
    // Answers lost in a crash are no transport drop: wait without the
    // harness's repeat (and its check that a drop was counted).
    run.acq.wait_answered(Duration::from_secs(3));
    // Like a real acquirer, repeat what is overdue: the switch answers a
    // repeat of a journaled transaction from its duplicate filter (rebuilt
    // from the journal at start) and forwards one it never recorded.
    let overdue = run.acq.log().unanswered();
    let before = run.metric("clearway_duplicates_answered_total", "");
    run.acq.repeat(&overdue);
    run.drain(Duration::from_secs(3), Duration::from_millis(300));
    let answered_again = run.metric("clearway_duplicates_answered_total", "") - before;
    let acq = run.acq.log();
    // Only requests of a round that ended in a kill may stay unanswered.
    let unanswered: BTreeSet<u32> = acq.unanswered().into_iter().collect();
    let accounted: BTreeSet<u32> = unanswered
        .intersection(&in_killed_rounds)
        .copied()
        .collect();
    run.row.faults_injected = u64::from(KILLS);
    run.row.expect(
        acq.with_code("00").len() > acq.sent.len() / 2,
        format!(
            "most requests approved across restarts: {} of {}",
            acq.with_code("00").len(),
            acq.sent.len()
        ),
    );
    run.row.notes = format!(
        "{} requests overdue after the kills, repeated: {answered_again} answered from the rebuilt duplicate filter, {} still unanswered; ",
        overdue.len(),
        accounted.len()
    );
    run.finish(&accounted);
}
