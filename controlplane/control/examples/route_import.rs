//! Times a 1,000,000-row BIN import through the control plane (parse,
//! validate, sort, build the BIN table, journal, publish), as the API runs
//! it, then once more end to end through the API on a Unix socket with the
//! client clearctl uses. Run in release:
//! `cargo run --release -p control --example route_import [ROWS]`.

use control::api::ApiConfig;
use control::client::{Client, Endpoint, Method};
use control::testkit::{demo_participants, Fakes, MemoryChangeLog, TestServer};
use control::types::ImportOutcome;
use control::ControlPlane;
use std::time::Instant;

fn main() {
    let rows: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut csv = String::with_capacity(rows as usize * 20);
    for i in 0..rows {
        // Mixed lengths, like a real table: 8, 9 and 10 digit BINs, all
        // distinct.
        match i % 3 {
            0 => csv.push_str(&format!("4{i:07},bank-b\n")),
            1 => csv.push_str(&format!("5{i:08},bank-b\n")),
            _ => csv.push_str(&format!("36{i:08},bank-b\n")),
        }
    }
    let cp = ControlPlane::new(demo_participants(), Vec::new(), MemoryChangeLog::new())
        .expect("demo config");
    let mut best = f64::MAX;
    for round in 1..=3 {
        let t = Instant::now();
        let out = cp.import_routes(csv.as_bytes()).expect("import");
        let secs = t.elapsed().as_secs_f64();
        best = best.min(secs);
        println!(
            "round {round}: {} rows ({} unique) from {:.1} MB in {:.3} s (version {})",
            rows,
            out.rows,
            csv.len() as f64 / 1e6,
            secs,
            out.version
        );
    }
    println!("best: {:.3} s, {:.0} rows/s", best, f64::from(rows) / best);

    let dir = std::env::temp_dir().join(format!("route-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let fakes = Fakes::demo();
    let server = TestServer::start(ApiConfig::unix(dir.join("api.sock")), fakes.sources())
        .expect("API starts");
    let client = Client::new(Endpoint::Unix(server.socket.clone())).expect("client");
    let t = Instant::now();
    let out: ImportOutcome = client
        .call(
            Method::PUT,
            "/v1/routes",
            Some((csv.into_bytes(), "text/csv")),
        )
        .expect("import over the API");
    println!(
        "over the API socket: {} rows in {:.3} s end to end ({} ms in the control plane)",
        out.rows,
        t.elapsed().as_secs_f64(),
        out.took_ms
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
