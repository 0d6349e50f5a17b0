//! The control plane takes clearway.toml's `[[participants]]` and
//! `[[routes]]` as they are: the API documents have the same fields, so the
//! daemon deserializes its config straight into them.

use control::testkit::MemoryChangeLog;
use control::types::{ParticipantSpec, RouteRow};
use control::ControlPlane;
use serde::Deserialize;

#[derive(Deserialize)]
struct Config {
    participants: Vec<ParticipantSpec>,
    routes: Vec<RouteRow>,
}

#[test]
fn clearwayds_default_config_builds_a_control_plane() {
    let text = include_str!("../../../dataplane/clearwayd/src/default.toml");
    let config: Config = toml::from_str(text).expect("participants and routes parse");
    let (participants, routes) = (config.participants.len(), config.routes.len());
    let cp = ControlPlane::new(config.participants, config.routes, MemoryChangeLog::new())
        .expect("the default config is valid");
    assert_eq!(cp.participant_count(), participants);
    assert_eq!(cp.route_count(), routes);
    assert_eq!(cp.version(), 1);
}

#[test]
fn a_config_route_to_an_unknown_participant_names_its_row() {
    let text = r#"
        [[participants]]
        id = "bank-b"
        roles = ["issuer"]
        sources = ["10.0.0.2:9100"]

        [[routes]]
        prefix = "476173"
        participant = "bank-b"

        [[routes]]
        prefix = "51"
        participant = "bank-x"
    "#;
    let config: Config = toml::from_str(text).unwrap();
    let err =
        ControlPlane::new(config.participants, config.routes, MemoryChangeLog::new()).unwrap_err();
    assert!(err.to_string().starts_with("[[routes]] entry 2:"), "{err}");
    assert!(err.to_string().contains("bank-x"), "{err}");
}
