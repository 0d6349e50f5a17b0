//! clearctl as an operator runs it, against a control plane served on a
//! temporary socket with in-memory sources: each command's happy path and
//! its error path (one line on stderr, non-zero exit).

use control::api::{ApiConfig, TcpConfig};
use control::testkit::{Fakes, TestServer};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

struct Setup {
    fakes: Fakes,
    server: TestServer,
    dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let fakes = Fakes::demo();
    let server = TestServer::start(
        ApiConfig::unix(dir.path().join("api.sock")),
        fakes.sources(),
    )
    .unwrap();
    Setup { fakes, server, dir }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn clearctl_at(socket: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_clearctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("CLEARCTL_URL")
        .output()
        .expect("clearctl runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

impl Setup {
    fn run(&self, args: &[&str]) -> Run {
        clearctl_at(&self.server.socket, args)
    }
    /// Runs a command that must succeed; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "{args:?} failed: {}", r.stderr);
        r.stdout
    }
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }
    /// Runs a command that must fail with `code`; returns its one stderr line.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, code,
            "{args:?}: stdout {} stderr {}",
            r.stdout, r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
        r.stderr
    }
}

#[test]
fn status_prints_a_summary_and_json() {
    let s = setup();
    let human = s.ok(&["status"]);
    assert!(human.contains("version"), "{human}");
    assert!(human.contains("demo0"), "{human}");
    let j = s.json(&["status"]);
    assert_eq!(j["participants"], 2);
    assert_eq!(j["window"]["number"], 1);
}

