//! The API as clearctl and operators meet it: a `ControlPlane` over the
//! in-memory fakes, served on a temporary Unix socket (and TCP with a
//! token), spoken to with the real client.

use control::api::{ApiConfig, TcpConfig};
use control::client::{Client, ClientError, Endpoint, RawResponse};
use control::testkit::{Fakes, TestServer};
use control::types::*;
use hyper::Method;
use std::os::unix::fs::PermissionsExt;
use switch::routes::Route;

struct Setup {
    fakes: Fakes,
    client: Client,
    server: TestServer,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let fakes = Fakes::demo();
    let server = TestServer::start(
        ApiConfig::unix(dir.path().join("api.sock")),
        fakes.sources(),
    )
    .expect("API starts");
    let client = Client::new(Endpoint::Unix(server.socket.clone())).unwrap();
    Setup {
        fakes,
        client,
        server,
        _dir: dir,
    }
}

fn json(body: &str) -> Option<(Vec<u8>, &'static str)> {
    Some((body.as_bytes().to_vec(), "application/json"))
}

/// Status and error document of an answer that must be an error.
fn error_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (u16, String, String) {
    match r {
        Err(ClientError::Api {
            status,
            code,
            message,
        }) => (status, code, message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn raw(c: &Client, method: Method, path: &str, body: Option<&[u8]>) -> RawResponse {
    c.raw(
        method,
        path,
        body.map(<[u8]>::to_vec),
        Some("application/json"),
    )
    .unwrap()
}

fn new_issuer(id: &str, source: &str) -> ParticipantSpec {
    ParticipantSpec {
        id: id.into(),
        roles: vec![Role::Issuer],
        institution_ids: vec![],
        sources: vec![source.into()],
        next_hop: None,
        next_hop_mac: None,
        timeout_ms: Some(3000),
        suspended: false,
        rate_limit: None,
        mac: None,
    }
}

fn pan_route(s: &Setup, pan: &str) -> Option<String> {
    let snap = s.fakes.control.published().load_full();
    match snap.route(None, Some(pan.as_bytes())) {
        Route::Issuer(idx) => Some(snap.participant(idx).unwrap().id.clone()),
        _ => None,
    }
}

#[test]
fn the_socket_is_private_to_the_daemon_user() {
    let s = setup();
    let mode = std::fs::metadata(&s.server.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn status_reports_version_ports_lcores_and_the_open_window() {
    let s = setup();
    let st: StatusReport = s.client.get("/v1/status").unwrap();
    assert_eq!(st.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(st.ports[0].name, "demo0");
    assert!(st.ports[0].link_up);
    assert_eq!(st.lcores.len(), 1);
    assert_eq!(st.participants, 2);
    assert_eq!(st.routes, 1);
    assert_eq!(st.window.unwrap().number, 1);
    assert!(!st.journal.failed);
}

#[test]
fn status_names_a_failed_journal_and_its_remedy() {
    let s = setup();
    let why = "journal fdatasync failed on /j/00000001.seg: Input/output error. …";
    s.fakes.journal.set(control::sources::JournalFigures {
        failed: true,
        failure: Some(why.into()),
        ..Default::default()
    });
    let st: StatusReport = s.client.get("/v1/status").unwrap();
    assert!(st.journal.failed);
    assert_eq!(st.journal.failure.as_deref(), Some(why));
}

#[test]
fn adding_a_participant_journals_it_and_publishes_a_new_snapshot() {
    let s = setup();
    let before = s.fakes.control.version();
    let p: Published = s
        .client
        .send(
            Method::POST,
            "/v1/participants",
            &new_issuer("bank-c", "10.99.0.30:9100"),
        )
        .unwrap();
    assert_eq!(p.version, before + 1);
    let snap = s.fakes.control.published().load_full();
    assert_eq!(
        snap.participants()[2].id,
        "bank-c",
        "appended at the next index"
    );
    assert_eq!(
        snap.sender("10.99.0.30".parse().unwrap(), 9100)
            .map(|i| i.0),
        Some(2)
    );
    let records = s.fakes.log.records();
    assert!(records.last().unwrap().contains("\"participant_added\""));
    let shown: ParticipantView = s.client.get("/v1/participants/bank-c").unwrap();
    assert_eq!((shown.index, shown.revision), (2, 1));
}

#[test]
fn adding_an_existing_id_or_a_claimed_source_is_a_conflict() {
    let s = setup();
    let (status, code, msg) = error_of(s.client.send::<_, Published>(
        Method::POST,
        "/v1/participants",
        &new_issuer("bank-b", "10.99.0.31:9100"),
    ));
    assert_eq!((status, code.as_str()), (409, "conflict"));
    assert!(msg.contains("participants update"), "{msg}");
    let (status, _, msg) = error_of(s.client.send::<_, Published>(
        Method::POST,
        "/v1/participants",
        &new_issuer("bank-c", "10.99.0.20:9100"),
    ));
    assert_eq!(status, 409);
    assert!(
        msg.contains("already claimed by participant bank-b"),
        "{msg}"
    );
    assert_eq!(s.fakes.log.records().len(), 0, "nothing journaled");
}

#[test]
fn malformed_participant_documents_are_400_with_the_field_named() {
    let s = setup();
    for (body, needle) in [
        ("{", "not the expected JSON"),
        ("[]", "not the expected JSON"),
        (
            r#"{"id":"x","roles":["issuer"],"sources":["1.2.3.4:5"],"colour":"red"}"#,
            "colour",
        ),
        (
            r#"{"id":"x","roles":["king"],"sources":["1.2.3.4:5"]}"#,
            "king",
        ),
        (
            r#"{"id":"x","roles":["issuer"],"sources":["1.2.3.4"]}"#,
            "sources",
        ),
        (
            r#"{"id":"bad id","roles":["issuer"],"sources":["1.2.3.4:5"]}"#,
            "id",
        ),
        (
            r#"{"id":"x","roles":["acquirer"],"institution_ids":["12a"],"sources":["1.2.3.4:5"]}"#,
            "institution",
        ),
    ] {
        let (status, code, msg) = error_of(s.client.call::<Published>(
            Method::POST,
            "/v1/participants",
            json(body),
        ));
        assert_eq!((status, code.as_str()), (400, "bad_request"), "{body}");
        assert!(msg.contains(needle), "{body}: {msg}");
    }
}

#[test]
fn unknown_participants_are_404_on_every_verb() {
    let s = setup();
    for (method, path, body) in [
        (Method::GET, "/v1/participants/nobody", None),
        (Method::PATCH, "/v1/participants/nobody", Some("{}")),
        (Method::POST, "/v1/participants/nobody/suspend", None),
        (Method::POST, "/v1/participants/nobody/resume", None),
    ] {
        let r = raw(&s.client, method.clone(), path, body.map(str::as_bytes));
        assert_eq!(r.status, 404, "{method} {path}");
        let e: ErrorBody = serde_json::from_slice(&r.body).unwrap();
        assert!(e.error.message.contains("clearctl participants list"));
    }
}

#[test]
fn an_update_from_a_stale_revision_is_refused() {
    let s = setup();
    let v: ParticipantView = s.client.get("/v1/participants/bank-b").unwrap();
    let patch = ParticipantPatch {
        timeout_ms: Some(2500),
        if_revision: Some(v.revision),
        ..Default::default()
    };
    s.client
        .send::<_, Published>(Method::PATCH, "/v1/participants/bank-b", &patch)
        .unwrap();
    let after: ParticipantView = s.client.get("/v1/participants/bank-b").unwrap();
    assert_eq!(after.spec.timeout_ms, Some(2500));
    assert_eq!(after.revision, v.revision + 1);
    // The same patch again carries the old revision: someone changed it since.
    let (status, _, msg) = error_of(s.client.send::<_, Published>(
        Method::PATCH,
        "/v1/participants/bank-b",
        &patch,
    ));
    assert_eq!(status, 409);
    assert!(msg.contains("show it again and retry"), "{msg}");
}

#[test]
fn an_issuer_with_routes_cannot_drop_its_issuer_role() {
    let s = setup();
    let patch = ParticipantPatch {
        roles: Some(vec![Role::Acquirer]),
        institution_ids: Some(vec![]),
        ..Default::default()
    };
    let (status, _, msg) = error_of(s.client.send::<_, Published>(
        Method::PATCH,
        "/v1/participants/bank-b",
        &patch,
    ));
    assert_eq!(status, 409);
    assert!(msg.contains("delete its routes first"), "{msg}");
}

#[test]
fn suspend_and_resume_reach_the_switch_snapshot() {
    let s = setup();
    let reader = s.fakes.control.published();
    let held = reader.load_full(); // an lcore mid-burst
    s.client
        .call::<Published>(Method::POST, "/v1/participants/bank-a/suspend", None)
        .unwrap();
    assert!(
        !held.participants()[0].suspended,
        "a burst keeps its snapshot"
    );
    assert!(
        reader.load().participants()[0].suspended,
        "the next burst sees it"
    );
    // Suspending again changes nothing and journals nothing.
    let n = s.fakes.log.records().len();
    s.client
        .call::<Published>(Method::POST, "/v1/participants/bank-a/suspend", None)
        .unwrap();
    assert_eq!(s.fakes.log.records().len(), n);
    s.client
        .call::<Published>(Method::POST, "/v1/participants/bank-a/resume", None)
        .unwrap();
    assert!(!reader.load().participants()[0].suspended);
    let v: ParticipantView = s.client.get("/v1/participants/bank-a").unwrap();
    assert!(!v.spec.suspended);
}

#[test]
fn a_change_the_journal_refuses_is_not_applied() {
    let s = setup();
    let version = s.fakes.control.version();
    s.fakes.log.fail(true);
    let (status, code, msg) = error_of(s.client.call::<Published>(
        Method::POST,
        "/v1/participants/bank-a/suspend",
        None,
    ));
    assert_eq!((status, code.as_str()), (503, "unavailable"));
    assert!(msg.contains("nothing was applied"), "{msg}");
    assert_eq!(s.fakes.control.version(), version);
    let v: ParticipantView = s.client.get("/v1/participants/bank-a").unwrap();
    assert!(!v.spec.suspended);
}

#[test]
fn routes_are_added_listed_and_deleted() {
    let s = setup();
    assert_eq!(pan_route(&s, "5100000000000000"), None);
    let row = RouteRow {
        prefix: "510000".into(),
        participant: "bank-b".into(),
    };
    s.client
        .send::<_, Published>(Method::POST, "/v1/routes", &row)
        .unwrap();
    assert_eq!(pan_route(&s, "5100000000000000").as_deref(), Some("bank-b"));
    // Adding the same route again is a no-op; elsewhere it is a conflict.
    s.client
        .send::<_, Published>(Method::POST, "/v1/routes", &row)
        .unwrap();
    s.client
        .send::<_, Published>(
            Method::POST,
            "/v1/participants",
            &new_issuer("bank-c", "10.99.0.30:9100"),
        )
        .unwrap();
    let other = RouteRow {
        prefix: "510000".into(),
        participant: "bank-c".into(),
    };
    let (status, _, msg) = error_of(s.client.send::<_, Published>(
        Method::POST,
        "/v1/routes",
        &other,
    ));
    assert_eq!(status, 409);
    assert!(msg.contains("already routes to bank-b"), "{msg}");

    let page: RoutePage = s.client.get("/v1/routes?limit=1").unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.routes[0].prefix, "476173");
    let next = page.next.unwrap();
    let page2: RoutePage = s
        .client
        .get(&format!("/v1/routes?limit=1&after={next}"))
        .unwrap();
    assert_eq!(page2.routes[0].prefix, "510000");
    assert_eq!(page2.next, None);

    s.client
        .call::<Published>(Method::DELETE, "/v1/routes/510000", None)
        .unwrap();
    assert_eq!(pan_route(&s, "5100000000000000"), None);
    let (status, _, _) = error_of(s.client.call::<Published>(
        Method::DELETE,
        "/v1/routes/510000",
        None,
    ));
    assert_eq!(status, 404);
}

#[test]
fn bad_routes_are_refused_with_the_reason() {
    let s = setup();
    for (prefix, participant, status, needle) in [
        ("51", "nobody", 404, "not found"),
        ("5", "bank-b", 400, "2-19 digits"),
        ("51x", "bank-b", 400, "2-19 digits"),
        ("51", "bank-a", 400, "not an issuer"),
    ] {
        let row = RouteRow {
            prefix: prefix.into(),
            participant: participant.into(),
        };
        let (got, _, msg) = error_of(s.client.send::<_, Published>(
            Method::POST,
            "/v1/routes",
            &row,
        ));
        assert_eq!(got, status, "{prefix},{participant}: {msg}");
        assert!(msg.contains(needle), "{msg}");
    }
    let (status, _, _) = error_of(s.client.get::<RoutePage>("/v1/routes?limit=abc"));
    assert_eq!(status, 400);
    let (status, _, _) = error_of(s.client.get::<RoutePage>("/v1/routes?participant=nobody"));
    assert_eq!(status, 404);
}

fn import(c: &Client, csv: &str) -> Result<ImportOutcome, ClientError> {
    c.call(
        Method::PUT,
        "/v1/routes",
        Some((csv.as_bytes().to_vec(), "text/csv")),
    )
}

#[test]
fn an_import_replaces_the_whole_table_in_one_publish() {
    let s = setup();
    let before = s.fakes.control.version();
    let out = import(
        &s.client,
        "prefix,participant\n400000,bank-b\n\n510000,bank-b\r\n400000,bank-b\n",
    )
    .unwrap();
    assert_eq!(
        out.rows, 2,
        "header, blank line and exact repeat are skipped"
    );
    assert_eq!(out.version, before + 1);
    assert_eq!(
        pan_route(&s, "4761730000000000"),
        None,
        "the old table is gone"
    );
    assert_eq!(pan_route(&s, "4000001234567890").as_deref(), Some("bank-b"));
    assert_eq!(
        out.crc32c,
        crc32c::crc32c(b"400000,bank-b\n510000,bank-b\n"),
        "checksum of the canonical table"
    );
    assert!(s
        .fakes
        .log
        .records()
        .last()
        .unwrap()
        .contains("routes_replaced"));
}

#[test]
fn a_bad_import_line_changes_nothing_and_names_the_line() {
    let s = setup();
    let version = s.fakes.control.version();
    for (csv, line, needle) in [
        ("400000,bank-b\n41,nobody\n", 2, "does not exist"),
        ("400000,bank-b\n400000\n", 2, "not `prefix,participant`"),
        ("400000,bank-b,x\n", 1, "more than two columns"),
        ("4x0000,bank-b\n", 1, "digits"),
        ("400000,bank-b\n410000,bank-a\n", 2, "not an issuer"),
    ] {
        let (status, _, msg) = error_of(import(&s.client, csv));
        assert_eq!(status, 400, "{csv:?}");
        assert!(msg.starts_with(&format!("line {line}:")), "{csv:?}: {msg}");
        assert!(msg.contains(needle), "{csv:?}: {msg}");
    }
    s.client
        .send::<_, Published>(
            Method::POST,
            "/v1/participants",
            &new_issuer("bank-c", "10.99.0.30:9100"),
        )
        .unwrap();
    let (status, _, msg) = error_of(import(&s.client, "400000,bank-b\n400000,bank-c\n"));
    assert_eq!(status, 400);
    assert!(msg.contains("routed differently on line 1"), "{msg}");
    let (status, _, _) = error_of(import(&s.client, "\u{0}\u{1}\u{ff}"));
    assert_eq!(status, 400);
    assert_eq!(
        s.fakes.control.version(),
        version + 1,
        "only the participant add published"
    );
    assert_eq!(pan_route(&s, "4761730000000000").as_deref(), Some("bank-b"));
}

#[test]
fn a_million_row_import_swaps_atomically_under_concurrent_lookups() {
    let s = setup();
    let mut csv = String::with_capacity(16_000_000);
    // 476173 stays routed in old and new table; 10^6 eight-digit prefixes
    // under 3xxxxxxx are new.
    csv.push_str("476173,bank-b\n");
    for i in 0..1_000_000u32 {
        csv.push_str(&format!("3{:07},bank-b\n", i));
    }
    let published = s.fakes.control.published();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (published, stop) = (published.clone(), stop.clone());
        // An lcore: a lookup per "burst" during the import; the route that
        // both tables carry must never be missing.
        std::thread::spawn(move || {
            let mut lookups = 0u64;
            let mut versions = std::collections::BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let snap = published.load();
                versions.insert(snap.version());
                assert!(matches!(
                    snap.route(None, Some(b"4761731234567890")),
                    Route::Issuer(_)
                ));
                lookups += 1;
            }
            (lookups, versions)
        })
    };
    let started = std::time::Instant::now();
    let out = import(&s.client, &csv).unwrap();
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (lookups, versions) = reader.join().expect("no lookup ever missed the route");
    assert_eq!(out.rows, 1_000_001);
    assert_eq!(pan_route(&s, "3099999900000000").as_deref(), Some("bank-b"));
    assert_eq!(pan_route(&s, "3999999900000000"), None);
    assert!(versions.len() <= 2, "one swap: {versions:?}");
    let st: StatusReport = s.client.get("/v1/status").unwrap();
    assert_eq!(st.routes, 1_000_001);
    println!(
        "route import: 1,000,001 rows ({} MB CSV) in {:.2} s end to end, {} ms in the control plane; {lookups} concurrent lookups, none missed",
        csv.len() >> 20,
        took.as_secs_f64(),
        out.took_ms
    );
}

#[test]
fn accounts_move_only_with_a_reason_and_within_available() {
    let s = setup();
    let all: Vec<Account> = s.client.get("/v1/accounts").unwrap();
    assert_eq!(all.len(), 2);
    let dep = ReserveChange {
        currency: None,
        amount: 250_000,
        reason: "top-up before weekend".into(),
    };
    let a: Account = s
        .client
        .send(Method::POST, "/v1/accounts/bank-a/deposit", &dep)
        .unwrap();
    assert_eq!(a.reserve_balance, 1_250_000);
    assert_eq!(a.available, 1_750_000);
    assert!(s.fakes.money.journal()[0].contains("top-up before weekend"));

    let too_much = ReserveChange {
        amount: 10_000_000,
        reason: "mistake".into(),
        ..dep.clone()
    };
    let (status, _, _) = error_of(s.client.send::<_, Account>(
        Method::POST,
        "/v1/accounts/bank-a/withdraw",
        &too_much,
    ));
    assert_eq!(status, 409);
    for body in [
        r#"{"amount":100,"reason":""}"#,
        r#"{"amount":-5,"reason":"x"}"#,
        r#"{"amount":0,"reason":"x"}"#,
        r#"{"amount":1.5,"reason":"x"}"#,
        r#"{"amount":100}"#,
    ] {
        let (status, _, _) = error_of(s.client.call::<Account>(
            Method::POST,
            "/v1/accounts/bank-a/deposit",
            json(body),
        ));
        assert_eq!(status, 400, "{body}");
    }
    let (status, _, _) = error_of(s.client.send::<_, Account>(
        Method::POST,
        "/v1/accounts/nobody/deposit",
        &dep,
    ));
    assert_eq!(status, 404);
    let limit = LimitChange {
        currency: Some(978),
        kind: LimitKind::NetDebitCap,
        amount: 0,
        reason: "risk review".into(),
    };
    let a: Account = s
        .client
        .send(Method::POST, "/v1/accounts/bank-a/limit", &limit)
        .unwrap();
    assert_eq!(a.available, 1_250_000);
    let shown: Vec<Account> = s.client.get("/v1/accounts/bank-a").unwrap();
    assert_eq!(shown[0].net_debit_cap, 0);
}

#[test]
fn a_cutoff_closes_the_window_and_settlement_files_follow() {
    let s = setup();
    s.fakes.money.transfer("bank-a", "bank-b", 978, 12_345);
    let (status, _, msg) = error_of(s.client.get::<WindowDetail>("/v1/settlement/1"));
    assert_eq!(status, 409, "window 1 is still open");
    assert!(msg.contains("clearctl cutoff"), "{msg}");
    let out: CutoffOutcome = s.client.call(Method::POST, "/v1/cutoff", None).unwrap();
    assert_eq!((out.closed, out.opened), (1, 2));
    let windows: Vec<WindowSummary> = s.client.get("/v1/windows").unwrap();
    assert_eq!(windows[0].number, 2);
    assert_eq!(windows[1].state, WindowState::Settled);
    let detail: WindowDetail = s.client.get("/v1/settlement/1").unwrap();
    assert_eq!(detail.positions.iter().map(|p| p.net).sum::<i64>(), 0);
    let files: SettlementFiles = s.client.get("/v1/settlement/1/files").unwrap();
    assert_eq!(files.files[0].name, "settlement-000001.csv");
    assert!(files.files[0]
        .contents
        .contains("bank-a,978,12345,0,-12345,0"));
    let again: SettlementFiles = s.client.get("/v1/settlement/1/files").unwrap();
    assert_eq!(files, again);
    for (path, status) in [
        ("/v1/windows/99", 404),
        ("/v1/windows/abc", 400),
        ("/v1/settlement/-1/files", 400),
        ("/v1/settlement/99/files", 404),
    ] {
        assert_eq!(
            raw(&s.client, Method::GET, path, None).status,
            status,
            "{path}"
        );
    }
}

#[test]
fn anything_a_client_sends_gets_a_json_answer_and_the_server_stays_up() {
    let s = setup();
    for (method, path, body, status) in [
        (Method::GET, "/nowhere", None, 404),
        (Method::DELETE, "/v1/status", None, 405),
        (Method::GET, "/v1/participants/%ff%fe", None, 400),
        (
            Method::POST,
            "/v1/participants",
            Some(vec![0xffu8; 100]),
            400,
        ),
    ] {
        let r = s
            .client
            .raw(method.clone(), path, body, Some("application/json"))
            .unwrap();
        assert_eq!(r.status, status, "{method} {path}");
        let e: ErrorBody = serde_json::from_slice(&r.body).unwrap_or_else(|_| {
            panic!(
                "{method} {path}: not JSON: {:?}",
                String::from_utf8_lossy(&r.body)
            )
        });
        assert!(!e.error.message.is_empty());
    }
    // An oversize body is refused with 413 — or, when the server answers
    // and closes before the client has finished writing the megabyte, the
    // client sees the connection closed mid-body. Either way the server is
    // not harmed (checked below).
    match s.client.raw(
        Method::POST,
        "/v1/participants",
        Some(vec![b'x'; 1 << 20]),
        Some("application/json"),
    ) {
        Ok(r) => assert_eq!(r.status, 413, "oversize body"),
        Err(e) => assert!(
            e.to_string().contains("writing a body"),
            "oversize body: {e}"
        ),
    }
    // Raw garbage on the socket, then a normal request still works.
    {
        use std::io::{Read, Write};
        let mut sock = std::os::unix::net::UnixStream::connect(&s.server.socket).unwrap();
        sock.write_all(b"\x00\x01GARBAGE / HTTP/9\r\n\r\n").unwrap();
        let mut buf = Vec::new();
        let _ = sock.read_to_end(&mut buf);
    }
    let _: StatusReport = s.client.get("/v1/status").unwrap();
}

#[test]
fn tcp_requires_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let token = "0123456789abcdef0123456789abcdef";
    std::fs::write(dir.path().join("token"), format!("{token}\n")).unwrap();
    let fakes = Fakes::demo();
    let server = TestServer::start(
        ApiConfig {
            socket: dir.path().join("api.sock"),
            socket_mode: 0o600,
            tcp: Some(TcpConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                token_file: dir.path().join("token"),
            }),
        },
        fakes.sources(),
    )
    .unwrap();
    let addr = server.tcp.unwrap().to_string();
    for wrong in [None, Some("not-the-token-at-all-00000000000"), Some("")] {
        let c = Client::new(Endpoint::Tcp {
            addr: addr.clone(),
            token: wrong.map(str::to_owned),
        })
        .unwrap();
        let (status, code, msg) = error_of(c.get::<StatusReport>("/v1/status"));
        assert_eq!((status, code.as_str()), (401, "unauthorized"), "{wrong:?}");
        assert!(msg.contains("--token-file"));
        // Metrics are behind the token too.
        assert_eq!(raw(&c, Method::GET, "/metrics", None).status, 401);
    }
    let c = Client::new(Endpoint::Tcp {
        addr,
        token: Some(token.into()),
    })
    .unwrap();
    let st: StatusReport = c.get("/v1/status").unwrap();
    assert_eq!(st.participants, 2);
}

#[test]
fn a_short_or_missing_token_file_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "short").unwrap();
    for file in ["token", "missing"] {
        let cfg = ApiConfig {
            socket: dir.path().join("api.sock"),
            socket_mode: 0o600,
            tcp: Some(TcpConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                token_file: dir.path().join(file),
            }),
        };
        let err = TestServer::start(cfg, Fakes::demo().sources())
            .err()
            .unwrap();
        assert!(err.to_string().contains("token"), "{err}");
    }
}

#[test]
fn a_live_socket_is_not_stolen_by_a_second_daemon() {
    let s = setup();
    let err = TestServer::start(ApiConfig::unix(&s.server.socket), Fakes::demo().sources())
        .err()
        .unwrap();
    assert!(err.to_string().contains("in use"), "{err}");
}
