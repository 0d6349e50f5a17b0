//! The generator's own cost per transaction, without DPDK: build a request
//! from its template, reflect it (as the baseline reflector does), match the
//! answer. This is the ceiling the harness imposes on any measurement made
//! with one generator lcore; the figure printed is ns per transaction.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use clearway_perf::engine::{Engine, EngineOptions};
use clearway_perf::mix::RequestKind;
use clearway_perf::profile::Profile;
use clearway_perf::reflect::reflect_frame;
use clearway_perf::template::{FrameEnds, Patch, RequestTemplate};
use wire::iso8583::Spec;
use wire::net::ethernet::Address;

fn engine(verify: bool) -> Engine {
    Engine::new(
        &Profile::builtin(),
        &EngineOptions {
            our_mac: Address([2, 0, 0, 0, 0, 0xaa]),
            switch_mac: Some(Address([2, 0, 0, 0, 0, 1])),
            hz: 2_000_000_000,
            udp_checksum: true,
            verify,
            window: 1 << 16,
            first_seq: 0,
            unix_start: 1_700_000_000,
        },
    )
    .unwrap()
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("generator");
    g.throughput(Throughput::Elements(1));
    for verify in [false, true] {
        let mut e = engine(verify);
        let mut buf = vec![0u8; 2048];
        let mut now = 0u64;
        g.bench_function(
            if verify {
                "transaction_verified"
            } else {
                "transaction"
            },
            |b| {
                b.iter(|| {
                    now += 100;
                    e.expire(now, 1 << 40);
                    let n = e.next_request(&mut buf, now).expect("window");
                    reflect_frame(&mut buf[..n], Address([2, 0, 0, 0, 0, 1]));
                    e.on_frame(&mut buf, n, now + 50)
                })
            },
        );
    }
    let spec = Spec::builtin("default").unwrap();
    let ends = FrameEnds {
        src_mac: Address([2, 0, 0, 0, 1, 1]),
        dst_mac: Address([2, 0, 0, 0, 0, 1]),
        src: "10.0.1.1:5001".parse().unwrap(),
        dst: "10.0.0.1:8583".parse().unwrap(),
    };
    let t = RequestTemplate::build(
        spec,
        RequestKind::Financial,
        &ends,
        Some("4"),
        b"TERM0001",
        300,
        true,
    )
    .unwrap();
    let mut buf = [0u8; 512];
    let mut seq = 0u64;
    g.bench_function("template_fill_300B", |b| {
        b.iter(|| {
            seq += 1;
            let p = Patch {
                stan: (seq % 999_999) as u32 + 1,
                rrn: seq,
                time: b"1127190000",
                amount: seq * 7,
                account: seq * 13,
            };
            t.fill(&mut buf, &p)
        })
    });
    g.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
