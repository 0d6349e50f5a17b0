//! Whatever an operator or an attacker sends, the control plane answers
//! with a typed error and the running snapshot stays valid: bounded
//! property runs over import bodies and participant documents.

use control::testkit::{demo_participants, MemoryChangeLog};
use control::types::{ParticipantPatch, ParticipantSpec, RouteRow};
use control::{ControlError, ControlPlane};
use proptest::prelude::*;

#[path = "support/csv_like.rs"]
mod csv_like;
use csv_like::csv_like;

fn plane() -> ControlPlane {
    let routes = vec![RouteRow {
        prefix: "476173".into(),
        participant: "bank-b".into(),
    }];
    ControlPlane::new(demo_participants(), routes, MemoryChangeLog::new()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_import_body_is_applied_whole_or_refused_whole(csv in csv_like()) {
        reliability::count_input!("route_csv", "any_import_body_is_applied_whole_or_refused_whole", 64);
        let cp = plane();
        let before = cp.routes(None, 100, None).unwrap();
        match cp.import_routes(&csv) {
            Ok(out) => prop_assert_eq!(out.rows as usize, cp.route_count()),
            Err(ControlError::ImportLine { .. } | ControlError::Invalid { .. }) => {
                prop_assert_eq!(cp.routes(None, 100, None).unwrap(), before);
            }
            Err(other) => prop_assert!(false, "unexpected error kind: {other:?}"),
        }
    }

    #[test]
    fn any_participant_document_is_added_or_refused_with_a_reason(
        body in prop::collection::vec(any::<u8>(), 0..200),
        id in "[a-z.-]{0,8}",
        source in "[0-9.:]{0,24}",
        inst in "[0-9a]{0,13}",
        mac in "[0-9a-f:]{0,20}",
    ) {
        reliability::count_input!("api_bodies", "any_participant_document_is_added_or_refused_with_a_reason", 64);
        let cp = plane();
        // Raw bytes as JSON (nearly always refused by serde).
        if let Ok(spec) = serde_json::from_slice::<ParticipantSpec>(&body) {
            let _ = cp.add_participant(spec);
        }
        let spec = ParticipantSpec {
            id,
            roles: vec![control::types::Role::Issuer],
            institution_ids: vec![inst.clone()],
            sources: vec![source.clone()],
            next_hop: None,
            next_hop_mac: Some(mac),
            timeout_ms: None,
            suspended: false,
            rate_limit: None,
            mac: None,
        };
        let count = cp.participant_count();
        match cp.add_participant(spec) {
            Ok(_) => prop_assert_eq!(cp.participant_count(), count + 1),
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                prop_assert_eq!(cp.participant_count(), count);
            }
        }
        let patch = ParticipantPatch { sources: Some(vec![source]), institution_ids: Some(vec![inst]), ..Default::default() };
        let _ = cp.update_participant("bank-b", &patch);
        // Whatever happened, the running snapshot still routes the BIN.
        let snap = cp.published().load_full();
        prop_assert!(matches!(
            snap.route(None, Some(b"4761730000000000")),
            switch::routes::Route::Issuer(_)
        ));
    }
}
