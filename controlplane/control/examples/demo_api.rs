//! Serves the control API over the in-memory fakes (demo participants,
//! two reserve accounts, a counter that ticks like traffic) so clearctl can
//! be tried without clearwayd:
//!
//! ```text
//! cargo run -p control --example demo_api -- /tmp/clearway-demo.sock
//! clearctl --socket /tmp/clearway-demo.sock status
//! ```

use control::api::ApiConfig;
use control::testkit::{Fakes, TestServer};
use std::time::Duration;
use switch::counters::{Event, MtiClass, ResponseCode};

fn main() {
    let socket = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/clearway-demo.sock".into());
    let fakes = Fakes::demo();
    let server = match TestServer::start(ApiConfig::unix(&socket), fakes.sources()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("demo_api: {e}");
            std::process::exit(1);
        }
    };
    println!("serving the control API on {}", server.socket.display());
    // A steady trickle: 50 approved 0200s and one timeout a second.
    loop {
        for _ in 0..10 {
            fakes.status.traffic(|w| {
                for _ in 0..5 {
                    w.add(Event::Rx, 2);
                    w.add(Event::Tx, 2);
                    w.mti(MtiClass::Financial0200);
                    w.mti(MtiClass::Financial0210);
                    w.response(ResponseCode::Approved);
                }
                w.set_pending(12);
            });
            fakes.money.transfer("bank-a", "bank-b", 978, 5 * 1_250);
            std::thread::sleep(Duration::from_millis(100));
        }
        fakes.status.traffic(|w| {
            w.add(Event::Timeouts, 1);
            w.response(ResponseCode::IssuerUnavailable);
        });
    }
}
