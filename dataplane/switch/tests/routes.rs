//! Specification of the route snapshot (sender check, field 100, BIN
//! routing, consistency checks) and of its RCU-style publication.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use switch::bin_table::{BinTable, BinTableBuilder, PanError};
use switch::routes::{Participant, Published, Roles, Route, RouteError, RouteSnapshot};
use switch::ParticipantIdx;

const NET: [u8; 3] = [192, 0, 2]; // TEST-NET-1: addresses as data only

fn addr(host: u8, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(NET[0], NET[1], NET[2], host), port)
}

fn participant(id: &str, acquirer: bool, issuer: bool, host: u8) -> Participant {
    Participant {
        id: id.to_string(),
        roles: Roles { acquirer, issuer },
        institution_ids: Vec::new(),
        sources: vec![addr(host, 8583)],
        next_hop: addr(host, 8583),
        next_hop_mac: None,
        timeout: None,
        suspended: false,
        signed_off: false,
        rate_limit: None,
        mac: None,
    }
}

fn bins(rows: &[(&str, u32)]) -> Arc<BinTable> {
    let mut b = BinTableBuilder::new();
    for (p, t) in rows {
        b.insert(p.as_bytes(), ParticipantIdx(*t)).unwrap();
    }
    Arc::new(b.build().unwrap())
}

/// Acquirer A (0), issuers B (1, institution 00123) and C (2, BIN 45).
fn network() -> RouteSnapshot {
    let a = participant("ACQ-A", true, false, 10);
    let mut b = participant("ISS-B", false, true, 20);
    b.institution_ids = vec!["00123".into()];
    let c = participant("ISS-C", true, true, 30);
    RouteSnapshot::new(vec![a, b, c], bins(&[("45", 2), ("4512", 1)])).unwrap()
}

#[test]
fn only_a_configured_source_address_and_port_identifies_a_sender() {
    let s = network();
    assert_eq!(s.sender(*addr(10, 0).ip(), 8583), Some(ParticipantIdx(0)));
    assert_eq!(s.sender(*addr(30, 0).ip(), 8583), Some(ParticipantIdx(2)));
    assert_eq!(s.sender(*addr(10, 0).ip(), 8584), None, "wrong port");
    assert_eq!(s.sender(*addr(11, 0).ip(), 8583), None, "unknown host");
}

#[test]
fn a_known_host_on_the_wrong_port_is_told_apart_from_a_stranger() {
    let s = network();
    assert!(s.is_known_host(*addr(10, 0).ip()));
    assert!(!s.is_known_host(*addr(11, 0).ip()));
}

#[test]
fn an_acquirers_institution_id_identifies_it_but_routes_nothing() {
    let mut ps = vec![
        participant("ACQ-A", true, false, 10),
        participant("ISS-B", false, true, 20),
    ];
    ps[0].institution_ids = vec!["4200".into()];
    let s = RouteSnapshot::new(ps, bins(&[("45", 1)])).unwrap();
    assert_eq!(s.by_institution(b"4200"), Some(ParticipantIdx(0)));
    assert_eq!(
        s.route(Some(b"4200"), Some(b"4512345678901234")),
        Route::NoRoute,
        "field 100 naming a non-issuer is not silently rerouted by BIN"
    );
}

#[test]
fn field_100_routes_by_exact_institution_id_before_the_pan() {
    let s = network();
    assert_eq!(
        s.route(Some(b"00123"), Some(b"4599999999999999")),
        Route::Issuer(ParticipantIdx(1))
    );
    // "123" is not "00123": exact match only; the PAN decides.
    assert_eq!(
        s.route(Some(b"123"), Some(b"4599999999999999")),
        Route::Issuer(ParticipantIdx(2))
    );
}

#[test]
fn without_field_100_the_longest_pan_prefix_routes() {
    let s = network();
    assert_eq!(
        s.route(None, Some(b"4512000000000000")),
        Route::Issuer(ParticipantIdx(1))
    );
    assert_eq!(s.route(None, Some(b"5100000000000000")), Route::NoRoute);
    assert_eq!(s.route(None, None), Route::NoRoute);
    assert_eq!(
        s.route(None, Some(b"45x2000000000000")),
        Route::BadPan(PanError::NonDigit { offset: 2 })
    );
}

#[test]
fn suspended_or_signed_off_issuers_do_not_accept_requests() {
    let mut ps = network().participants().to_vec();
    ps[1].signed_off = true;
    ps[2].suspended = true;
    let s = RouteSnapshot::new(ps, bins(&[("45", 2)])).unwrap();
    assert!(!s.participant(ParticipantIdx(1)).unwrap().accepts_requests());
    assert!(!s.participant(ParticipantIdx(2)).unwrap().accepts_requests());
    assert!(
        !s.participant(ParticipantIdx(0)).unwrap().accepts_requests(),
        "not an issuer"
    );
    assert_eq!(s.find_id("ISS-C"), Some(ParticipantIdx(2)));
}

