//! Specification: netting a window sums to exactly zero per currency, and
//! its tables agree with each other and with the entries.

use std::collections::BTreeMap;

use ledger::{net, BilateralRow, ClearingEntry, EntryKind, NetRow, TxnKey};
use proptest::prelude::*;

fn entry(n: u32, payer: u32, payee: u32, currency: u16, amount: u64) -> ClearingEntry {
    ClearingEntry {
        key: TxnKey {
            originator: payer,
            stan: n,
            ..TxnKey::default()
        },
        payer,
        payee,
        amount,
        currency,
        kind: EntryKind::Financial,
    }
}

fn entries() -> impl Strategy<Value = Vec<ClearingEntry>> {
    prop::collection::vec(
        (
            0u32..12,
            0u32..12,
            prop::sample::select(vec![978u16, 840, 826]),
            0u64..1_000_000_000_000,
        ),
        0..400,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(n, (payer, payee, cur, amount))| entry(n as u32, payer, payee, cur, amount))
            .collect()
    })
}

/// A plain reference netting: ordered maps, no tricks.
fn reference(es: &[ClearingEntry]) -> (Vec<NetRow>, Vec<BilateralRow>) {
    let mut rows: BTreeMap<(u32, u16), NetRow> = BTreeMap::new();
    let mut pairs: BTreeMap<(u16, u32, u32), BilateralRow> = BTreeMap::new();
    for e in es {
        let amount = u128::from(e.amount);
        let p = rows.entry((e.payer, e.currency)).or_insert(NetRow {
            participant: e.payer,
            currency: e.currency,
            ..NetRow::default()
        });
        p.debit += amount;
        p.count += 1;
        let q = rows.entry((e.payee, e.currency)).or_insert(NetRow {
            participant: e.payee,
            currency: e.currency,
            ..NetRow::default()
        });
        q.credit += amount;
        if e.payee != e.payer {
            q.count += 1;
        }
        let b = pairs
            .entry((e.currency, e.payer, e.payee))
            .or_insert(BilateralRow {
                payer: e.payer,
                payee: e.payee,
                currency: e.currency,
                ..BilateralRow::default()
            });
        b.gross += amount;
        b.count += 1;
    }
    (rows.into_values().collect(), pairs.into_values().collect())
}

/// Participant numbers from both look-up paths: small ones (direct table)
/// and ones beyond 2^22 (hashed).
fn participant() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..12, (1u32 << 22)..(1u32 << 22) + 5, Just(u32::MAX)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn netting_matches_a_plain_reference_for_any_participant_numbers(
        v in prop::collection::vec((participant(), participant(), prop::sample::select(vec![978u16, 840]), any::<u64>()), 0..200)
    ) {
        let es: Vec<_> = v.into_iter().enumerate().map(|(n, (a, b, c, x))| entry(n as u32, a, b, c, x)).collect();
        let r = net(1, &es);
        let (rows, pairs) = reference(&es);
        prop_assert_eq!(&r.rows, &rows);
        prop_assert_eq!(&r.bilateral, &pairs);
        prop_assert!(r.zero_sum());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn nets_sum_to_exactly_zero_in_every_currency(es in entries()) {
        let r = net(7, &es);
        prop_assert!(r.zero_sum());
        let mut by_currency: BTreeMap<u16, i128> = BTreeMap::new();
        for row in &r.rows {
            *by_currency.entry(row.currency).or_default() += row.net();
        }
        prop_assert!(by_currency.values().all(|s| *s == 0), "{by_currency:?}");
    }

    #[test]
    fn the_tables_agree_with_the_entries(es in entries()) {
        let r = net(7, &es);
        prop_assert_eq!(r.transactions, es.len() as u64);
        prop_assert_eq!(r.totals.iter().map(|t| t.count).sum::<u64>(), es.len() as u64);
        let gross: u128 = es.iter().map(|e| u128::from(e.amount)).sum();
        prop_assert_eq!(r.totals.iter().map(|t| t.gross).sum::<u128>(), gross);
        prop_assert_eq!(r.rows.iter().map(|x| x.debit).sum::<u128>(), gross);
        prop_assert_eq!(r.rows.iter().map(|x| x.credit).sum::<u128>(), gross);
        // Each participant's debit is its row of the bilateral matrix, its
        // credit its column.
        for row in &r.rows {
            let paid: u128 = r.bilateral.iter()
                .filter(|b| b.payer == row.participant && b.currency == row.currency)
                .map(|b| b.gross).sum();
            let got: u128 = r.bilateral.iter()
                .filter(|b| b.payee == row.participant && b.currency == row.currency)
                .map(|b| b.gross).sum();
            prop_assert_eq!(row.debit, paid);
            prop_assert_eq!(row.credit, got);
        }
        // Sorted, one row per key.
        prop_assert!(r.rows.windows(2).all(|w| (w[0].participant, w[0].currency) < (w[1].participant, w[1].currency)));
        prop_assert!(r.bilateral.windows(2).all(|w| (w[0].currency, w[0].payer, w[0].payee) < (w[1].currency, w[1].payer, w[1].payee)));
    }

    #[test]
    fn the_order_of_the_entries_does_not_change_the_result(es in entries(), seed in any::<u64>()) {
        let mut shuffled = es.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(net(3, &es), net(3, &shuffled));
    }
}

#[test]
fn a_three_party_window_nets_as_worked_out_by_hand() {
    // A pays B 100, B pays C 30, C pays A 50, A pays B 20 (all EUR).
    let es = [
        entry(1, 1, 2, 978, 100),
        entry(2, 2, 3, 978, 30),
        entry(3, 3, 1, 978, 50),
        entry(4, 1, 2, 978, 20),
    ];
    let r = net(1, &es);
    let nets: Vec<(u32, i128, u64)> = r
        .rows
        .iter()
        .map(|x| (x.participant, x.net(), x.count))
        .collect();
    assert_eq!(nets, vec![(1, -70, 3), (2, 90, 3), (3, -20, 2)]);
    let ab = r
        .bilateral
        .iter()
        .find(|b| (b.payer, b.payee) == (1, 2))
        .unwrap();
    assert_eq!((ab.gross, ab.count), (120, 2));
    assert_eq!(r.totals[0].gross, 200);
    assert_eq!(r.totals[0].net_sum, 0);
}

#[test]
fn a_window_too_wide_for_a_dense_matrix_nets_the_same_as_the_reference() {
    // 2,400 participants x 3 currencies: 17.3 M matrix cells, past the
    // dense limit, so the bilateral matrix is a hash map.
    let mut es = Vec::new();
    let mut s = 7u64;
    for n in 0..60_000u32 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let payer = (s % 2_400) as u32;
        let payee = ((s >> 16) % 2_400) as u32;
        let cur = [978, 840, 826][(s >> 40) as usize % 3];
        es.push(entry(n, payer, payee, cur, s >> 20));
    }
    // Make sure every participant and currency occurs.
    for p in 0..2_400u32 {
        for cur in [978, 840, 826] {
            es.push(entry(1_000_000 + p, p, (p + 1) % 2_400, cur, 1));
        }
    }
    let r = net(2, &es);
    let (rows, pairs) = reference(&es);
    assert_eq!(r.rows, rows);
    assert_eq!(r.bilateral, pairs);
    assert!(r.zero_sum());
}

#[test]
fn an_empty_window_nets_to_nothing() {
    let r = net(4, &[]);
    assert!(r.rows.is_empty() && r.bilateral.is_empty() && r.totals.is_empty());
    assert!(r.zero_sum());
}
