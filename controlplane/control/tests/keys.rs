//! Participant MAC keys on the control plane: loaded from key files (or an
//! inline key in clearway.toml), rotated with an overlap, journaled and
//! replayed, and never shown or journaled as key material.

use auth::{Algorithm, KeyUsed, MacKey};
use control::keys::KeyClock;
use control::sources::ChangeRecord;
use control::testkit::{demo_participants, MemoryChangeLog};
use control::types::{KeyRotation, MacAlgorithm, MacSpec, ParticipantPatch, ParticipantSpec};
use control::{ControlError, ControlPlane};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use switch::ParticipantIdx;

const KEY_A: &str = "000102030405060708090a0b0c0d0e0f";
const KEY_B: &str = "f0e0d0c0b0a090807060504030201000";
const KEY_C: &str = "1111111111111111aaaaaaaaaaaaaaaa";

/// The lcores' clock in tests: one tick a millisecond, moved by hand.
#[derive(Default)]
struct FakeClock(AtomicU64);

impl KeyClock for FakeClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    fn ticks(&self, d: Duration) -> u64 {
        d.as_millis() as u64
    }
}

fn key_file(dir: &Path, name: &str, hex: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{hex}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.to_str().unwrap().to_string()
}

fn key(hex: &str) -> MacKey {
    MacKey::from_hex(Algorithm::AesCmac64, hex).unwrap()
}

/// The demo network with bank-a keyed (AES-CMAC, key A in a file).
fn config(dir: &Path) -> Vec<ParticipantSpec> {
    let mut specs = demo_participants();
    specs[0].mac = Some(MacSpec {
        algorithm: MacAlgorithm::AesCmac64,
        key_file: Some(key_file(dir, "bank-a-1.key", KEY_A)),
        key: None,
    });
    specs
}

fn plane(
    specs: Vec<ParticipantSpec>,
    log: Arc<MemoryChangeLog>,
    clock: Arc<FakeClock>,
) -> ControlPlane {
    ControlPlane::new(specs, vec![], log)
        .unwrap()
        .with_key_clock(clock)
}

fn rotation(file: &str, overlap_ms: u64) -> KeyRotation {
    KeyRotation {
        key_file: file.to_string(),
        algorithm: None,
        overlap_ms: Some(overlap_ms),
    }
}

/// What bank-a's published ring says about a tag made with `by` at `now`.
fn check(cp: &ControlPlane, by: &str, now: u64) -> Option<KeyUsed> {
    let snapshot = cp.published().load_full();
    let ring = snapshot.participant(ParticipantIdx(0))?.mac.clone()?;
    ring.verify(b"0200", &key(by).tag(b"0200"), now).ok()
}

fn show_everything(cp: &ControlPlane) -> String {
    serde_json::to_string(&cp.participants()).unwrap()
}

#[test]
fn a_configured_key_is_published_and_shown_by_id_only() {
    let dir = tempfile::tempdir().unwrap();
    let cp = plane(config(dir.path()), MemoryChangeLog::new(), Arc::default());
    assert_eq!(check(&cp, KEY_A, 0), Some(KeyUsed::Current));
    let view = cp.participant("bank-a").unwrap().mac.unwrap();
    assert_eq!(view.algorithm, MacAlgorithm::AesCmac64);
    assert_eq!(view.key_id, Some(key(KEY_A).id().to_string()));
    assert_eq!(view.previous_key_id, None);
    assert!(cp.participant("bank-b").unwrap().mac.is_none());
    assert!(!show_everything(&cp).contains(KEY_A));
}

