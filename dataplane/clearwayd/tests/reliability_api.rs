//! Reliability group, the operator API hammered with bad requests while
//! traffic runs through a real clearwayd: malformed JSON, wrong shapes,
//! unknown ids, a huge body and a huge header, wrong methods and paths,
//! garbage bytes, unauthenticated and wrongly authenticated TCP. Every
//! refusal is a 4xx with a JSON error body (or, for oversize or garbage
//! input, the connection closed), clearwayd keeps running, and no
//! transaction is lost.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;
mod faultlab;

use faultlab::http::{self, Reply};
use faultlab::issuer::Behaviour;
use faultlab::lab::LabOptions;
use faultlab::{netns, Run};

/// One bad request: what it is, how it is sent, and whether it is refused
/// below the API (by the HTTP layer: a bare 4xx without a JSON body, or the
/// connection closed, is then the right answer).
struct Bad {
    what: &'static str,
    tcp: bool,
    bytes: Vec<u8>,
    transport: bool,
}

fn bad_requests(token: &str) -> Vec<Bad> {
    let j = |m: &str, p: &str, b: &[u8]| {
        http::request(m, p, &[("Content-Type", "application/json")], b)
    };
    let bad = |what, bytes| Bad {
        what,
        tcp: false,
        bytes,
        transport: false,
    };
    let wrong_token = format!("Bearer {token}x");
    vec![
        bad(
            "malformed JSON",
            j("POST", "/v1/participants", b"{\"id\": "),
        ),
        bad(
            "JSON of the wrong shape",
            j("POST", "/v1/participants", b"[1,2,3]"),
        ),
        bad(
            "unknown participant",
            j("GET", "/v1/participants/no-such-bank", b""),
        ),
        bad(
            "unknown account",
            j("GET", "/v1/accounts/no-such-bank", b""),
        ),
        bad(
            "suspend an unknown participant",
            j("POST", "/v1/participants/ghost/suspend", b""),
        ),
        bad(
            "deposit of a non-number",
            j(
                "POST",
                "/v1/accounts/acq/deposit",
                b"{\"amount\": \"lots\"}",
            ),
        ),
        bad(
            "window number not a number",
            j("GET", "/v1/windows/notanumber", b""),
        ),
        bad(
            "settlement of an unknown window",
            j("GET", "/v1/settlement/999999", b""),
        ),
        bad(
            "delete a route that does not exist",
            j("DELETE", "/v1/routes/123456789", b""),
        ),
        bad("DELETE on status", j("DELETE", "/v1/status", b"")),
        bad("PUT on metrics", j("PUT", "/metrics", b"")),
        bad("unknown path", j("GET", "/v1/no/such/path", b"")),
        Bad {
            what: "a 2 MiB body",
            tcp: false,
            bytes: j("POST", "/v1/participants", &vec![b'{'; 2 << 20]),
            transport: true,
        },
        Bad {
            what: "a 1 MiB header",
            tcp: false,
            bytes: http::request(
                "GET",
                "/v1/status",
                &[("X-Filler", &"a".repeat(1 << 20))],
                b"",
            ),
            transport: true,
        },
        Bad {
            what: "garbage bytes",
            tcp: false,
            bytes: b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n".to_vec(),
            transport: true,
        },
        Bad {
            what: "TCP without a token",
            tcp: true,
            bytes: j("GET", "/v1/status", b""),
            transport: false,
        },
        Bad {
            what: "TCP with a wrong token",
            tcp: true,
            bytes: http::request(
                "GET",
                "/v1/accounts",
                &[("Authorization", &wrong_token)],
                b"",
            ),
            transport: false,
        },
    ]
}

fn send(b: &Bad, socket: &PathBuf, tcp: &str) -> Reply {
    if b.tcp {
        let mut s = TcpStream::connect(tcp).expect("the API's TCP listener");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        http::raw(&mut s, &b.bytes)
    } else {
        let mut s = UnixStream::connect(socket).expect("the API's unix socket");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        http::raw(&mut s, &b.bytes)
    }
}

/// What is wrong with the answer to `b`, if anything.
fn judge(b: &Bad, r: &Reply) -> Option<String> {
    if r.status == 0 {
        return (!b.transport).then(|| format!("{}: connection closed without an answer", b.what));
    }
    if !(400..500).contains(&r.status) {
        return Some(format!(
            "{}: status {} (want 4xx): {}",
            b.what, r.status, r.body
        ));
    }
    if b.transport {
        return None;
    }
    let json = serde_json::from_str::<serde_json::Value>(&r.body)
        .ok()
        .filter(|v| v.get("error").is_some());
    json.is_none().then(|| {
        format!(
            "{}: {} without a JSON error body: {:?}",
            b.what, r.status, r.body
        )
    })
}

#[test]
fn api_hammered_with_bad_requests_while_traffic_runs_loses_nothing() {
    if !netns::inside() {
        return netns::run_inside(
            "api_hammered_with_bad_requests_while_traffic_runs_loses_nothing",
            &[],
        );
    }
    let mut opts = LabOptions::new("api_hammered");
    opts.tcp_api = true;
    let mut run = Run::start(
        opts,
        Behaviour::Healthy,
        "17 kinds of bad API request in a loop (malformed JSON, unknown ids, 2 MiB body, 1 MiB header, bad methods/paths, garbage, unauthenticated TCP) during traffic",
    );
    let (tcp, token) = run.lab.tcp.clone().expect("TCP API on");
    let socket = run.lab.api.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let hammer = std::thread::spawn(move || {
        let bad = bad_requests(&token);
        let (mut sent, mut wrong) = (0u64, Vec::new());
        let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
        while !s.load(Ordering::Relaxed) {
            for b in &bad {
                let r = send(b, &socket, &tcp);
                sent += 1;
                *statuses.entry(r.status).or_default() += 1;
                if let Some(w) = judge(b, &r) {
                    if wrong.len() < 20 {
                        wrong.push(w);
                    }
                }
            }
        }
        (sent, wrong, statuses)
    });
    let stans = run.acq.send(2000, 700);
    stop.store(true, Ordering::Relaxed);
    let (bad_sent, wrong, statuses) = hammer.join().unwrap();
    run.drain(Duration::from_secs(3), Duration::from_millis(300));
    let alive = http::unix(&run.lab.api, "GET", "/v1/status", b"");
    let acq = run.acq.log();
    let row = &mut run.row;
    row.faults_injected = bad_sent;
    row.expect(
        alive.status == 200,
        format!("clearwayd's API still answers: {alive:?}"),
    );
    for w in wrong {
        row.problem(w);
    }
    row.expect(
        acq.with_code("00").len() == stans.len(),
        format!(
            "all {} approved, got {}",
            stans.len(),
            acq.with_code("00").len()
        ),
    );
    row.notes = format!("{bad_sent} bad API requests, answers by status {statuses:?}; ");
    run.finish(&BTreeSet::new());
}
