//! Prometheus `/metrics`: one custom collector that reads every source on
//! scrape. Nothing here runs on an lcore and nothing is cached: the lcores
//! only keep their relaxed atomic counters, and a scrape sums them.

use crate::api::Sources;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{Encoder, Registry, TextEncoder};
use switch::counters::{DropReason, Event, MtiClass, ResponseCode};

/// A metric family under construction.
struct Family(MetricFamily);

impl Family {
    fn new(name: &str, help: &str, kind: MetricType) -> Self {
        let mut mf = MetricFamily::default();
        mf.set_name(name.to_string());
        mf.set_help(help.to_string());
        mf.set_field_type(kind);
        Family(mf)
    }

    fn metric(labels: &[(&str, &str)]) -> proto::Metric {
        let mut m = proto::Metric::default();
        let pairs: Vec<proto::LabelPair> = labels
            .iter()
            .map(|(k, v)| {
                let mut p = proto::LabelPair::default();
                p.set_name(k.to_string());
                p.set_value(v.to_string());
                p
            })
            .collect();
        m.set_label(pairs);
        m
    }

    fn value(&mut self, labels: &[(&str, &str)], v: f64) -> &mut Self {
        let mut m = Self::metric(labels);
        if self.0.get_field_type() == MetricType::COUNTER {
            let mut c = proto::Counter::default();
            c.set_value(v);
            m.set_counter(c);
        } else {
            let mut g = proto::Gauge::default();
            g.set_value(v);
            m.set_gauge(g);
        }
        self.0.mut_metric().push(m);
        self
    }
}

/// The collector registered in the API's registry.
pub struct ClearwayCollector {
    sources: Sources,
}

impl ClearwayCollector {
    pub fn new(sources: Sources) -> Self {
        Self { sources }
    }
}

impl Collector for ClearwayCollector {
    fn desc(&self) -> Vec<&Desc> {
        // Families are built per scrape; there is nothing to pre-register,
        // and this is the only collector in its registry.
        Vec::new()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut out = Vec::with_capacity(48);
        switch_families(&self.sources, &mut out);
        routing_families(&self.sources, &mut out);
        money_families(&self.sources, &mut out);
        journal_families(&self.sources, &mut out);
        port_families(&self.sources, &mut out);
        out.retain(|f| !f.0.get_metric().is_empty());
        out.into_iter().map(|f| f.0).collect()
    }
}

use MetricType::{COUNTER, GAUGE};

