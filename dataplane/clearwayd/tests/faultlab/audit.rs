//! "Nothing lost", checked after a scenario from what the acquirer saw and
//! the ledger recovered from the journal: every request answered exactly
//! once (or accounted for), every approval the acquirer saw in the ledger
//! with its amount, every ledger entry answered to the acquirer as an
//! approval, the nets of every window summing to zero, and the money in
//! the accounts reconciling to the cent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ledger::{AccountKey, EntryKind, TxnKey, TxnState};
use reliability::Row;

use super::acquirer::AcqLog;
use super::{ACQ_ID, ACQ_RESERVE, CURRENCY, ISS_ID, ISS_RESERVE};

/// The ledger's key of request `stan` sent at `transmission` (field 7).
pub fn txn_key(stan: u32, transmission: [u8; 10]) -> TxnKey {
    TxnKey {
        originator: ACQ_ID,
        stan,
        transmission,
        rrn: format!("{stan:012}").into_bytes().try_into().unwrap(),
    }
}

/// Fills `row` from the acquirer's log and the journal in `journal_dir`
/// (clearwayd stopped). `accounted` are requests allowed to stay without
/// an answer (in flight at a kill -9); their ledger entries, if any, are
/// allowed too and reported in the notes.
pub fn audit(row: &mut Row, acq: &AcqLog, accounted: &BTreeSet<u32>, journal_dir: &Path) {
    // 1. Every request answered exactly once, nothing else received.
    row.sent = acq.sent.len() as u64;
    for stan in acq.sent.keys() {
        match acq.answers.get(stan).map_or(0, Vec::len) {
            0 if accounted.contains(stan) => row.unanswered_accounted += 1,
            0 => row.problem(format!("request {stan:06} was never answered")),
            1 => row.answered += 1,
            n => {
                row.answered += 1;
                row.problem(format!(
                    "request {stan:06} was answered {n} times: {:?}",
                    acq.answers[stan]
                ));
            }
        }
    }
    row.expect(
        acq.undecodable == 0,
        format!(
            "the acquirer received {} undecodable datagrams: the switch forwarded corrupt data",
            acq.undecodable
        ),
    );
    row.expect(
        acq.unexpected.is_empty(),
        format!(
            "the acquirer received messages it never asked for: {:?}",
            acq.unexpected
        ),
    );
    let approved: BTreeSet<u32> = acq.with_code("00").into_iter().collect();
    row.approved_seen = approved.len() as u64;
    let seen_amount: u64 = approved.iter().map(|s| acq.sent[s]).sum();
    row.approved_amount = Some(seen_amount as i64);

    // 2. The ledger as recovered from the journal.
    let (ledger, report) = match ledger::recover(journal_dir) {
        Ok(x) => x,
        Err(e) => {
            row.problem(format!(
                "the journal in {} does not recover: {e}",
                journal_dir.display()
            ));
            return;
        }
    };
    let mut net_by_stan: BTreeMap<u32, i128> = BTreeMap::new();
    for (epoch, w) in ledger.windows() {
        let netting = ledger::net(*epoch, &w.entries);
        row.expect(
            netting.zero_sum(),
            format!(
                "window {epoch}: the nets do not sum to zero: {:?}",
                netting.totals
            ),
        );
        for e in &w.entries {
            let stan = e.key.stan;
            row.expect(
                e.key.originator == ACQ_ID && acq.sent.contains_key(&stan),
                format!(
                    "ledger entry {stan:06} ({}) was never requested by the acquirer",
                    e.kind.name()
                ),
            );
            let signed = match e.kind {
                EntryKind::Reversal => -(e.amount as i128),
                _ => e.amount as i128,
            };
            *net_by_stan.entry(stan).or_default() += signed;
        }
    }
    // What each transaction still moves after its reversals, if anything.
    let posted: BTreeMap<u32, u64> = net_by_stan
        .into_iter()
        .filter(|(_, a)| *a != 0)
        .map(|(s, a)| (s, u64::try_from(a).unwrap_or(u64::MAX)))
        .collect();
    row.recovered = posted.len() as u64;
    for stan in &approved {
        match ledger.transaction(&txn_key(*stan, acq.transmitted[stan])) {
            Some(TxnState::Posted { amount, .. }) if *amount == acq.sent[stan] => {}
            other => row.problem(format!(
                "the acquirer saw approval {stan:06} ({} minor units) but the recovered ledger has {other:?}",
                acq.sent[stan]
            )),
        }
    }
    let mut in_flight_posted = 0;
    for (stan, amount) in &posted {
        if approved.contains(stan) {
            row.expect(
                *amount == acq.sent[stan],
                format!(
                    "ledger amount of {stan:06} is {amount}, the request said {}",
                    acq.sent[stan]
                ),
            );
        } else if accounted.contains(stan) && !acq.answers.contains_key(stan) {
            in_flight_posted += 1;
        } else {
            row.problem(format!(
                "the ledger holds {stan:06} ({amount} minor units) but the acquirer was answered {:?}",
                acq.answers.get(stan)
            ));
        }
    }

    // 3. Money: nothing created or destroyed, and the acquirer paid exactly
    // the approvals the ledger holds (the ones it saw, plus any accounted
    // in-flight ones), to the cent.
    let before = ACQ_RESERVE + ISS_RESERVE;
    let mut after: i128 = 0;
    let mut nets: i128 = 0;
    for (_, a) in ledger.accounts() {
        after += a.reserve_balance - a.net_position - a.holds;
        nets += a.net_position;
    }
    row.money_before = Some(before);
    row.money_after = Some(after as i64);
    row.expect(
        nets == 0,
        format!("the net positions sum to {nets}, not zero"),
    );
    let acq_account = ledger.account(AccountKey::new(ACQ_ID, CURRENCY));
    let iss_account = ledger.account(AccountKey::new(ISS_ID, CURRENCY));
    match (acq_account, iss_account) {
        (Some(a), Some(i)) => {
            let paid = ACQ_RESERVE as i128 - (a.reserve_balance - a.net_position - a.holds);
            let received = (i.reserve_balance - i.net_position) - ISS_RESERVE as i128;
            let in_ledger: u64 = posted.values().sum();
            row.expect(
                paid == in_ledger as i128 && received == paid,
                format!("the acquirer paid {paid} and the issuer received {received}, the ledger's approvals total {in_ledger}"),
            );
            row.expect(
                in_flight_posted > 0 || paid == seen_amount as i128,
                format!("the acquirer paid {paid} but the approvals it saw total {seen_amount}"),
            );
        }
        _ => row.problem("the recovered ledger lacks the acquirer's or the issuer's account"),
    }
    row.notes.push_str(&format!(
        "ledger: {} transactions posted, {} of them in flight at a kill; recovered to LSN {}{}",
        posted.len(),
        in_flight_posted,
        report.last_lsn,
        report
            .torn_tail
            .as_ref()
            .map(|t| format!(", torn tail of {} bytes truncated", t.bytes_dropped))
            .unwrap_or_default()
    ));
}