#[test]
fn inconsistent_participant_lists_are_refused_with_the_reason() {
    let ok = network().participants().to_vec();

    let mut twice = ok.clone();
    twice[2].sources = vec![addr(10, 8583)];
    assert!(matches!(
        RouteSnapshot::new(twice, bins(&[])),
        Err(RouteError::SourceClaimedTwice { ref id, ref other, .. }) if id == "ISS-C" && other == "ACQ-A"
    ));

    let mut inst = ok.clone();
    inst[2].institution_ids = vec!["00123".into()];
    assert!(matches!(
        RouteSnapshot::new(inst, bins(&[])),
        Err(RouteError::InstitutionClaimedTwice { .. })
    ));

    let mut bad = ok.clone();
    bad[1].institution_ids = vec!["12a".into()];
    assert!(matches!(
        RouteSnapshot::new(bad, bins(&[])),
        Err(RouteError::BadInstitutionId { .. })
    ));

    assert!(matches!(
        RouteSnapshot::new(ok.clone(), bins(&[("45", 0)])),
        Err(RouteError::BinTargetNotIssuer { ref id }) if id == "ACQ-A"
    ));
    assert_eq!(
        RouteSnapshot::new(ok.clone(), bins(&[("45", 3)])).unwrap_err(),
        RouteError::BinTargetMissing { idx: 3, count: 3 }
    );

    let mut dup = ok;
    dup[1].id = "ACQ-A".into();
    assert!(matches!(
        RouteSnapshot::new(dup, bins(&[])),
        Err(RouteError::DuplicateId { .. })
    ));
}

#[test]
fn a_published_update_is_seen_by_the_next_load_and_numbered_in_order() {
    let published = Published::new(network());
    let before = published.load();
    assert_eq!(before.version(), 1);
    let mut ps = network().participants().to_vec();
    ps[1].signed_off = true;
    let next = RouteSnapshot::new(ps, before.bins_shared()).unwrap();
    assert_eq!(published.publish(next), 2);
    // A burst in flight keeps its snapshot; the next burst sees the new one.
    assert!(before
        .participant(ParticipantIdx(1))
        .unwrap()
        .accepts_requests());
    let after = published.load();
    assert_eq!(after.version(), 2);
    assert!(!after
        .participant(ParticipantIdx(1))
        .unwrap()
        .accepts_requests());
}

#[test]
fn a_replaced_snapshot_is_freed_by_the_control_plane_once_no_reader_holds_it() {
    let published = Published::new(network());
    let in_flight = published.load();
    published.publish(network());
    assert_eq!(published.reclaim(), 1, "a reader still holds version 1");
    drop(in_flight);
    assert_eq!(published.reclaim(), 0);
}

/// A snapshot of generation `g` (0 or 1): every BIN prefix, the sender port
/// 4000+g and institution 99 route to participant g, whose id says `g`.
fn generation(g: u32, table: Arc<BinTable>) -> RouteSnapshot {
    let mut ps = vec![
        participant("gen0-issuer", false, true, 1),
        participant("gen1-issuer", false, true, 2),
    ];
    ps[g as usize].id = format!("gen{g}-issuer-current");
    ps[g as usize].sources = vec![addr(99, 4000 + g as u16)];
    ps[g as usize].institution_ids = vec!["99".into()];
    RouteSnapshot::new(ps, table).unwrap()
}

fn million_prefixes(target: u32) -> Arc<BinTable> {
    let mut b = BinTableBuilder::with_capacity(1_000_000);
    for i in 0..1_000_000u64 {
        // 8-digit prefixes 10000000, 10000089, ...: spread over the space.
        let p = format!("{}", 10_000_000 + i * 89);
        b.insert(p.as_bytes(), ParticipantIdx(target)).unwrap();
    }
    Arc::new(b.build().unwrap())
}

#[test]
fn readers_always_see_one_whole_snapshot_while_1m_prefix_tables_are_swapped() {
    let tables = [million_prefixes(0), million_prefixes(1)];
    assert_eq!(tables[0].len(), 1_000_000);
    let published = Arc::new(Published::new(generation(0, Arc::clone(&tables[0]))));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (published, done) = (Arc::clone(&published), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut last_version = 0;
                let mut bursts = 0u64;
                while !done.load(Ordering::Acquire) || bursts == 0 {
                    let s = published.load(); // once per burst
                    assert!(s.version() >= last_version, "went back in time");
                    last_version = s.version();
                    let g = u32::from(s.participants()[1].id.ends_with("current"));
                    assert!(s.participants()[g as usize].id.ends_with("current"));
                    assert!(!s.participants()[1 - g as usize].id.ends_with("current"));
                    for pan in [
                        &b"1000000012345678"[..],
                        b"1000008999999999",
                        b"1089000000000000",
                    ] {
                        let routed = s.route(None, Some(pan));
                        assert_eq!(
                            routed,
                            Route::Issuer(ParticipantIdx(g)),
                            "pan of another snapshot"
                        );
                    }
                    assert_eq!(s.by_institution(b"99"), Some(ParticipantIdx(g)));
                    assert_eq!(
                        s.sender(*addr(99, 0).ip(), 4000 + g as u16),
                        Some(ParticipantIdx(g))
                    );
                    assert_eq!(s.sender(*addr(99, 0).ip(), 4001 - g as u16), None);
                    bursts += 1;
                }
                bursts
            })
        })
        .collect();
    for v in 0..40u32 {
        let g = (v + 1) % 2;
        published.publish(generation(g, Arc::clone(&tables[g as usize])));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    done.store(true, Ordering::Release);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert_eq!(published.load().version(), 41);
    assert_eq!(
        published.reclaim(),
        0,
        "no reader left: all replaced snapshots freed"
    );
}
