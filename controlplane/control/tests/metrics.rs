//! `/metrics` as Prometheus scrapes it: valid text format, every family the
//! operations guide names, and values that follow the sources.

use control::api::ApiConfig;
use control::client::{Client, Endpoint};
use control::sources::{JournalFigures, LatencyHistogram};
use control::testkit::{Fakes, TestServer};
use control::types::{LcoreStatus, PortStatus};
use hyper::Method;
use prometheus_parse::{Sample, Scrape, Value};
use switch::counters::{DropReason, Event, MtiClass, ResponseCode};

fn scrape(c: &Client) -> Scrape {
    let r = c.raw(Method::GET, "/metrics", None, None).unwrap();
    assert_eq!(r.status, 200);
    assert!(r
        .content_type
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(r.body).unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("valid Prometheus text format")
}

/// The value of `metric` whose labels include all of `labels`.
fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = s
        .samples
        .iter()
        .filter(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{metric} {labels:?}: {} samples",
        found.len()
    );
    match found[0].value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        ref other => panic!("{metric}: unexpected {other:?}"),
    }
}

fn setup() -> (Fakes, TestServer, Client, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let fakes = Fakes::demo();
    let server = TestServer::start(
        ApiConfig::unix(dir.path().join("api.sock")),
        fakes.sources(),
    )
    .unwrap();
    let client = Client::new(Endpoint::Unix(server.socket.clone())).unwrap();
    (fakes, server, client, dir)
}

#[test]
fn counters_move_with_traffic() {
    let (fakes, _server, client, _dir) = setup();
    let before = scrape(&client);
    assert_eq!(
        value(&before, "clearway_packets_total", &[("direction", "rx")]),
        0.0
    );
    fakes.status.traffic(|w| {
        w.add(Event::Rx, 3);
        w.add(Event::Tx, 2);
        w.mti(MtiClass::Financial0200);
        w.mti(MtiClass::Financial0200);
        w.response(ResponseCode::Approved);
        w.response(ResponseCode::IssuerUnavailable);
        w.dropped(DropReason::UnknownSender);
        w.add(Event::Timeouts, 1);
        w.add(Event::ReversalsSent, 1);
        w.set_pending(7);
    });
    let after = scrape(&client);
    assert_eq!(
        value(&after, "clearway_packets_total", &[("direction", "rx")]),
        3.0
    );
    assert_eq!(
        value(&after, "clearway_packets_total", &[("direction", "tx")]),
        2.0
    );
    assert_eq!(
        value(
            &after,
            "clearway_messages_received_total",
            &[("mti", "0200")]
        ),
        2.0
    );
    assert_eq!(
        value(&after, "clearway_responses_sent_total", &[("code", "00")]),
        1.0
    );
    assert_eq!(
        value(&after, "clearway_responses_sent_total", &[("code", "91")]),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "clearway_drops_total",
            &[("reason", "unknown_sender")]
        ),
        1.0
    );
    assert_eq!(
        value(&after, "clearway_drops_total", &[("reason", "dup")]),
        0.0
    );
    assert_eq!(value(&after, "clearway_pending", &[]), 7.0);
    assert_eq!(value(&after, "clearway_timeouts_total", &[]), 1.0);
    assert_eq!(
        value(&after, "clearway_reversals_total", &[("outcome", "sent")]),
        1.0
    );
}