fn switch_families(s: &Sources, out: &mut Vec<Family>) {
    let c = s.status.counters();
    let mut packets = Family::new(
        "clearway_packets_total",
        "Packets received and sent by the switch lcores.",
        COUNTER,
    );
    packets
        .value(&[("direction", "rx")], c.event(Event::Rx) as f64)
        .value(&[("direction", "tx")], c.event(Event::Tx) as f64);
    out.push(packets);

    let mut mti = Family::new(
        "clearway_messages_received_total",
        "ISO 8583 messages received, by MTI class (repeats count with their original).",
        COUNTER,
    );
    for m in MtiClass::ALL {
        mti.value(&[("direction", "in"), ("mti", m.label())], c.mti(*m) as f64);
    }
    out.push(mti);

    let mut codes = Family::new(
        "clearway_responses_sent_total",
        "Responses sent to acquirers, by field 39 response code.",
        COUNTER,
    );
    for r in ResponseCode::ALL {
        codes.value(
            &[("direction", "out"), ("code", r.label())],
            c.response(*r) as f64,
        );
    }
    out.push(codes);

    let mut drops = Family::new(
        "clearway_drops_total",
        "Packets or messages dropped, by reason.",
        COUNTER,
    );
    for d in DropReason::ALL {
        drops.value(&[("reason", d.label())], c.dropped(*d) as f64);
    }
    out.push(drops);

    let mut pending = Family::new(
        "clearway_pending",
        "Requests forwarded and awaiting the issuer's answer.",
        GAUGE,
    );
    pending.value(&[], c.pending as f64);
    out.push(pending);

    let mut timeouts = Family::new(
        "clearway_timeouts_total",
        "Issuer timeouts (stand-in 91 sent to the acquirer).",
        COUNTER,
    );
    timeouts.value(&[], c.event(Event::Timeouts) as f64);
    out.push(timeouts);

    let mut reversals = Family::new(
        "clearway_reversals_total",
        "0420 reversals to issuers after timeouts, by outcome.",
        COUNTER,
    );
    reversals
        .value(&[("outcome", "sent")], c.event(Event::ReversalsSent) as f64)
        .value(
            &[("outcome", "confirmed")],
            c.event(Event::ReversalsConfirmed) as f64,
        )
        .value(
            &[("outcome", "given_up")],
            c.event(Event::ReversalsGivenUp) as f64,
        );
    out.push(reversals);

    let mut dupes = Family::new(
        "clearway_duplicates_answered_total",
        "Duplicate requests answered again from the duplicate filter.",
        COUNTER,
    );
    dupes.value(&[], c.event(Event::DupesAnswered) as f64);
    out.push(dupes);

    if let Some(h) = s.status.latency() {
        let mut fam = Family::new(
            "clearway_latency_seconds",
            "Request to response latency through the switch.",
            MetricType::HISTOGRAM,
        );
        let mut hist = proto::Histogram::default();
        hist.set_sample_count(h.count);
        hist.set_sample_sum(h.sum_seconds);
        let buckets: Vec<proto::Bucket> = h
            .buckets
            .iter()
            .map(|(bound, count)| {
                let mut b = proto::Bucket::default();
                b.set_upper_bound(*bound);
                b.set_cumulative_count(*count);
                b
            })
            .collect();
        hist.set_bucket(buckets);
        let mut m = Family::metric(&[]);
        m.set_histogram(hist);
        fam.0.mut_metric().push(m);
        out.push(fam);
    }

    let mut busy = Family::new(
        "clearway_lcore_busy_ratio",
        "Share of polls that found packets, per worker lcore, since start.",
        GAUGE,
    );
    let mut polls = Family::new(
        "clearway_lcore_polls_total",
        "RX polls per worker lcore, busy (packets found) or idle.",
        COUNTER,
    );
    for l in s.status.lcores() {
        let id = l.lcore.to_string();
        busy.value(&[("lcore", &id)], l.busy_ratio());
        polls
            .value(&[("lcore", &id), ("kind", "busy")], l.busy_polls as f64)
            .value(&[("lcore", &id), ("kind", "idle")], l.idle_polls as f64);
    }
    out.push(busy);
    out.push(polls);
}

fn routing_families(s: &Sources, out: &mut Vec<Family>) {
    let mut version = Family::new(
        "clearway_routes_version",
        "Version of the published route snapshot (bumps on every change).",
        GAUGE,
    );
    version.value(&[], s.control.version() as f64);
    out.push(version);
    let mut count = Family::new("clearway_routes", "BIN prefixes in the route table.", GAUGE);
    count.value(&[], s.control.route_count() as f64);
    out.push(count);
    let mut parts = Family::new("clearway_participants", "Configured participants.", GAUGE);
    parts.value(&[], s.control.participant_count() as f64);
    out.push(parts);
}

fn money_families(s: &Sources, out: &mut Vec<Family>) {
    let mut available = Family::new(
        "clearway_reserve_available",
        "Available = reserve + net debit cap - net position - holds, minor units.",
        GAUGE,
    );
    let mut balance = Family::new(
        "clearway_reserve_balance",
        "Reserve balance, minor units.",
        GAUGE,
    );
    let mut position = Family::new(
        "clearway_net_position",
        "Net position in the open window, minor units (positive: owes the network).",
        GAUGE,
    );
    let mut holds = Family::new("clearway_holds", "Authorisation holds, minor units.", GAUGE);
    // An unavailable ledger shows as missing series, not as a failed scrape:
    // the switch's own figures matter most when something else is wrong.
    for a in s.money.accounts().unwrap_or_default() {
        let cur = a.currency.to_string();
        let l = [
            ("participant", a.participant.as_str()),
            ("currency", cur.as_str()),
        ];
        available.value(&l, a.available as f64);
        balance.value(&l, a.reserve_balance as f64);
        position.value(&l, a.net_position as f64);
        holds.value(&l, a.holds as f64);
    }
    out.extend([available, balance, position, holds]);
    if let Some(w) = s.money.current_window() {
        let mut f = Family::new(
            "clearway_window_number",
            "Number of the open clearing window.",
            GAUGE,
        );
        f.value(&[], w.number as f64);
        out.push(f);
    }
    if let Some(secs) = s.money.last_cutoff_seconds() {
        let mut f = Family::new(
            "clearway_cutoff_duration_seconds",
            "Duration of the last cutoff, from the flip to settlement files written.",
            GAUGE,
        );
        f.value(&[], secs);
        out.push(f);
    }
}

