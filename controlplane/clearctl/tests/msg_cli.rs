//! `clearctl msg decode|encode` as an operator runs it: the built binary, stdin to stdout.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `clearctl msg <args>` with `input` on stdin; returns (stdout lines, exit code).
fn clearctl(args: &[&str], input: &str) -> (Vec<String>, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clearctl"))
        .arg("msg")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("clearctl runs");
    // clearctl may exit before reading stdin (a usage error): a broken pipe
    // here is its answer, not a test failure.
    match child.stdin.take().unwrap().write_all(input.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing stdin: {e}"),
        _ => {}
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    (
        stdout.lines().map(str::to_owned).collect(),
        out.status.code().unwrap_or(-1),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn decode_prints_one_json_object_per_hex_line() {
    let msg = b"02004010100000000000161234567890123456123456111";
    let (lines, code) = clearctl(
        &["decode", "--spec", "default_ascii"],
        &format!("{}\n", hex(msg)),
    );
    assert_eq!(code, 0);
    assert_eq!(
        lines,
        vec![r#"{"mti":"0200","fields":{"2":"1234567890123456","12":"123456","20":"111"}}"#]
    );
}

#[test]
fn a_corrupt_line_prints_an_error_object_and_the_exit_status_is_1() {
    let good = hex(b"0800\x20\x00\x00\x00\x00\x00\x00\x00000001");
    let corrupt = hex(b"0800\x20\x00\x00\x00\x00\x00\x00\x000000A1");
    let (lines, code) = clearctl(&["decode"], &format!("{corrupt}\n{good}\n"));
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 2);
    let err: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(err["error"]["kind"], "not_numeric");
    assert_eq!(err["error"]["field"], 3);
    assert_eq!(err["error"]["offset"], 16);
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a decimal digit"));
    assert_eq!(lines[1], r#"{"mti":"0800","fields":{"3":"000001"}}"#);
}

#[test]
fn encode_is_the_inverse_of_decode() {
    let json = r#"{"mti":"0200","fields":{"2":"4761739001010010","4":"000000012345","52":"0123456789abcdef","70":"301"}}"#;
    for spec in ["default", "default_ascii"] {
        let (hex_lines, code) = clearctl(&["encode", "--spec", spec], &format!("{json}\n"));
        assert_eq!(code, 0, "{hex_lines:?}");
        let (json_lines, code) =
            clearctl(&["decode", "--spec", spec], &format!("{}\n", hex_lines[0]));
        assert_eq!(code, 0);
        // default carries 52 as 8 binary bytes, default_ascii as 16 hex characters of text:
        // either way the JSON value is the same string.
        assert_eq!(json_lines, vec![json.to_owned()]);
    }
}

#[test]
fn encode_reports_a_bad_value_by_field_and_goes_on() {
    let input = concat!(
        r#"{"mti":"0200","fields":{"3":"12345"}}"#,
        "\n",
        r#"{"mti":"0800","fields":{"70":"301"}}"#,
        "\n"
    );
    let (lines, code) = clearctl(&["encode"], input);
    assert_eq!(code, 1);
    let err: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(err["error"]["kind"], "wrong_length");
    assert_eq!(err["error"]["field"], 3);
    assert_eq!(
        lines[1],
        hex(b"0800\x80\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00301")
    );
}

#[test]
fn a_spec_file_path_works_like_the_built_in_it_describes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../dataplane/wire/specs/default_ascii.toml"
    );
    let msg = hex(b"02004010100000000000161234567890123456123456111");
    let (lines, code) = clearctl(&["decode", "--spec", path], &format!("{msg}\n"));
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with(r#"{"mti":"0200","fields":{"2":"1234567890123456""#));
}

#[test]
fn an_unknown_spec_is_a_usage_error_not_a_line_error() {
    let (lines, code) = clearctl(&["decode", "--spec", "/nonexistent/spec.toml"], "00\n");
    assert_eq!(code, 2);
    assert!(lines.is_empty());
}