#[test]
fn an_inline_config_key_works_but_is_never_shown_or_journaled() {
    let mut specs = demo_participants();
    specs[0].mac = Some(MacSpec {
        algorithm: MacAlgorithm::AesCmac64,
        key_file: None,
        key: Some(KEY_A.into()),
    });
    let log = MemoryChangeLog::new();
    let cp = plane(specs, log.clone(), Arc::default());
    assert_eq!(check(&cp, KEY_A, 0), Some(KeyUsed::Current));
    cp.update_participant(
        "bank-a",
        &ParticipantPatch {
            timeout_ms: Some(900),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        check(&cp, KEY_A, 0),
        Some(KeyUsed::Current),
        "an update keeps the keys"
    );
    assert!(!show_everything(&cp).contains(KEY_A));
    assert!(!format!("{:?}", cp.participants()).contains(KEY_A));
    assert!(
        log.records().iter().all(|r| !r.contains(KEY_A)),
        "{:?}",
        log.records()
    );
}

#[test]
fn a_bad_configured_key_stops_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut specs = config(dir.path());
    let file = key_file(dir.path(), "short.key", "0011223344");
    specs[0].mac.as_mut().unwrap().key_file = Some(file.clone());
    let e = ControlPlane::new(specs, vec![], MemoryChangeLog::new()).unwrap_err();
    assert!(e.to_string().contains(&file), "{e}");
    assert!(e.to_string().contains("bank-a"), "{e}");
}

/// A new participant bank-c (a copy of the demo issuer on its own
/// address) keyed with `mac`.
fn new_bank_c(mac: MacSpec) -> ParticipantSpec {
    let mut spec = demo_participants()[1].clone();
    spec.id = "bank-c".into();
    spec.sources = vec!["10.99.0.30:9100".into()];
    spec.institution_ids = vec![];
    spec.mac = Some(mac);
    spec
}

#[test]
fn the_api_takes_no_inline_key() {
    let cp = plane(demo_participants(), MemoryChangeLog::new(), Arc::default());
    let spec = new_bank_c(MacSpec {
        algorithm: MacAlgorithm::HmacSha256x64,
        key_file: None,
        key: Some(KEY_A.into()),
    });
    match cp.add_participant(spec) {
        Err(ControlError::Invalid { field, .. }) => assert_eq!(field, "mac.key"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rotation_makes_the_new_key_current_and_the_old_one_verify_until_the_overlap_ends() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::default());
    clock.0.store(1_000, Ordering::SeqCst);
    let log = MemoryChangeLog::new();
    let cp = plane(config(dir.path()), log.clone(), clock.clone());
    let new_file = key_file(dir.path(), "bank-a-2.key", KEY_B);
    let done = cp
        .rotate_key("bank-a", &rotation(&new_file, 60_000))
        .unwrap();
    assert_eq!(done.version, cp.version());
    assert_eq!(done.mac.key_id, Some(key(KEY_B).id().to_string()));
    assert_eq!(done.mac.previous_key_id, Some(key(KEY_A).id().to_string()));
    assert!(done.mac.overlap_ends_at_ms.is_some());

    assert_eq!(check(&cp, KEY_B, 1_000), Some(KeyUsed::Current));
    assert_eq!(check(&cp, KEY_A, 1_000), Some(KeyUsed::Previous));
    assert_eq!(check(&cp, KEY_A, 60_999), Some(KeyUsed::Previous));
    assert_eq!(check(&cp, KEY_A, 61_000), None, "overlap over");
    clock.0.store(61_000, Ordering::SeqCst);
    let view = cp.participant("bank-a").unwrap().mac.unwrap();
    assert_eq!(view.previous_key_id, None, "shown only while it verifies");
    assert_eq!(view.key_file.as_deref(), Some(new_file.as_str()));

    let records = log.records();
    let last = records.last().unwrap();
    assert!(last.contains("participant_key_rotated"), "{last}");
    assert!(last.contains(&key(KEY_B).id().to_string()), "{last}");
    assert!(!last.contains(KEY_B) && !last.contains(KEY_A), "{last}");
}

#[test]
fn rotation_refuses_the_same_key_a_relative_path_and_a_missing_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let cp = plane(config(dir.path()), MemoryChangeLog::new(), Arc::default());
    let same = key_file(dir.path(), "same.key", KEY_A);
    assert!(matches!(
        cp.rotate_key("bank-a", &rotation(&same, 0)),
        Err(ControlError::Conflict(_))
    ));
    assert!(matches!(
        cp.rotate_key("bank-a", &rotation("keys/bank-a.key", 0)),
        Err(ControlError::Invalid { .. })
    ));
    let fresh = key_file(dir.path(), "bank-b-1.key", KEY_B);
    match cp.rotate_key("bank-b", &rotation(&fresh, 0)) {
        Err(ControlError::Invalid { field, .. }) => assert_eq!(field, "algorithm"),
        other => panic!("{other:?}"),
    }
    let keyed = cp
        .rotate_key(
            "bank-b",
            &KeyRotation {
                algorithm: Some(MacAlgorithm::AesCmac64),
                ..rotation(&fresh, 60_000)
            },
        )
        .unwrap();
    assert_eq!(
        keyed.mac.previous_key_id, None,
        "no old key to overlap with"
    );
    assert!(matches!(
        cp.rotate_key("nobody", &rotation(&fresh, 0)),
        Err(ControlError::UnknownParticipant { .. })
    ));
}

