//! Recovery: every change the control plane journals can be read back and
//! replayed onto the configuration, giving the same participants and routes.

use control::sources::ChangeRecord;
use control::testkit::{demo_participants, MemoryChangeLog};
use control::types::{ParticipantPatch, ParticipantSpec, Role, RouteRow};
use control::ControlPlane;
use std::path::Path;

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
        rate_limit: None,
        mac: None,
    }
}

fn plane(log: std::sync::Arc<MemoryChangeLog>, routes_dir: Option<&Path>) -> ControlPlane {
    let cp = ControlPlane::new(demo_participants(), config_routes(), log).unwrap();
    match routes_dir {
        Some(dir) => cp.with_routes_dir(dir.to_path_buf()),
        None => cp,
    }
}

#[test]
fn replaying_the_journal_rebuilds_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryChangeLog::new();
    let live = plane(log.clone(), Some(dir.path()));
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

    let restarted = plane(MemoryChangeLog::new(), Some(dir.path()));
    for payload in log.records() {
        let record = ChangeRecord::decode(payload.as_bytes()).unwrap();
        restarted.replay(&record).unwrap();
    }
    assert_eq!(restarted.participants(), live.participants());
    assert_eq!(
        restarted.routes(None, 100, None).unwrap(),
        live.routes(None, 100, None).unwrap()
    );
    assert_eq!(restarted.version(), live.version());
}

#[test]
fn a_missing_or_altered_routes_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryChangeLog::new();
    let live = plane(log.clone(), Some(dir.path()));
    let out = live.import_routes(b"400000,bank-b\n").unwrap();
    let record = ChangeRecord::decode(log.records()[0].as_bytes()).unwrap();

    let err = plane(MemoryChangeLog::new(), None)
        .replay(&record)
        .unwrap_err();
    assert!(err.to_string().contains("no routes directory"), "{err}");

    let restarted = plane(MemoryChangeLog::new(), Some(dir.path()));
    let file = ControlPlane::routes_file(dir.path(), out.crc32c);
    std::fs::write(&file, "410000,bank-b\n").unwrap();
    let err = restarted.replay(&record).unwrap_err();
    assert!(err.to_string().contains("restore the routes file"), "{err}");
    std::fs::remove_file(&file).unwrap();
    let err = restarted.replay(&record).unwrap_err();
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
    assert!(ChangeRecord::decode(b"{\"change\":\"nope\"}").is_err());
}

#[test]
fn a_failed_journal_write_leaves_the_journaled_table_intact() {
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryChangeLog::new();
    let live = plane(log.clone(), Some(dir.path()));
    let first = live.import_routes(b"400000,bank-b\n").unwrap();
    log.fail(true);
    assert!(live.import_routes(b"410000,bank-b\n").is_err());
    let kept = std::fs::read(ControlPlane::routes_file(dir.path(), first.crc32c)).unwrap();
    assert_eq!(kept, b"400000,bank-b\n");
    assert_eq!(crc32c::crc32c(&kept), first.crc32c);
}

#[test]
fn an_empty_import_is_refused() {
    let cp = plane(MemoryChangeLog::new(), None);
    let err = cp.import_routes(b"prefix,participant\n\n").unwrap_err();
    assert!(err.to_string().contains("holds no routes"), "{err}");
    assert_eq!(cp.route_count(), 1);
}
