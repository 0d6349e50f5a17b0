//! Cost of message authentication per message: verify an incoming MAC and
//! seal an outgoing one on a ~300-byte 0200 (binary `default` spec), for
//! both algorithms. Prints ns/msg for verify, seal and verify + seal.
//!
//! Budget: the lcore has ~500 cycles a message at 4 M msg/s; a MAC over
//! 300 bytes costs more than that on its own (SHA-256 ≈ 5 blocks, AES ≈ 19
//! blocks), so keyed participants cost throughput and this bench says how
//! much.

use std::time::{Duration, Instant};

use auth::{seal, verify, Algorithm, KeyRing, MacFormat, MacKey};
use criterion::{black_box, Criterion};
use wire::iso8583::{encode, FieldIndex, FieldValues, Spec};

/// A card-present 0200 with the usual fields and a MAC in field 64.
fn request_0200(spec: &Spec) -> Vec<u8> {
    let name = format!("{:<40}", "CLEARWAY TEST SHOP         SHANGHAI CN");
    let fields: [(u8, &[u8]); 21] = [
        (2, b"4761730000000010"),
        (3, b"000000"),
        (4, b"000000012345"),
        (7, b"1127093015"),
        (11, b"000042"),
        (12, b"093015"),
        (13, b"1127"),
        (14, b"2812"),
        (18, b"5411"),
        (22, b"051"),
        (25, b"00"),
        (32, b"123456"),
        (35, b"4761730000000010=28121010000012345678"),
        (37, b"000000000042"),
        (41, b"TERM0001"),
        (42, b"MERCHANT0000001"),
        (43, name.as_bytes()),
        (
            48,
            b"ADDITIONAL DATA PRIVATE 0123456789 0123456789 0123456789",
        ),
        (49, b"156"),
        (60, b"POS TERMINAL V1.2 SERIAL 00000000012345"),
        (64, &[0u8; 8]),
    ];
    let mut values = FieldValues::new();
    for (n, v) in fields {
        values.set(n, v).expect("bench field");
    }
    let mut out = vec![0u8; 1024];
    let len = encode(spec, b"0200", &values, &mut out).expect("bench message");
    out.truncate(len);
    out
}

/// This thread's time on a CPU so far, in ns (Linux schedstat).
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn main() {
    let spec = Spec::builtin("default").expect("built-in");
    let format = MacFormat::of(spec).expect("default carries MACs");
    let mut msg = request_0200(spec);
    let index = FieldIndex::decode(&msg, spec).expect("decodes");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    println!("message: 0200, {} bytes, MAC in field 64", msg.len());
    for alg in Algorithm::ALL {
        let ring = KeyRing::new(MacKey::new(alg, &[0x42; 16]).expect("bench key"));
        seal(&format, &mut msg, &index, &ring).expect("seals");
        let mut group = c.benchmark_group(alg.name());
        group.bench_function("verify", |b| {
            b.iter(|| verify(&format, black_box(&msg), &index, &ring, 0))
        });
        group.bench_function("seal", |b| {
            b.iter(|| seal(&format, black_box(&mut msg), &index, &ring))
        });
        group.bench_function("verify+seal", |b| {
            b.iter(|| {
                let ok = verify(&format, black_box(&msg), &index, &ring, 0).is_ok();
                seal(&format, black_box(&mut msg), &index, &ring).map(|_| ok)
            })
        });
        group.finish();
        // Criterion's own report is per iteration in wall time; the
        // machine is shared, so the headline figure is this thread's CPU
        // time per message (scheduler's run time, /proc/thread-self/schedstat)
        // next to the wall-clock one.
        let n = 400_000u32;
        let (wall0, cpu0) = (Instant::now(), cpu_ns());
        for _ in 0..n {
            let ok = verify(&format, black_box(&msg), &index, &ring, 0).is_ok();
            let _ = black_box(seal(&format, black_box(&mut msg), &index, &ring).map(|_| ok));
        }
        let wall = wall0.elapsed().as_nanos() as f64 / f64::from(n);
        let cpu = cpu_ns().map(|c| (c - cpu0.unwrap_or(c)) as f64 / f64::from(n));
        println!(
            "{:>15}: verify + seal {:>6.0} ns/msg CPU ({}), {:.0} ns/msg wall",
            alg.name(),
            cpu.unwrap_or(wall),
            cpu.map_or("no schedstat: wall".to_string(), |c| format!(
                "{:.2} M msg/s on one core",
                1e3 / c
            )),
            wall,
        );
    }
    c.final_summary();
}
