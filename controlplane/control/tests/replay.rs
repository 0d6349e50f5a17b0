//! Recovery: every change the control plane journals can be read back and
//! replayed onto the configuration, giving the same participants and routes.

use control::sources::ChangeRecord;
use control::testkit::{demo_participants, MemoryChangeLog};
use control::types::{ParticipantPatch, ParticipantSpec, Role, RouteRow};
use control::ControlPlane;

fn config_routes() -> Vec<RouteRow> {
    vec![RouteRow {
        prefix: "476173".into(),
        participant: "bank-b".into(),
    }]
}

fn issuer(id: &str, source: &str) -> ParticipantSpec {
    ParticipantSpec {
        id: id.into(),
        roles: vec![Role::Issuer],
        institution_ids: vec!["88001".into()],
        sources: vec![source.into()],
        next_hop: None,
        next_hop_mac: None,
        timeout_ms: None,
        suspended: false,
    }
}

#[test]
fn replaying_the_journal_rebuilds_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let routes_file = dir.path().join("routes.csv");
    let log = MemoryChangeLog::new();
    let live = ControlPlane::new(demo_participants(), config_routes(), log.clone())
        .unwrap()
        .with_routes_file(routes_file.clone());
    live.add_participant(issuer("bank-c", "10.99.0.30:9100"))
        .unwrap();
    live.add_route(&RouteRow {
        prefix: "51".into(),
        participant: "bank-c".into(),
    })
    .unwrap();
    live.import_routes(b"400000,bank-b\n51,bank-c\n52,bank-c\n")
        .unwrap();
    live.delete_route("52").unwrap();
    live.update_participant(
        "bank-c",
        &ParticipantPatch {
            timeout_ms: Some(1500),
            ..Default::default()
        },
    )
    .unwrap();
    live.set_suspended("bank-a", true).unwrap();
    live.add_route(&RouteRow {
        prefix: "53".into(),
        participant: "bank-c".into(),
    })
    .unwrap();

    let restarted =
        ControlPlane::new(demo_participants(), config_routes(), MemoryChangeLog::new()).unwrap();
    let routes_csv = std::fs::read(&routes_file).unwrap();
    for payload in log.records() {
        let record = ChangeRecord::decode(payload.as_bytes()).unwrap();
        restarted.replay(&record, Some(&routes_csv)).unwrap();
    }
    assert_eq!(restarted.participants(), live.participants());
    assert_eq!(
        restarted.routes(None, 100, None).unwrap(),
        live.routes(None, 100, None).unwrap()
    );
    assert_eq!(restarted.version(), live.version());
}

#[test]
fn a_routes_file_that_does_not_match_the_journal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let routes_file = dir.path().join("routes.csv");
    let log = MemoryChangeLog::new();
    let live = ControlPlane::new(demo_participants(), config_routes(), log.clone())
        .unwrap()
        .with_routes_file(routes_file);
    live.import_routes(b"400000,bank-b\n").unwrap();
    let restarted =
        ControlPlane::new(demo_participants(), config_routes(), MemoryChangeLog::new()).unwrap();
    let record = ChangeRecord::decode(log.records()[0].as_bytes()).unwrap();
    let err = restarted
        .replay(&record, Some(b"410000,bank-b\n"))
        .unwrap_err();
    assert!(err.to_string().contains("restore the routes file"), "{err}");
    let err = restarted.replay(&record, None).unwrap_err();
    assert!(err.to_string().contains("no routes file"), "{err}");
    assert!(ChangeRecord::decode(b"{\"change\":\"nope\"}").is_err());
}
