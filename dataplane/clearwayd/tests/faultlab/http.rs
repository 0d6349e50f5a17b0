//! A minimal HTTP/1.1 client for the API (unix socket or TCP): enough to
//! read /metrics and to send the bad requests of the hammer scenario.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// An answer: status code (0 when the server closed without one) and body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// Sends `raw` (a whole request, possibly malformed) and reads the answer.
pub fn raw(stream: &mut (impl Read + Write), raw: &[u8]) -> Reply {
    // A server may answer (413) and close before reading a huge body: a
    // failed write is then part of the answer, not a test error.
    let _ = stream.write_all(raw);
    let _ = stream.flush();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    parse(&buf)
}

/// A well-formed request with `Connection: close`.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nHost: clearway\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Over the unix socket.
pub fn unix(socket: &Path, method: &str, path: &str, body: &[u8]) -> Reply {
    match UnixStream::connect(socket) {
        Ok(mut s) => {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            raw(
                &mut s,
                &request(method, path, &[("Content-Type", "application/json")], body),
            )
        }
        Err(_) => Reply {
            status: 0,
            body: String::new(),
        },
    }
}

fn parse(buf: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(buf);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Reply {
            status: 0,
            body: text.into_owned(),
        };
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Reply { status, body }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The sum of the samples of `name` whose labels contain `label` (e.g.
/// `reason="late_response"`), in Prometheus text.
pub fn metric(text: &str, name: &str, label: &str) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| label.is_empty() || l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}
