//! `clearwayd --check-config` on a file with mistakes: every mistake is
//! printed, one line each, naming the line of the file to fix, and the exit
//! status is 2. No DPDK is started (`--check-config` only parses and plans).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_clearwayd");

/// A switch configuration with seven mistakes; the line numbers in the
/// comments are what the operator must be told.
const BAD: &str = r#"[dataplane.eal]
hugepages = false
worker_lcores = [1, 1]                   # line 3: lcore listed twice

[[dataplane.ports]]
name = "demo0"
device = "net_null0"
rx_desc = 1000                           # line 8: not a power of two

[switch]
service_ip = "10.0.0.1"
port = "demo0"

[[participants]]
id = "acq-1"
roles = ["acquirer"]
sources = ["10.0.1.1"]                   # line 17: no port

[[participants]]
id = "iss-1"
roles = ["issuer"]
sources = ["10.0.2.1:9001"]
next_hop_mac = "02:00:00:00:20"          # line 23: five bytes

[[participants]]
id = "acq-1"                             # line 26: id used twice
roles = ["acquirer"]
sources = ["10.0.1.9:5001"]

[[routes]]
prefix = "47"
participant = "iss-9"                    # line 32: no such participant

[[accounts]]
participant = "nobody"                   # line 35: no such participant
currency = 978
reserve = 1000
"#;

fn write(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("clearwayd-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Runs `--check-config` and returns (exit code, clearwayd's stderr lines).
fn check(name: &str, text: &str) -> (Option<i32>, Vec<String>) {
    let path = write(name, text);
    let out = Command::new(BIN)
        .args(["--config", &path, "--check-config"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let prefix = format!("clearwayd: configuration error: {path}: ");
    let lines = stderr
        .lines()
        .map(|l| {
            l.strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{l:?} should start with {prefix:?}"))
                .to_owned()
        })
        .collect();
    (out.status.code(), lines)
}

#[test]
fn every_mistake_is_printed_with_its_line_and_the_exit_status_is_2() {
    let (code, lines) = check("bad.toml", BAD);
    assert_eq!(code, Some(2), "{lines:#?}");
    let expected: [(usize, &str); 7] = [
        (3, "lists lcore 1 twice"),
        (8, "rx_desc = 1000"),
        (17, "\"10.0.1.1\" is not an IPv4 address with port"),
        (23, "next_hop_mac: \"02:00:00:00:20\" is not a MAC"),
        (26, "\"acq-1\" is used twice"),
        (32, "participant \"iss-9\" is not in [[participants]]"),
        (35, "[[accounts]] participant \"nobody\""),
    ];
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    for ((line, needle), got) in expected.iter().zip(&lines) {
        assert!(
            got.starts_with(&format!("line {line}: ")) && got.contains(needle),
            "expected line {line} about {needle:?}, got {got:?}"
        );
    }
    assert!(lines[4].ends_with("(first on line 15)"), "{}", lines[4]);
}

#[test]
fn a_syntax_error_names_its_line_and_column() {
    let text = BAD.replace("port = \"demo0\"", "port = demo0");
    let (code, lines) = check("syntax.toml", &text);
    assert_eq!(code, Some(2));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].starts_with("line 12, column 8: "), "{lines:#?}");
}

#[test]
fn a_key_of_the_wrong_type_names_its_line() {
    let text = BAD.replace("currency = 978", "currency = \"EUR\"");
    let (code, lines) = check("type.toml", &text);
    assert_eq!(code, Some(2));
    assert!(lines[0].starts_with("line 36, "), "{lines:#?}");
}

#[test]
fn an_lcore_this_host_does_not_have_names_the_line_of_main_lcore() {
    let text = "\
[dataplane.eal]
hugepages = false
main_lcore = 4000

[[dataplane.ports]]
name = \"left\"
device = \"net_null0\"

[[dataplane.ports]]
name = \"right\"
device = \"net_null1\"

[forward]
pairs = [[\"left\", \"right\"]]
";
    let (code, lines) = check("lcore.toml", text);
    assert_eq!(code, Some(2));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("line 3: eal.main_lcore = 4000"),
        "{lines:#?}"
    );
}
