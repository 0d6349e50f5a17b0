//! Specification: settlement files of a closed window, the reserve update
//! by each net, and byte-identical re-runs.

mod common;

use common::*;
use ledger::{settle, verify_checksum, AccountKey, ChecksumError, Ledger, SettleError};

fn window_one() -> Ledger {
    let mut l = Ledger::new();
    apply_all(
        &mut l,
        1,
        &[
            deposit(ACQ, EUR, 10_000, 1),
            deposit(ISS, EUR, 10_000, 2),
            deposit(3, EUR, 10_000, 3),
            approved(key(ACQ, 1), ISS, EUR, 1_500),
            approved(key(ISS, 2), 3, EUR, 400),
            approved(key(3, 3), ACQ, EUR, 250),
            approved(key(ACQ, 4), 3, USD, 99),
            hold(key(ACQ, 5), ISS, EUR, 700, 1_000),
            complete(key(ACQ, 5), ISS, EUR, 650),
            approved(key(ACQ, 6), ISS, EUR, 100),
            reversal(key(ACQ, 6), ISS, EUR, 100),
            cutoff(1, 1_700_000_000_000),
        ],
    );
    l
}

#[test]
fn the_net_file_lists_each_participant_and_currency_with_a_checksum() {
    let l = window_one();
    let run = settle(&l, 1).unwrap();
    let csv = String::from_utf8(run.files[0].bytes.clone()).unwrap();
    assert_eq!(run.files[0].name, "window-0000000001-net.csv");
    let expected = "\
# clearway settlement window 1 closed_at_unix_ms 1700000000000 transactions 7
participant,currency,debit,credit,net,count
1,840,99,0,-99,1
1,978,2250,350,-1900,5
2,978,500,2250,1750,5
3,840,0,99,99,1
3,978,250,400,150,2
";
    assert!(csv.starts_with(expected), "{csv}");
    assert!(csv[expected.len()..].starts_with("# crc32c "));
    for f in &run.files {
        assert_eq!(verify_checksum(&f.bytes), Ok(()), "{}", f.name);
    }
    let jsonl = String::from_utf8(run.files[1].bytes.clone()).unwrap();
    assert!(jsonl.contains(
        "{\"participant\":2,\"currency\":\"978\",\"debit\":\"500\",\"credit\":\"2250\",\"net\":\"1750\",\"count\":5}"
    ), "{jsonl}");
    let detail = String::from_utf8(run.files[3].bytes.clone()).unwrap();
    assert_eq!(detail.lines().count(), 2 + 7 + 1);
    assert!(
        detail.contains("\n1,000005,1127181300,000000000005,completion,1,2,978,650\n"),
        "{detail}"
    );
    assert!(detail.contains(",reversal,2,1,978,100\n"), "{detail}");
}

#[test]
fn applying_the_settlement_moves_each_net_from_position_to_reserve() {
    let mut l = window_one();
    let before: Vec<_> = l.accounts().map(|(k, a)| (*k, *a)).collect();
    let run = settle(&l, 1).unwrap();
    let records: Vec<_> = run.journal_records().collect();
    apply_all(&mut l, 2, &records);
    for (k, a) in before {
        let row = run
            .netting
            .rows
            .iter()
            .find(|r| (r.participant, r.currency) == (k.participant, k.currency));
        let net = row.map_or(0, |r| r.net());
        let after = l.account(k).unwrap();
        assert_eq!(after.reserve_balance, a.reserve_balance + net, "{k:?}");
        assert_eq!(after.net_position, 0, "{k:?}: only window 1 had traffic");
        assert_eq!(
            after.available(),
            a.available(),
            "{k:?}: settlement does not change what is available"
        );
    }
    // The reserves of a currency still add up: money moved, none was made.
    let total: i128 = l
        .accounts()
        .filter(|(k, _)| k.currency == EUR)
        .map(|(_, a)| a.reserve_balance)
        .sum();
    assert_eq!(total, 30_000);
    assert_eq!(
        l.account(AccountKey::new(ACQ, EUR))
            .unwrap()
            .reserve_balance,
        8_100
    );
    // Settling twice is one settlement.
    let again: Vec<_> = run.journal_records().collect();
    assert!(apply_all(&mut l, 2, &again)
        .iter()
        .all(|a| *a == ledger::Applied::Duplicate));
}

#[test]
fn re_running_settlement_produces_byte_identical_files() {
    let mut l = window_one();
    let first = settle(&l, 1).unwrap();
    let d1 = tempfile::tempdir().unwrap();
    let paths = first.write_files(d1.path()).unwrap();
    // Settle, then traffic in the next window, then re-run window 1.
    let records: Vec<_> = first.journal_records().collect();
    apply_all(&mut l, 2, &records);
    apply_all(&mut l, 2, &[approved(key(ACQ, 77), ISS, EUR, 5)]);
    let second = settle(&l, 1).unwrap();
    let d2 = tempfile::tempdir().unwrap();
    second.write_files(d2.path()).unwrap();
    assert_eq!(first.files, second.files);
    for p in paths {
        let name = p.file_name().unwrap();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            std::fs::read(d2.path().join(name)).unwrap()
        );
    }
}

#[test]
fn a_window_recovered_from_the_journal_settles_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let live = journaled_day(dir.path());
    let (recovered, _) = ledger::recover(dir.path()).unwrap();
    let a = settle(&live, 1).unwrap();
    let b = settle(&recovered, 1).unwrap();
    assert_eq!(a.files, b.files);
    assert!(a.netting.zero_sum());
    assert!(
        a.netting.transactions > 40,
        "the in-flight approval counts too"
    );
}

#[test]
fn a_damaged_file_fails_its_checksum_and_an_open_window_cannot_be_settled() {
    let l = window_one();
    let run = settle(&l, 1).unwrap();
    let mut bytes = run.files[0].bytes.clone();
    bytes[60] ^= 1;
    assert!(matches!(
        verify_checksum(&bytes),
        Err(ChecksumError::Mismatch { .. })
    ));
    assert_eq!(
        verify_checksum(b"participant\n1\n"),
        Err(ChecksumError::Missing)
    );
    assert!(matches!(
        settle(&l, 2),
        Err(SettleError::WindowOpen { epoch: 2, open: 2 })
    ));
}
