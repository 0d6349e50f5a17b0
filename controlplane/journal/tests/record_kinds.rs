//! Specification: every money record kind survives encode → journal →
//! recovery → decode unchanged, and the binary encodings are fixed.

mod common;

use journal::money::*;
use journal::{Journal, MoneyRecord, RecordKind};
use proptest::prelude::*;

fn key(stan: u32, t: [u8; 10], r: [u8; 12]) -> TxnKey {
    TxnKey {
        stan,
        transmission: t,
        rrn: r,
    }
}

/// Raw material for one record of each kind; the borrowed parts
/// (reason text, participant bytes) live in the tuple.
#[derive(Debug, Clone)]
struct Material {
    ids: (u32, u32),
    mti: u16,
    key: TxnKey,
    amounts: (u64, u64, u64),
    currency: u16,
    code: [u8; 2],
    epochs: (u32, u32),
    reason: String,
    bytes: Vec<u8>,
    answer: Option<Answer>,
}

fn material() -> impl Strategy<Value = Material> {
    (
        (any::<u32>(), any::<u32>()),
        any::<u16>(),
        (any::<u32>(), any::<[u8; 10]>(), any::<[u8; 12]>()),
        (any::<u64>(), any::<u64>(), any::<u64>()),
        any::<u16>(),
        any::<[u8; 2]>(),
        (any::<u32>(), any::<u32>()),
        "[a-zA-Z0-9 äöü€]{0,30}",
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::option::of((
            any::<[u8; 6]>(),
            any::<[u8; 10]>(),
            any::<[u8; 2]>(),
            proptest::option::of(any::<[u8; 6]>()),
        )),
    )
        .prop_map(
            |(ids, mti, (s, t, r), amounts, currency, code, epochs, reason, bytes, answer)| {
                Material {
                    ids,
                    mti,
                    key: key(s, t, r),
                    amounts,
                    currency,
                    code,
                    epochs,
                    reason,
                    bytes,
                    answer: answer.map(|(stan, transmission, rc, auth_code)| Answer {
                        stan,
                        transmission,
                        response_code: ResponseCode(rc),
                        auth_code,
                    }),
                }
            },
        )
}

fn all_kinds(m: &Material) -> Vec<MoneyRecord<'_>> {
    let (a, b) = m.ids;
    let (x, y, z) = m.amounts;
    vec![
        MoneyRecord::Approved(Approved {
            originator: a,
            issuer: b,
            mti: Mti(m.mti),
            key: m.key,
            amount: x,
            currency: m.currency,
            response_code: ResponseCode(m.code),
            answer: m.answer,
        }),
        MoneyRecord::Hold(Hold {
            originator: a,
            issuer: b,
            key: m.key,
            amount: x,
            currency: m.currency,
            expires_at_ms: y,
            answer: m.answer,
        }),
        MoneyRecord::HoldComplete(HoldComplete {
            originator: a,
            issuer: b,
            key: m.key,
            amount: y,
            currency: m.currency,
            answer: m.answer,
        }),
        MoneyRecord::HoldRelease(HoldRelease {
            originator: a,
            issuer: b,
            key: m.key,
            amount: x,
            currency: m.currency,
            reason: [
                ReleaseReason::Reversed,
                ReleaseReason::Expired,
                ReleaseReason::Declined,
            ][(z % 3) as usize],
        }),
        MoneyRecord::Reversal(Reversal {
            originator: a,
            issuer: b,
            mti: Mti(m.mti),
            key: m.key,
            amount: x,
            currency: m.currency,
            response_code: ResponseCode(m.code),
            answer: m.answer,
        }),
        MoneyRecord::Deposit(ReserveMovement {
            participant: a,
            currency: m.currency,
            amount: x,
            reference: y,
        }),
        MoneyRecord::Withdrawal(ReserveMovement {
            participant: b,
            currency: m.currency,
            amount: y,
            reference: z,
        }),
        MoneyRecord::LimitChange(LimitChange {
            participant: a,
            currency: m.currency,
            limit: [
                LimitKind::NetDebitCap,
                LimitKind::PerTransaction,
                LimitKind::Daily,
            ][(x % 3) as usize],
            value: z,
            reason: &m.reason,
        }),
        MoneyRecord::Cutoff(Cutoff {
            closed_epoch: m.epochs.0,
            opened_epoch: m.epochs.1,
            at_unix_ms: x,
        }),
        MoneyRecord::Settlement(Settlement {
            epoch: m.epochs.0,
            participant: a,
            currency: m.currency,
            debit: x,
            credit: y,
            count: z,
        }),
        MoneyRecord::ParticipantChange(&m.bytes),
    ]
}