#[test]
fn without_a_daemon_the_error_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let r = clearctl_at(&dir.path().join("none.sock"), &["status"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("is clearwayd running"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn onboarding_a_participant() {
    let s = setup();
    let out = s.ok(&[
        "participants",
        "add",
        "bank-c",
        "--role",
        "issuer",
        "--source",
        "10.99.0.30:9100",
        "--institution-id",
        "77003",
        "--next-hop-mac",
        "02:00:00:00:00:30",
        "--timeout-ms",
        "2000",
        "--suspended",
    ]);
    assert!(out.contains("added bank-c"), "{out}");
    let list = s.ok(&["participants", "list"]);
    assert!(
        list.lines()
            .any(|l| l.contains("bank-c") && l.contains("suspended")),
        "{list}"
    );
    s.ok(&["routes", "add", "510000", "bank-c"]);
    s.ok(&["participants", "resume", "bank-c"]);
    let shown = s.json(&["participants", "show", "bank-c"]);
    assert_eq!(shown["spec"]["suspended"], false);
    assert_eq!(shown["routes"], 1);
    let rev = shown["revision"].as_u64().unwrap().to_string();
    s.ok(&[
        "participants",
        "update",
        "bank-c",
        "--timeout-ms",
        "2500",
        "--if-revision",
        &rev,
    ]);
    let err = s.fails(
        &[
            "participants",
            "update",
            "bank-c",
            "--timeout-ms",
            "3000",
            "--if-revision",
            &rev,
        ],
        1,
    );
    assert!(err.contains("show it again and retry"), "{err}");
    s.ok(&["participants", "suspend", "bank-c"]);
    assert!(s.fakes.control.published().load().participants()[2].suspended);
}

#[test]
fn participant_mistakes_are_one_line_errors() {
    let s = setup();
    let err = s.fails(&["participants", "show", "nobody"], 1);
    assert!(err.contains("clearctl participants list"), "{err}");
    let err = s.fails(
        &[
            "participants",
            "add",
            "bank-a",
            "--role",
            "acquirer",
            "--source",
            "10.0.0.1:1",
        ],
        1,
    );
    assert!(err.contains("exists"), "{err}");
    let err = s.fails(
        &[
            "participants",
            "add",
            "bank-z",
            "--role",
            "acquirer",
            "--source",
            "10.0.0.1",
        ],
        1,
    );
    assert!(err.contains("sources"), "{err}");
    let err = s.fails(&["participants", "update", "bank-a"], 1);
    assert!(err.contains("nothing to change"), "{err}");
    // A clap usage error: exit 2.
    let r = s.run(&[
        "participants",
        "add",
        "bank-z",
        "--role",
        "king",
        "--source",
        "1.1.1.1:1",
    ]);
    assert_eq!(r.code, 2);
}

#[test]
fn loading_a_bin_table() {
    let s = setup();
    let csv = s.dir.path().join("bins.csv");
    let mut text = String::from("prefix,participant\n");
    for i in 0..1000 {
        text.push_str(&format!("4{:05},bank-b\n", i));
    }
    std::fs::write(&csv, text).unwrap();
    let out = s.ok(&["routes", "import", csv.to_str().unwrap()]);
    assert!(out.starts_with("imported 1000 routes"), "{out}");
    let page = s.json(&["routes", "list", "--limit", "10"]);
    assert_eq!(page.as_array().unwrap().len(), 10);
    let all = s.ok(&["routes", "list", "--all", "--limit", "300", "--csv"]);
    assert_eq!(all.lines().count(), 1000);
    assert_eq!(all.lines().next(), Some("400000,bank-b"));
    s.ok(&["routes", "del", "400000"]);
    let err = s.fails(&["routes", "del", "400000"], 1);
    assert!(err.contains("no route for prefix"), "{err}");
    std::fs::write(&csv, "400000,bank-b\n41,nobody\n").unwrap();
    let err = s.fails(&["routes", "import", csv.to_str().unwrap()], 1);
    assert!(err.contains("line 2"), "{err}");
    let err = s.fails(&["routes", "import", "/no/such.csv"], 1);
    assert!(err.contains("check the path"), "{err}");
    let err = s.fails(&["routes", "add", "51", "bank-a"], 1);
    assert!(err.contains("not an issuer"), "{err}");
}

#[test]
fn reserve_changes_need_a_reason() {
    let s = setup();
    let list = s.ok(&["accounts", "list"]);
    assert!(
        list.contains("AVAILABLE") && list.contains("bank-a"),
        "{list}"
    );
    let a = s.json(&[
        "accounts", "deposit", "bank-a", "5000", "--reason", "top-up",
    ]);
    assert_eq!(a["reserve_balance"], 1_005_000);
    let r = s.run(&["accounts", "deposit", "bank-a", "5000"]);
    assert_eq!(r.code, 2, "--reason is required");
    let err = s.fails(&["accounts", "withdraw", "bank-a", "0", "--reason", "x"], 1);
    assert!(err.contains("above 0"), "{err}");
    let err = s.fails(
        &[
            "accounts", "withdraw", "bank-a", "99999999", "--reason", "x",
        ],
        1,
    );
    assert!(err.contains("below zero"), "{err}");
    let err = s.fails(&["accounts", "show", "nobody"], 1);
    assert!(err.contains("accounts list"), "{err}");
    let a = s.json(&[
        "accounts",
        "set-limit",
        "bank-a",
        "net-debit-cap",
        "0",
        "--reason",
        "review",
    ]);
    assert_eq!(a["net_debit_cap"], 0);
    let shown = s.json(&["accounts", "show", "bank-a"]);
    assert_eq!(shown[0]["available"], 1_005_000);
    assert_eq!(s.fakes.money.journal().len(), 2);
}

#[test]
fn a_cutoff_and_its_settlement_files() {
    let s = setup();
    s.fakes.money.transfer("bank-a", "bank-b", 978, 700);
    let err = s.fails(&["settlement", "show", "1"], 1);
    assert!(err.contains("clearctl cutoff"), "{err}");
    let out = s.ok(&["cutoff"]);
    assert!(out.contains("closed window 1"), "{out}");
    let windows = s.json(&["windows", "list"]);
    assert_eq!(windows[0]["number"], 2);
    let shown = s.ok(&["windows", "show", "1"]);
    assert!(
        shown.contains("settled") && shown.contains("-700"),
        "{shown}"
    );
    let settled = s.json(&["settlement", "show", "1"]);
    assert_eq!(settled["positions"][0]["debit"], 700);
    let out_dir = s.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let dir = out_dir.to_str().unwrap();
    let out = s.ok(&["settlement", "export", "1", "--out", dir]);
    assert_eq!(out.lines().count(), 2, "{out}");
    let csv = std::fs::read_to_string(out_dir.join("settlement-000001.csv")).unwrap();
    assert!(csv.contains("bank-b,978,0,700,700,0"), "{csv}");
    // Re-running is fine (identical bytes); a tampered file is not overwritten.
    s.ok(&["settlement", "export", "1", "--out", dir]);
    std::fs::write(out_dir.join("settlement-000001.csv"), "edited").unwrap();
    let err = s.fails(&["settlement", "export", "1", "--out", dir], 1);
    assert!(err.contains("different contents"), "{err}");
    let err = s.fails(&["windows", "show", "42"], 1);
    assert!(err.contains("windows list"), "{err}");
}

#[test]
fn stats_watch_prints_per_second_rates() {
    let s = setup();
    let status = s.fakes.status.clone();
    let traffic = std::thread::spawn(move || {
        for _ in 0..30 {
            status.traffic(|w| {
                w.add(switch::counters::Event::Rx, 100);
                w.response(switch::counters::ResponseCode::Approved);
            });
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    });
    let lines: Vec<Value> = s
        .ok(&["--json", "stats", "--watch", "--count", "2"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    traffic.join().unwrap();
    assert_eq!(lines.len(), 2);
    assert!(
        lines.iter().any(|l| l["rx"].as_u64().unwrap() > 0),
        "{lines:?}"
    );
    let human = s.ok(&["stats", "--watch", "--count", "1"]);
    assert!(human.starts_with(&format!("{:>11}", "RX/S")), "{human}");
    let totals = s.ok(&["stats"]);
    assert!(totals.contains("rx"), "{totals}");
}

#[test]
fn tcp_needs_the_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "fedcba9876543210fedcba9876543210\n").unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "0000000000000000000000000000000").unwrap();
    let fakes = Fakes::demo();
    let server = TestServer::start(
        ApiConfig {
            socket: dir.path().join("api.sock"),
            socket_mode: 0o600,
            tcp: Some(TcpConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                token_file: token.clone(),
            }),
        },
        fakes.sources(),
    )
    .unwrap();
    let url = format!("http://{}", server.tcp.unwrap());
    let run = |extra: &[&str]| {
        let mut args = vec!["--url", url.as_str()];
        args.extend_from_slice(extra);
        args.push("status");
        clearctl_at(Path::new("/nonexistent"), &args)
    };
    let r = run(&[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--token-file"), "{}", r.stderr);
    let r = run(&["--token-file", wrong.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    let r = run(&["--token-file", token.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = clearctl_at(Path::new("/x"), &["--url", "https://host:1", "status"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("http://"), "{}", r.stderr);
}

#[test]
fn completions_are_generated_for_bash() {
    let r = clearctl_at(Path::new("/x"), &["completions", "bash"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("clearctl") && r.stdout.contains("participants"));
}