fn journal_families(s: &Sources, out: &mut Vec<Family>) {
    let j = s.journal.figures();
    let entries: [(&str, &str, MetricType, f64); 6] = [
        ("clearway_journal_lag_records", "Records appended but not yet durable.", GAUGE, j.lag_records as f64),
        ("clearway_journal_records_total", "Records written and fsynced.", COUNTER, j.records as f64),
        ("clearway_journal_bytes_total", "Bytes written to journal segments.", COUNTER, j.bytes as f64),
        ("clearway_journal_syncs_total", "fdatasync calls; rate(sync_seconds)/rate(syncs) is the fsync latency.", COUNTER, j.syncs as f64),
        ("clearway_journal_sync_seconds_total", "Time spent in fdatasync.", COUNTER, j.sync_seconds),
        ("clearway_journal_failed", "1 when the journal has failed (disk full, fsync error): money-moving requests are declined.", GAUGE, if j.failed { 1.0 } else { 0.0 }),
    ];
    for (name, help, kind, v) in entries {
        let mut f = Family::new(name, help, kind);
        f.value(&[], v);
        out.push(f);
    }
}

fn port_families(s: &Sources, out: &mut Vec<Family>) {
    let ports = s.status.ports();
    let mut link = Family::new(
        "clearway_port_link_up",
        "1 when the port's link is up.",
        GAUGE,
    );
    let mut speed = Family::new("clearway_port_speed_mbps", "Link speed.", GAUGE);
    let mut packets = Family::new(
        "clearway_port_packets_total",
        "Port packets (rte_eth_stats).",
        COUNTER,
    );
    let mut bytes = Family::new(
        "clearway_port_bytes_total",
        "Port bytes (rte_eth_stats).",
        COUNTER,
    );
    let mut errors = Family::new(
        "clearway_port_errors_total",
        "Port errors: missed (RX ring full), rx/tx errors, mbuf allocation failures.",
        COUNTER,
    );
    let mut xstats = Family::new(
        "clearway_port_xstat",
        "Driver extended statistics (rte_eth_xstats), by name.",
        GAUGE,
    );
    for p in &ports {
        let n = p.name.as_str();
        link.value(&[("port", n)], if p.link_up { 1.0 } else { 0.0 });
        speed.value(&[("port", n)], f64::from(p.speed_mbps));
        packets
            .value(&[("port", n), ("direction", "rx")], p.rx_packets as f64)
            .value(&[("port", n), ("direction", "tx")], p.tx_packets as f64);
        bytes
            .value(&[("port", n), ("direction", "rx")], p.rx_bytes as f64)
            .value(&[("port", n), ("direction", "tx")], p.tx_bytes as f64);
        errors
            .value(&[("port", n), ("kind", "rx_missed")], p.rx_missed as f64)
            .value(&[("port", n), ("kind", "rx_errors")], p.rx_errors as f64)
            .value(&[("port", n), ("kind", "tx_errors")], p.tx_errors as f64)
            .value(&[("port", n), ("kind", "rx_nombuf")], p.rx_nombuf as f64);
        for (name, v) in &p.xstats {
            xstats.value(&[("port", n), ("name", name)], *v as f64);
        }
    }
    out.extend([link, speed, packets, bytes, errors, xstats]);
}

/// A registry holding only the Clearway collector.
pub fn registry(sources: Sources) -> Registry {
    let registry = Registry::new();
    // Cannot fail: the collector describes no fixed descriptors, so there
    // is nothing to collide with in a fresh registry.
    let _ = registry.register(Box::new(ClearwayCollector::new(sources)));
    registry
}

/// The text exposition of one scrape.
pub fn render(registry: &Registry) -> Result<String, String> {
    let mut buf = Vec::with_capacity(16 * 1024);
    TextEncoder::new()
        .encode(&registry.gather(), &mut buf)
        .map_err(|e| e.to_string())?;
    String::from_utf8(buf).map_err(|e| e.to_string())
}
