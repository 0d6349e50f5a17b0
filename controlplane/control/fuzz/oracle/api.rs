//! The property both the `api_requests` fuzz target and its proptest twin
//! (`tests/fuzz_twins.rs`) check, so the two cannot drift apart.
//!
//! An input is up to [`MAX_REQUESTS`] requests separated by a `0xFF` byte;
//! each is a method byte, a path up to `\n`, and the body after it. Every
//! request goes through the real router (`control::api::router`) over the
//! in-process fakes, via `tower::ServiceExt::oneshot` on a current-thread
//! runtime. Whatever is sent:
//! - nothing panics;
//! - the status is 2xx or 4xx: bad input is never a 5xx;
//! - every body is JSON (`/metrics` excepted: Prometheus text), and every
//!   4xx body is `{"error":{"code","message"}}` with both non-empty;
//! - afterwards the API still answers `GET /v1/status` with 200.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode, Uri};
use axum::Router;
use control::testkit::Fakes;
use control::types::ErrorBody;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Requests per input: enough for add-then-change sequences.
pub const MAX_REQUESTS: usize = 4;

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// The router and its fakes, built once and reused across inputs (a router
/// per input would spend most of the run building Prometheus registries
/// and BIN tables); rebuilt when inputs have grown its state past a bound,
/// so a long campaign does not slow down as participants pile up.
pub struct ApiOracle {
    runtime: tokio::runtime::Runtime,
    fakes: Fakes,
    router: Router,
    inputs: u64,
}

/// Inputs between rebuilds: the fakes' change log keeps every change.
const REBUILD_EVERY: u64 = 20_000;

impl Default for ApiOracle {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiOracle {
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        let fakes = Fakes::demo();
        let router = control::api::router(fakes.sources());
        ApiOracle {
            runtime,
            fakes,
            router,
            inputs: 0,
        }
    }

    /// Runs one fuzz input; panics when the property does not hold.
    pub fn check_input(&mut self, bytes: &[u8]) {
        self.inputs += 1;
        if self.inputs >= REBUILD_EVERY
            || self.fakes.control.participant_count() > 64
            || self.fakes.control.route_count() > 4096
        {
            self.inputs = 0;
            self.fakes = Fakes::demo();
            self.router = control::api::router(self.fakes.sources());
        }
        for request in bytes.split(|&b| b == 0xFF).take(MAX_REQUESTS) {
            let Some((&m, rest)) = request.split_first() else {
                continue;
            };
            let (path, body) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            // A target no HTTP client could send is not the router's input.
            let Ok(uri) = Uri::try_from(path) else {
                continue;
            };
            let method = METHODS[usize::from(m) % METHODS.len()].clone();
            self.send(method, uri, body.to_vec());
        }
        let status = self.send(Method::GET, Uri::from_static("/v1/status"), Vec::new());
        assert_eq!(status, StatusCode::OK, "the API stopped answering status");
    }

    /// Sends one request and checks its answer.
    pub fn send(&self, method: Method, uri: Uri, body: Vec<u8>) -> StatusCode {
        let request = Request::builder()
            .method(method.clone())
            .uri(uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("method, uri and header are valid");
        let router = self.router.clone();
        let (status, content_type, bytes) = self.runtime.block_on(async move {
            let response = router
                .oneshot(request)
                .await
                .expect("the router is infallible");
            let status = response.status();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("an in-memory body reads")
                .to_bytes();
            (status, content_type, bytes)
        });
        let what = format!("{method} {uri} -> {status}");
        assert!(
            status.is_success() || status.is_client_error(),
            "{what}: bad input must be a 2xx or 4xx, never a 5xx: {}",
            String::from_utf8_lossy(&bytes)
        );
        if uri.path() == "/metrics" && status.is_success() {
            assert!(
                content_type.starts_with("text/plain"),
                "{what}: {content_type}"
            );
            return status;
        }
        assert!(
            content_type.starts_with("application/json"),
            "{what}: content-type {content_type:?}"
        );
        if status.is_client_error() {
            let e: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!("{what}: error body is not {{\"error\":..}}: {e}: {bytes:?}")
            });
            assert!(
                !e.error.code.is_empty() && !e.error.message.is_empty(),
                "{what}: {e:?}"
            );
        } else {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("{what}: body is not JSON: {e}: {bytes:?}"));
        }
        status
    }
}