fn without_answer(rec: MoneyRecord<'_>) -> MoneyRecord<'_> {
    match rec {
        MoneyRecord::Approved(a) => MoneyRecord::Approved(Approved { answer: None, ..a }),
        MoneyRecord::Hold(h) => MoneyRecord::Hold(Hold { answer: None, ..h }),
        MoneyRecord::HoldComplete(c) => {
            MoneyRecord::HoldComplete(HoldComplete { answer: None, ..c })
        }
        MoneyRecord::Reversal(r) => MoneyRecord::Reversal(Reversal { answer: None, ..r }),
        other => other,
    }
}

proptest! {
    #[test]
    fn every_kind_decodes_to_what_was_encoded(m in material()) {
        let records = all_kinds(&m);
        prop_assert_eq!(records.len(), RecordKind::ALL.len());
        for rec in &records {
            let mut buf = [0u8; journal::record::MAX_PAYLOAD];
            let n = rec.encode(&mut buf).unwrap();
            let back = MoneyRecord::decode(rec.kind() as u16, &buf[..n]).unwrap();
            prop_assert_eq!(&back, rec);
        }
    }

    #[test]
    fn no_truncation_of_a_fixed_kind_decodes(m in material(), cut in 1usize..40) {
        for rec in all_kinds(&m) {
            if matches!(rec, MoneyRecord::ParticipantChange(_)) {
                continue; // opaque bytes: every length is valid by design
            }
            let mut buf = [0u8; journal::record::MAX_PAYLOAD];
            let n = rec.encode(&mut buf).unwrap();
            let short = n.saturating_sub(cut);
            match MoneyRecord::decode(rec.kind() as u16, &buf[..short]) {
                Err(_) => {}
                // The one valid cut: exactly the optional answer, which
                // leaves the record as journals before it wrote it.
                Ok(back) => {
                    prop_assert!(m.answer.is_some() && cut == ANSWER_LEN, "{:?} cut by {} decoded", rec.kind(), cut);
                    prop_assert_eq!(back, without_answer(rec));
                }
            }
        }
    }
}

#[test]
fn every_kind_round_trips_through_the_journal_and_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let m = Material {
        ids: (11, 22),
        mti: 200,
        key: key(123456, *b"1127175230", *b"633117000001"),
        amounts: (10_050, 9_999, 3),
        currency: 978,
        code: *b"00",
        epochs: (4, 5),
        reason: "raised after reserve top-up, ticket OPS-4711".into(),
        bytes: b"participant 33 suspended".to_vec(),
        answer: Some(Answer {
            stan: *b"123456",
            transmission: *b"1127175230",
            response_code: ResponseCode(*b"00"),
            auth_code: Some(*b"AB12CD"),
        }),
    };
    let records = all_kinds(&m);
    let (report, _) = common::recover_all(dir.path());
    let (journal, mut producers) = Journal::start(common::config(dir.path(), 2), &report).unwrap();
    let mut last = Vec::new();
    for (i, rec) in records.iter().enumerate() {
        // Alternate lcores; epoch = index so the header's fields are checked too.
        let p = &mut producers[i % 2];
        last.push((i % 2, p.append(i as u32, rec).unwrap()));
    }
    for (p, seq) in &last {
        common::wait_for("records durable", || producers[*p].is_durable(*seq));
    }
    journal.shutdown().unwrap();

    let (report, recovered) = common::recover_all(dir.path());
    assert_eq!(report.records_replayed, records.len() as u64);
    assert_eq!(report.torn_tail, None);
    let mut seen: Vec<_> = recovered
        .iter()
        .map(|r| {
            let rec = MoneyRecord::decode(r.kind, &r.payload).unwrap();
            let i = records
                .iter()
                .position(|x| *x == rec)
                .expect("recovered record was appended");
            assert_eq!(r.epoch, i as u32, "epoch of {:?}", rec.kind());
            assert_eq!(r.lcore, (i % 2) as u16, "lcore of {:?}", rec.kind());
            i
        })
        .collect();
    assert_eq!(
        recovered.iter().map(|r| r.lsn).collect::<Vec<_>>(),
        (1..=records.len() as u64).collect::<Vec<_>>(),
        "LSNs are consecutive from 1"
    );
    seen.sort();
    assert_eq!(seen, (0..records.len()).collect::<Vec<_>>());
}

#[test]
fn the_approved_transaction_encoding_is_fixed_byte_for_byte() {
    // The payload layout is part of the on-disk format; this pins it.
    let rec = MoneyRecord::Approved(Approved {
        originator: 0x0102_0304,
        issuer: 5,
        mti: Mti(200),
        key: key(42, *b"1127175230", *b"RRN000000001"),
        amount: 12_345,
        currency: 978,
        response_code: ResponseCode(*b"00"),
        answer: Some(Answer {
            stan: *b"000042",
            transmission: *b"1127175230",
            response_code: ResponseCode(*b"00"),
            auth_code: Some(*b"AUTH01"),
        }),
    });
    let mut buf = [0u8; 128];
    let n = rec.encode(&mut buf).unwrap();
    let mut expected = Vec::new();
    expected.extend_from_slice(&0x0102_0304u32.to_le_bytes());
    expected.extend_from_slice(&5u32.to_le_bytes());
    expected.extend_from_slice(&200u16.to_le_bytes());
    expected.extend_from_slice(&42u32.to_le_bytes());
    expected.extend_from_slice(b"1127175230");
    expected.extend_from_slice(b"RRN000000001");
    expected.extend_from_slice(&12_345u64.to_le_bytes());
    expected.extend_from_slice(&978u16.to_le_bytes());
    expected.extend_from_slice(b"00");
    // The answer: tag 2 (with field 38), field 11, field 7, 39, 38.
    expected.push(2);
    expected.extend_from_slice(b"000042");
    expected.extend_from_slice(b"1127175230");
    expected.extend_from_slice(b"00");
    expected.extend_from_slice(b"AUTH01");
    assert_eq!(&buf[..n], &expected[..]);
}
