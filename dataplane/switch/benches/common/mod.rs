//! Helpers shared by the benches: a reproducible RNG, RSS, a plain timer,
//! cheap keys.
#![allow(dead_code)]

pub mod keys;

use std::time::Instant;

/// xorshift64*: reproducible and dependency-free; quality is ample for
/// generating keys.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn digits<const N: usize>(&mut self, out: &mut [u8; N]) {
        for d in out.iter_mut() {
            *d = b'0' + self.below(10) as u8;
        }
    }
}

/// Resident set size of this process in bytes, from /proc/self/status.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Runs `op` `n` times and prints the mean in ns/op: a plain figure next to
/// criterion's, easy to quote.
pub fn report_ns<F: FnMut(u64)>(label: &str, n: u64, mut op: F) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        op(i);
    }
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    println!("FIGURE {label}: {ns:.1} ns/op over {n} ops");
    ns
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