#[test]
fn money_window_and_journal_figures_are_exported() {
    let (fakes, _server, client, _dir) = setup();
    fakes.money.transfer("bank-a", "bank-b", 978, 1_000);
    fakes.journal.set(JournalFigures {
        lag_records: 12,
        records: 1_000,
        bytes: 64_000,
        syncs: 10,
        sync_seconds: 0.02,
        failed: false,
        failure: None,
    });
    let s = scrape(&client);
    let a = [("participant", "bank-a"), ("currency", "978")];
    assert_eq!(value(&s, "clearway_net_position", &a), 1_000.0);
    assert_eq!(value(&s, "clearway_reserve_available", &a), 1_499_000.0);
    assert_eq!(
        value(&s, "clearway_net_position", &[("participant", "bank-b")]),
        -1_000.0
    );
    assert_eq!(value(&s, "clearway_window_number", &[]), 1.0);
    assert_eq!(value(&s, "clearway_journal_lag_records", &[]), 12.0);
    assert_eq!(value(&s, "clearway_journal_bytes_total", &[]), 64_000.0);
    assert_eq!(value(&s, "clearway_journal_sync_seconds_total", &[]), 0.02);
    assert_eq!(value(&s, "clearway_journal_failed", &[]), 0.0);
    assert!(
        !s.samples
            .iter()
            .any(|x| x.metric == "clearway_cutoff_duration_seconds"),
        "no cutoff yet, no series"
    );
    client
        .call::<control::types::CutoffOutcome>(Method::POST, "/v1/cutoff", None)
        .unwrap();
    let s = scrape(&client);
    assert_eq!(value(&s, "clearway_window_number", &[]), 2.0);
    assert!(value(&s, "clearway_cutoff_duration_seconds", &[]) > 0.0);
    assert_eq!(value(&s, "clearway_net_position", &a), 0.0);
}

#[test]
fn ports_xstats_lcores_and_latency_are_exported() {
    let (fakes, _server, client, _dir) = setup();
    fakes.status.set_ports(vec![PortStatus {
        name: "p0".into(),
        link_up: false,
        rx_packets: 10,
        rx_missed: 2,
        xstats: [("rx_good_packets".to_string(), 10u64)]
            .into_iter()
            .collect(),
        ..Default::default()
    }]);
    fakes.status.set_lcores(vec![LcoreStatus {
        lcore: 2,
        busy_polls: 1,
        idle_polls: 3,
    }]);
    fakes.status.set_latency(Some(LatencyHistogram {
        buckets: vec![(0.0001, 5), (0.001, 9)],
        count: 10,
        sum_seconds: 0.004,
    }));
    let s = scrape(&client);
    assert_eq!(value(&s, "clearway_port_link_up", &[("port", "p0")]), 0.0);
    assert_eq!(
        value(
            &s,
            "clearway_port_packets_total",
            &[("port", "p0"), ("direction", "rx")]
        ),
        10.0
    );
    assert_eq!(
        value(
            &s,
            "clearway_port_errors_total",
            &[("port", "p0"), ("kind", "rx_missed")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &s,
            "clearway_port_xstat",
            &[("port", "p0"), ("name", "rx_good_packets")]
        ),
        10.0
    );
    assert_eq!(
        value(&s, "clearway_lcore_busy_ratio", &[("lcore", "2")]),
        0.25
    );
    let hist = s
        .samples
        .iter()
        .find(|x| x.metric == "clearway_latency_seconds")
        .expect("latency histogram");
    match &hist.value {
        Value::Histogram(buckets) => {
            let counts: Vec<f64> = buckets.iter().map(|b| b.count).collect();
            assert_eq!(counts, vec![5.0, 9.0, 10.0], "cumulative, +Inf = count");
        }
        other => panic!("not a histogram: {other:?}"),
    }
}

#[test]
fn route_changes_show_in_the_routing_gauges() {
    let (_fakes, _server, client, _dir) = setup();
    let s = scrape(&client);
    let v = value(&s, "clearway_routes_version", &[]);
    assert_eq!(value(&s, "clearway_routes", &[]), 1.0);
    client
        .send::<_, control::types::Published>(
            Method::POST,
            "/v1/routes",
            &control::types::RouteRow {
                prefix: "51".into(),
                participant: "bank-b".into(),
            },
        )
        .unwrap();
    let s = scrape(&client);
    assert_eq!(value(&s, "clearway_routes", &[]), 2.0);
    assert_eq!(value(&s, "clearway_routes_version", &[]), v + 1.0);
    assert_eq!(value(&s, "clearway_participants", &[]), 2.0);
}