fn replay_into(cp: &ControlPlane, log: &MemoryChangeLog) {
    for payload in log.records() {
        cp.replay(&ChangeRecord::decode(payload.as_bytes()).unwrap())
            .unwrap();
    }
}

#[test]
fn a_restart_replays_rotations_and_what_is_left_of_the_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryChangeLog::new();
    let live = plane(config(dir.path()), log.clone(), Arc::default());
    let b = key_file(dir.path(), "bank-a-2.key", KEY_B);
    let c = key_file(dir.path(), "bank-a-3.key", KEY_C);
    live.rotate_key("bank-a", &rotation(&b, 0)).unwrap();
    live.rotate_key("bank-a", &rotation(&c, 3_600_000)).unwrap();

    let clock = Arc::new(FakeClock::default());
    clock.0.store(50_000, Ordering::SeqCst);
    let restarted = plane(config(dir.path()), MemoryChangeLog::new(), clock);
    replay_into(&restarted, &log);
    assert_eq!(check(&restarted, KEY_C, 50_000), Some(KeyUsed::Current));
    assert_eq!(check(&restarted, KEY_B, 50_000), Some(KeyUsed::Previous));
    assert_eq!(check(&restarted, KEY_A, 50_000), None);
    // About an hour from the restart's clock (less the test's own run time).
    assert_eq!(
        check(&restarted, KEY_B, 50_000 + 3_500_000),
        Some(KeyUsed::Previous)
    );
    assert_eq!(check(&restarted, KEY_B, 50_000 + 3_600_000), None);
    let view = restarted.participant("bank-a").unwrap();
    assert_eq!(
        view.mac.as_ref().unwrap().key_id,
        Some(key(KEY_C).id().to_string())
    );
    assert_eq!(view.revision, live.participant("bank-a").unwrap().revision);
    assert!(restarted.key_problems().is_empty());
}

#[test]
fn a_key_file_changed_since_its_rotation_fails_closed_at_restart_until_rotated_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryChangeLog::new();
    let live = plane(config(dir.path()), log.clone(), Arc::default());
    let b = key_file(dir.path(), "bank-a-2.key", KEY_B);
    live.rotate_key("bank-a", &rotation(&b, 0)).unwrap();
    // Overwritten in place: the journal's key id no longer matches.
    key_file(dir.path(), "bank-a-2.key", KEY_C);

    let restarted = plane(config(dir.path()), MemoryChangeLog::new(), Arc::default());
    replay_into(&restarted, &log);
    for k in [KEY_A, KEY_B, KEY_C] {
        assert_eq!(check(&restarted, k, 0), None, "nothing verifies");
    }
    let view = restarted.participant("bank-a").unwrap().mac.unwrap();
    assert_eq!(view.key_id, None);
    assert!(view.problem.as_deref().unwrap().contains("bank-a-2.key"));
    assert_eq!(restarted.key_problems().len(), 1);

    let d = key_file(dir.path(), "bank-a-4.key", KEY_A);
    restarted
        .rotate_key("bank-a", &rotation(&d, 60_000))
        .unwrap();
    assert_eq!(check(&restarted, KEY_A, 0), Some(KeyUsed::Current));
    assert!(restarted.key_problems().is_empty());
    assert!(restarted
        .participant("bank-a")
        .unwrap()
        .mac
        .unwrap()
        .problem
        .is_none());
}

