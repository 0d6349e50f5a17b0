//! MAC keys through clearctl against a running clearwayd: a participant
//! keyed in clearway.toml, `participants rotate-key` with an overlap, and a
//! restart that replays the rotation from the journal. Key material never
//! appears in any answer; keys are named by id only.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

mod common;

use common::{default_config_in, Clearctl, Daemon};

const KEY_A: &str = "000102030405060708090a0b0c0d0e0f";
const KEY_B: &str = "f0e0d0c0b0a090807060504030201000";

fn key_file(dir: &Path, name: &str, hex: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{hex}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// The embedded default config in `dir`, with acquirer-2 keyed (AES-CMAC).
fn config(dir: &Path, tag: u32, key: &Path) -> String {
    let text = default_config_in(dir, &format!("clw-keys-{tag}"));
    let acquirer2 = "sources = [\"10.0.1.2:5001\"]\n";
    assert!(text.contains(acquirer2), "the default config changed");
    text.replace(
        acquirer2,
        &format!(
            "{acquirer2}mac = {{ algorithm = \"aes-cmac-64\", key_file = \"{}\" }}\n",
            key.display()
        ),
    )
}

/// clearctl whose every answer is checked for key material.
struct Ctl(Clearctl);

/// Fails if `text` shows either test key.
fn assert_no_key_material(args: &[&str], text: &str) {
    for key in [KEY_A, KEY_B] {
        assert!(
            !text.to_lowercase().contains(key),
            "key material in {args:?}: {text}"
        );
    }
}

impl Ctl {
    /// A command that must succeed and never print key material.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.0.ok(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_no_key_material(args, &text);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn refused(&self, args: &[&str], needle: &str) {
        assert_no_key_material(args, &self.0.refused(args, needle));
    }

    fn mac(&self, id: &str) -> serde_json::Value {
        let shown: serde_json::Value =
            serde_json::from_str(&self.ok(&["--json", "participants", "show", id])).unwrap();
        shown["mac"].clone()
    }
}

#[test]
fn clearctl_rotates_a_key_and_never_shows_key_material() {
    let tag = std::process::id();
    let dir = std::env::temp_dir().join(format!("clw-keys-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let a = key_file(&dir, "acquirer-2-1.key", KEY_A);
    let b = key_file(&dir, "acquirer-2-2.key", KEY_B);
    let cfg = dir.join("clearway.toml");
    std::fs::write(&cfg, config(&dir, tag, &a)).unwrap();
    let ctl = Ctl(Clearctl::new(dir.join("api.sock")));
    let start = || {
        Daemon::start(
            &["-c", cfg.to_str().unwrap()],
            &dir.join("clearwayd.stderr"),
            "clearwayd: API on",
        )
    };
    let daemon = start();

    let before = ctl.mac("acquirer-2");
    assert_eq!(before["algorithm"], "aes-cmac-64", "{before}");
    let id_a = before["key_id"].as_str().expect("a key id").to_string();
    assert_eq!(id_a.len(), 8);
    assert!(before.get("previous_key_id").is_none(), "{before}");
    assert!(
        ctl.mac("acquirer-1").is_null(),
        "unkeyed participants show no mac"
    );

    ctl.refused(
        &[
            "participants",
            "rotate-key",
            "acquirer-2",
            "--key-file",
            a.to_str().unwrap(),
        ],
        "already uses",
    );
    ctl.refused(
        &[
            "participants",
            "rotate-key",
            "acquirer-2",
            "--key-file",
            "/nonexistent/k.key",
        ],
        "cannot open",
    );
    ctl.refused(
        &[
            "participants",
            "rotate-key",
            "acquirer-1",
            "--key-file",
            b.to_str().unwrap(),
        ],
        "algorithm",
    );
    let said = ctl.ok(&[
        "participants",
        "rotate-key",
        "acquirer-2",
        "--key-file",
        b.to_str().unwrap(),
        "--overlap",
        "10m",
    ]);
    assert!(said.contains(&id_a), "the previous key is named: {said}");

    let after = ctl.mac("acquirer-2");
    let id_b = after["key_id"].as_str().unwrap().to_string();
    assert_ne!(id_b, id_a);
    assert_eq!(after["previous_key_id"], id_a.as_str(), "{after}");
    assert!(after["overlap_ends_at_ms"].as_u64().is_some(), "{after}");
    assert_eq!(after["key_file"], b.to_str().unwrap());
    ctl.ok(&["--json", "participants", "list"]);
    ctl.ok(&["participants", "show", "acquirer-2"]);

    // A restart replays the rotation from the journal, overlap included.
    let (stopped, output) = daemon.terminate();
    assert!(stopped, "clearwayd did not stop cleanly: {output}");
    let _daemon = start();
    let replayed = ctl.mac("acquirer-2");
    assert_eq!(replayed["key_id"], id_b.as_str(), "{replayed}");
    assert_eq!(replayed["previous_key_id"], id_a.as_str(), "{replayed}");
    let _ = std::fs::remove_dir_all(&dir);
}