#[test]
fn a_participant_added_with_a_key_file_is_journaled_without_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryChangeLog::new();
    let cp = plane(demo_participants(), log.clone(), Arc::default());
    let spec = new_bank_c(MacSpec {
        algorithm: MacAlgorithm::HmacSha256x64,
        key_file: Some(key_file(dir.path(), "bank-c.key", KEY_B)),
        key: None,
    });
    cp.add_participant(spec).unwrap();
    let view = cp.participant("bank-c").unwrap().mac.unwrap();
    let hmac = MacKey::from_hex(Algorithm::HmacSha256x64, KEY_B).unwrap();
    assert_eq!(view.key_id, Some(hmac.id().to_string()));
    assert!(log.records().iter().all(|r| !r.contains(KEY_B)));

    let restarted = plane(demo_participants(), MemoryChangeLog::new(), Arc::default());
    replay_into(&restarted, &log);
    assert_eq!(restarted.participants(), cp.participants());
}

/// The HTTP endpoint as clearctl meets it: 404 unknown participant, 400 a
/// body that is not a rotation or names no usable file, 200 with ids only.
#[test]
fn the_rotate_key_endpoint_answers_with_ids_and_refuses_with_reasons() {
    use control::api::ApiConfig;
    use control::client::{Client, ClientError, Endpoint};
    use control::testkit::{FakeJournal, FakeMoney, FakeStatus, TestServer};
    use control::types::KeyRotated;
    use hyper::Method;

    let dir = tempfile::tempdir().unwrap();
    let control = Arc::new(plane(
        config(dir.path()),
        MemoryChangeLog::new(),
        Arc::default(),
    ));
    let sources = control::api::Sources {
        control: control.clone(),
        money: FakeMoney::new(&[]),
        status: FakeStatus::new(),
        journal: FakeJournal::new(),
    };
    let server = TestServer::start(ApiConfig::unix(dir.path().join("api.sock")), sources).unwrap();
    let client = Client::new(Endpoint::Unix(server.socket.clone())).unwrap();
    let status = |r: Result<KeyRotated, ClientError>| match r {
        Err(ClientError::Api { status, .. }) => status,
        other => panic!("expected an API error, got {other:?}"),
    };
    let b = key_file(dir.path(), "bank-a-2.key", KEY_B);
    let path = "/v1/participants/bank-a/rotate-key";
    assert_eq!(
        status(client.send(
            Method::POST,
            "/v1/participants/nobody/rotate-key",
            &rotation(&b, 0)
        )),
        404
    );
    for body in [
        serde_json::json!({"key_file": b, "key": KEY_B}),
        serde_json::json!({"key_file": "relative.key"}),
        serde_json::json!({"key_file": b, "algorithm": "des"}),
        serde_json::json!({"key_file": b, "overlap_ms": 10u64 * 365 * 86_400_000}),
    ] {
        assert_eq!(
            status(client.send(Method::POST, path, &body)),
            400,
            "{body}"
        );
    }
    let done: KeyRotated = client
        .send(Method::POST, path, &rotation(&b, 60_000))
        .unwrap();
    assert_eq!(done.mac.key_id, Some(key(KEY_B).id().to_string()));
    let listed: serde_json::Value = client.get("/v1/participants").unwrap();
    let text = listed.to_string();
    assert!(text.contains(&key(KEY_A).id().to_string()), "{text}");
    assert!(!text.contains(KEY_A) && !text.contains(KEY_B), "{text}");
}
