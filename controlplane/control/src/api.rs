//! The operator API: HTTP/JSON over a Unix socket (mode 0600 by default)
//! and optionally TCP with a bearer token.
//!
//! Every answer is JSON, errors included (`{"error":{"code","message"}}`):
//! 400 malformed, 401 unauthenticated, 404 unknown id, 409 conflicting
//! change, 503 journal or ledger unavailable. Bodies are parsed by hand
//! from bytes so that no extractor answers with plain text, and nothing a
//! client sends can panic a handler (a panic would only end that request's
//! task, but we do not rely on that).
//!
//! Blocking work (building a 1,000,000-row BIN table, ledger calls) runs on
//! tokio's blocking pool, so the API's own thread keeps answering.
//!
//! How clearwayd runs it, on its main (non-lcore) thread:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use control::api::{serve, ApiConfig, Sources};
//! # fn wire(sources: Sources) -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! runtime.block_on(async {
//!     let api = serve(ApiConfig::unix("/run/clearway/api.sock"), sources).await?;
//!     // ... until the daemon is told to stop:
//!     api.shutdown().await;
//!     Ok::<_, control::api::ServeError>(())
//! })?;
//! # Ok(()) }
//! ```

use crate::control_plane::ControlPlane;
use crate::error::ControlError;
use crate::metrics;
use crate::sources::{ChangeLogError, JournalSource, MoneyError, MoneyState, StatusSource};
use crate::types::{
    ErrorBody, ErrorDetail, JournalHealth, LimitChange, ParticipantPatch, ParticipantSpec,
    Published, ReserveChange, RouteRow, StatsReport, StatusReport,
};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Largest route import body (1,000,000 rows are ~25 MB).
pub const MAX_IMPORT_BYTES: usize = 256 << 20;
/// Largest body of any other request.
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// Everything the API and `/metrics` serve from (the daemon's
/// implementations, or the fakes of [`crate::testkit`]).
#[derive(Clone)]
pub struct Sources {
    pub control: Arc<ControlPlane>,
    pub money: Arc<dyn MoneyState>,
    pub status: Arc<dyn StatusSource>,
    pub journal: Arc<dyn JournalSource>,
}

#[derive(Clone)]
struct AppState {
    sources: Sources,
    registry: Arc<prometheus::Registry>,
    started: Instant,
    tps: Arc<AtomicU64>,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        let (status, code) = match &e {
            ControlError::Invalid { .. } | ControlError::ImportLine { .. } => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            ControlError::UnknownParticipant { .. } | ControlError::UnknownRoute { .. } => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            ControlError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            // Too big for one journal record is the request's fault.
            ControlError::Journal(ChangeLogError::TooLarge { .. }) => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            ControlError::Journal(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ControlError::StateFile { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ControlError::Money(m) => return ApiError::from(m.clone()),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<MoneyError> for ApiError {
    fn from(e: MoneyError) -> Self {
        let (status, code) = match &e {
            MoneyError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            MoneyError::Invalid { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
            MoneyError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            MoneyError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

fn path_err(e: PathRejection) -> ApiError {
    ApiError::bad_request(format!("bad path: {}", e.body_text()))
}

fn body_err(e: BytesRejection) -> ApiError {
    ApiError::new(e.status(), "bad_request", e.body_text())
}

fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(body_err)?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("request body is not the expected JSON: {e}")))
}

/// Runs `f` on the blocking pool.
async fn blocking<T, E>(f: impl FnOnce() -> Result<T, E> + Send + 'static) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Into::into),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("request handler failed: {e}; see clearwayd's log"),
        )),
    }
}

/// The API's routes, without authentication (the Unix socket's).
pub fn router(sources: Sources) -> Router {
    let registry = Arc::new(metrics::registry(sources.clone()));
    router_with(AppState {
        sources,
        registry,
        started: Instant::now(),
        tps: Arc::new(AtomicU64::new(0)),
    })
}

fn router_with(state: AppState) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/stats", get(stats))
        .route(
            "/v1/participants",
            get(list_participants).post(add_participant),
        )
        .route(
            "/v1/participants/:id",
            get(show_participant).patch(update_participant),
        )
        .route("/v1/participants/:id/suspend", post(suspend))
        .route("/v1/participants/:id/resume", post(resume))
        .route("/v1/participants/:id/rotate-key", post(rotate_key))
        .route(
            "/v1/routes",
            get(list_routes)
                .post(add_route)
                .put(import_routes)
                .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/v1/routes/:prefix", axum::routing::delete(delete_route))
        .route("/v1/accounts", get(list_accounts))
        .route("/v1/accounts/:participant", get(show_account))
        .route("/v1/accounts/:participant/deposit", post(deposit))
        .route("/v1/accounts/:participant/withdraw", post(withdraw))
        .route("/v1/accounts/:participant/limit", post(set_limit))
        .route("/v1/windows", get(list_windows))
        .route("/v1/windows/:number", get(show_window))
        .route("/v1/cutoff", post(cutoff))
        .route("/v1/settlement/:window", get(show_settlement))
        .route("/v1/settlement/:window/files", get(settlement_files))
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see docs/operations.md for the API",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

async fn status(State(s): State<AppState>) -> ApiResult<StatusReport> {
    let src = s.sources.clone();
    let tps = s.tps.load(Ordering::Relaxed);
    let uptime_secs = s.started.elapsed().as_secs();
    blocking(move || {
        Ok::<_, ApiError>(StatusReport {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_secs: src.status.uptime().map_or(uptime_secs, |u| u.as_secs()),
            ports: src.status.ports(),
            lcores: src.status.lcores(),
            tps,
            pending: src.status.counters().pending,
            routes_version: src.control.version(),
            participants: src.control.participant_count() as u64,
            routes: src.control.route_count() as u64,
            window: src.money.current_window(),
            journal: {
                let j = src.journal.figures();
                JournalHealth {
                    failed: j.failed,
                    failure: j.failure,
                    lag_records: j.lag_records,
                }
            },
        })
    })
    .await
    .map(Json)
}

async fn stats(State(s): State<AppState>) -> ApiResult<StatsReport> {
    let snapshot = s.sources.status.counters();
    let mut counters = BTreeMap::new();
    snapshot.for_each(|name, v| {
        counters.insert(name.to_string(), v);
    });
    Ok(Json(StatsReport {
        at_ms: s.started.elapsed().as_millis() as u64,
        counters,
        pending: snapshot.pending,
    }))
}

async fn list_participants(
    State(s): State<AppState>,
) -> ApiResult<Vec<crate::types::ParticipantView>> {
    let control = Arc::clone(&s.sources.control);
    Ok(Json(
        blocking(move || Ok::<_, ApiError>(control.participants())).await?,
    ))
}

async fn show_participant(
    State(s): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<crate::types::ParticipantView> {
    let Path(id) = id.map_err(path_err)?;
    let control = Arc::clone(&s.sources.control);
    Ok(Json(blocking(move || control.participant(&id)).await?))
}

async fn add_participant(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    let spec: ParticipantSpec = parse_json(body)?;
    let control = Arc::clone(&s.sources.control);
    let version = blocking(move || control.add_participant(spec)).await?;
    Ok((StatusCode::CREATED, Json(Published { version })))
}

async fn update_participant(
    State(s): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Published> {
    let Path(id) = id.map_err(path_err)?;
    let patch: ParticipantPatch = parse_json(body)?;
    let control = Arc::clone(&s.sources.control);
    let version = blocking(move || control.update_participant(&id, &patch)).await?;
    Ok(Json(Published { version }))
}

/// The key file named in the body becomes the participant's current MAC
/// key; the answer names keys by id only.
async fn rotate_key(
    State(s): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<crate::types::KeyRotated> {
    let Path(id) = id.map_err(path_err)?;
    let rotation: crate::types::KeyRotation = parse_json(body)?;
    let control = Arc::clone(&s.sources.control);
    Ok(Json(
        blocking(move || control.rotate_key(&id, &rotation)).await?,
    ))
}

async fn set_suspended(
    s: AppState,
    id: Result<Path<String>, PathRejection>,
    suspended: bool,
) -> ApiResult<Published> {
    let Path(id) = id.map_err(path_err)?;
    let control = Arc::clone(&s.sources.control);
    let version = blocking(move || control.set_suspended(&id, suspended)).await?;
    Ok(Json(Published { version }))
}

async fn suspend(
    State(s): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Published> {
    set_suspended(s, id, true).await
}

async fn resume(
    State(s): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Published> {
    set_suspended(s, id, false).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteQuery {
    after: Option<String>,
    limit: Option<usize>,
    participant: Option<String>,
}

async fn list_routes(
    State(s): State<AppState>,
    q: Result<Query<RouteQuery>, QueryRejection>,
) -> ApiResult<crate::types::RoutePage> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let control = Arc::clone(&s.sources.control);
    let page = blocking(move || {
        control.routes(
            q.after.as_deref(),
            q.limit.unwrap_or(1000),
            q.participant.as_deref(),
        )
    })
    .await?;
    Ok(Json(page))
}

async fn add_route(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    let row: RouteRow = parse_json(body)?;
    let control = Arc::clone(&s.sources.control);
    let version = blocking(move || control.add_route(&row)).await?;
    Ok((StatusCode::CREATED, Json(Published { version })))
}

async fn delete_route(
    State(s): State<AppState>,
    prefix: Result<Path<String>, PathRejection>,
) -> ApiResult<Published> {
    let Path(prefix) = prefix.map_err(path_err)?;
    let control = Arc::clone(&s.sources.control);
    let version = blocking(move || control.delete_route(&prefix)).await?;
    Ok(Json(Published { version }))
}

async fn import_routes(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<crate::types::ImportOutcome> {
    let body = body.map_err(body_err)?;
    let control = Arc::clone(&s.sources.control);
    Ok(Json(blocking(move || control.import_routes(&body)).await?))
}

async fn list_accounts(State(s): State<AppState>) -> ApiResult<Vec<crate::types::Account>> {
    let money = Arc::clone(&s.sources.money);
    Ok(Json(blocking(move || money.accounts()).await?))
}

async fn show_account(
    State(s): State<AppState>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<Vec<crate::types::Account>> {
    let Path(p) = p.map_err(path_err)?;
    let money = Arc::clone(&s.sources.money);
    Ok(Json(blocking(move || money.account(&p)).await?))
}

fn check_reason(reason: &str) -> Result<(), ApiError> {
    if reason.trim().is_empty() || reason.len() > 128 {
        return Err(ApiError::bad_request(
            "reason: give why (1-128 bytes); it goes into the journal",
        ));
    }
    Ok(())
}

fn check_amount(amount: i64, zero_ok: bool) -> Result<(), ApiError> {
    if amount < 0 || (!zero_ok && amount == 0) {
        return Err(ApiError::bad_request(format!(
            "amount: {amount} must be {} in minor units",
            if zero_ok { "0 or more" } else { "above 0" }
        )));
    }
    Ok(())
}

async fn reserve_change(
    s: AppState,
    p: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
    deposit: bool,
) -> ApiResult<crate::types::Account> {
    let Path(p) = p.map_err(path_err)?;
    let change: ReserveChange = parse_json(body)?;
    check_reason(&change.reason)?;
    check_amount(change.amount, false)?;
    let money = Arc::clone(&s.sources.money);
    Ok(Json(
        blocking(move || {
            if deposit {
                money.deposit(&p, &change)
            } else {
                money.withdraw(&p, &change)
            }
        })
        .await?,
    ))
}

async fn deposit(
    State(s): State<AppState>,
    p: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<crate::types::Account> {
    reserve_change(s, p, body, true).await
}

async fn withdraw(
    State(s): State<AppState>,
    p: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<crate::types::Account> {
    reserve_change(s, p, body, false).await
}

async fn set_limit(
    State(s): State<AppState>,
    p: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<crate::types::Account> {
    let Path(p) = p.map_err(path_err)?;
    let change: LimitChange = parse_json(body)?;
    check_reason(&change.reason)?;
    check_amount(change.amount, true)?;
    let money = Arc::clone(&s.sources.money);
    Ok(Json(blocking(move || money.set_limit(&p, &change)).await?))
}

async fn list_windows(State(s): State<AppState>) -> ApiResult<Vec<crate::types::WindowSummary>> {
    let money = Arc::clone(&s.sources.money);
    Ok(Json(blocking(move || money.windows()).await?))
}

fn window_number(p: Result<Path<String>, PathRejection>) -> Result<u64, ApiError> {
    let Path(n) = p.map_err(path_err)?;
    n.parse()
        .map_err(|_| ApiError::bad_request(format!("window {n:?} is not a window number")))
}

async fn show_window(
    State(s): State<AppState>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<crate::types::WindowDetail> {
    let n = window_number(p)?;
    let money = Arc::clone(&s.sources.money);
    Ok(Json(blocking(move || money.window(n)).await?))
}

async fn cutoff(State(s): State<AppState>) -> ApiResult<crate::types::CutoffOutcome> {
    let money = Arc::clone(&s.sources.money);
    Ok(Json(blocking(move || money.cutoff()).await?))
}

async fn show_settlement(
    State(s): State<AppState>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<crate::types::WindowDetail> {
    let n = window_number(p)?;
    let money = Arc::clone(&s.sources.money);
    let detail = blocking(move || money.window(n)).await?;
    if detail.window.state != crate::types::WindowState::Settled {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "window {n} is not settled yet; run `clearctl cutoff` to close the open window"
            ),
        ));
    }
    Ok(Json(detail))
}

async fn settlement_files(
    State(s): State<AppState>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<crate::types::SettlementFiles> {
    let n = window_number(p)?;
    let money = Arc::clone(&s.sources.money);
    Ok(Json(blocking(move || money.settlement_files(n)).await?))
}

async fn metrics_text(State(s): State<AppState>) -> Result<Response, ApiError> {
    let registry = Arc::clone(&s.registry);
    let text = blocking(move || {
        metrics::render(&registry)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))
    })
    .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Bearer-token check for the TCP listener.
async fn require_token(
    State(token): State<Arc<[u8]>>,
    headers: HeaderMap,
    req: Request,
    next: Next,
) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::as_bytes);
    match given {
        Some(g) if constant_time_eq(g, &token) => next.run(req).await,
        _ => {
            let mut r = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong bearer token; pass --token-file with the API token",
            )
            .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            r
        }
    }
}

/// Compares without an early exit on the first differing byte, so the
/// answer time does not tell an attacker how much of the token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub socket: PathBuf,
    /// Permissions of the socket file (0o600: only clearwayd's user).
    pub socket_mode: u32,
    pub tcp: Option<TcpConfig>,
}

impl ApiConfig {
    pub fn unix(socket: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket.into(),
            socket_mode: 0o600,
            tcp: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TcpConfig {
    pub addr: SocketAddr,
    /// File whose content (trimmed) is the bearer token.
    pub token_file: PathBuf,
}

#[derive(Debug, Error)]
pub enum ServeError {
    #[error(
        "API socket {path}: {source}; check the directory exists and is writable by clearwayd"
    )]
    Socket {
        path: String,
        source: std::io::Error,
    },
    #[error("API socket {path} is in use by a running process; stop the other clearwayd or choose another api socket")]
    SocketInUse { path: String },
    #[error("API TCP address {addr}: {source}; choose a free address or remove [api] tcp")]
    Tcp {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("API token file {path}: {message}")]
    Token { path: String, message: String },
}

/// A running API. Dropping it does not stop it; call [`ApiServer::shutdown`].
#[derive(Debug)]
pub struct ApiServer {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    socket: PathBuf,
    tcp_addr: Option<SocketAddr>,
}

impl ApiServer {
    pub fn socket_path(&self) -> &FsPath {
        &self.socket
    }
    /// The bound TCP address (with the real port when configured as 0).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }
    /// Stops accepting, lets open requests finish, removes the socket file.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn read_token(path: &FsPath) -> Result<Arc<[u8]>, ServeError> {
    let err = |message: String| ServeError::Token {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        err(format!(
            "{e}; create it with a random token (e.g. 32 hex bytes)"
        ))
    })?;
    let token = text.trim();
    if token.len() < 16 {
        return Err(err(format!(
            "token is {} bytes; use at least 16 random bytes",
            token.len()
        )));
    }
    Ok(Arc::from(token.as_bytes()))
}

fn bind_unix(config: &ApiConfig) -> Result<tokio::net::UnixListener, ServeError> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let path = &config.socket;
    let err = |source| ServeError::Socket {
        path: path.display().to_string(),
        source,
    };
    // A socket file left by a crashed daemon is removed; one that still
    // answers belongs to a live daemon and is left alone.
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(ServeError::SocketInUse {
                    path: path.display().to_string(),
                });
            }
            std::fs::remove_file(path).map_err(err)?;
        }
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(err)?;
    // Between bind and chmod the file has the umask's mode; clearwayd keeps
    // its socket directory 0750 so no one else can reach it in that window.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(config.socket_mode))
        .map_err(err)?;
    Ok(listener)
}

/// Starts the API on the current tokio runtime: binds the socket (and the
/// TCP address), spawns the accept loops and the per-second TPS sampler,
/// and returns at once.
pub async fn serve(config: ApiConfig, sources: Sources) -> Result<ApiServer, ServeError> {
    let tcp = match &config.tcp {
        Some(t) => {
            let token = read_token(&t.token_file)?;
            let listener = tokio::net::TcpListener::bind(t.addr)
                .await
                .map_err(|source| ServeError::Tcp {
                    addr: t.addr,
                    source,
                })?;
            Some((listener, token))
        }
        None => None,
    };
    let unix = bind_unix(&config)?;
    let tps = Arc::new(AtomicU64::new(0));
    let state = AppState {
        registry: Arc::new(metrics::registry(sources.clone())),
        sources: sources.clone(),
        started: Instant::now(),
        tps: Arc::clone(&tps),
    };
    let app = router_with(state);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let mut tcp_addr = None;
    if let Some((listener, token)) = tcp {
        tcp_addr = listener.local_addr().ok();
        let authed = app
            .clone()
            .layer(middleware::from_fn_with_state(token, require_token));
        tasks.push(tokio::spawn(accept_loop(
            Listener::Tcp(listener),
            authed,
            stopped.clone(),
        )));
    }
    tasks.push(tokio::spawn(accept_loop(
        Listener::Unix(unix),
        app,
        stopped.clone(),
    )));
    tasks.push(tokio::spawn(sample_tps(sources.status, tps, stopped)));
    Ok(ApiServer {
        stop,
        tasks,
        socket: config.socket,
        tcp_addr,
    })
}

enum Listener {
    Unix(tokio::net::UnixListener),
    Tcp(tokio::net::TcpListener),
}

/// Most connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;
/// A client must send its request head within this (idle keep-alive
/// connections are closed after it too).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest life of one connection: a 1,000,000-row import over a slow link
/// takes well under this.
const MAX_CONNECTION_TIME: Duration = Duration::from_secs(300);

async fn accept_loop(
    listener: Listener,
    app: Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stop.changed() => return,
        };
        let accepted = tokio::select! {
            a = accept(&listener) => a,
            _ = stop.changed() => return,
        };
        let Ok(io) = accepted else {
            // EMFILE and friends: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(io, service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stop.changed() => {}
                // A client trickling a body must not hold a slot forever.
                _ = tokio::time::sleep(MAX_CONNECTION_TIME) => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(HEADER_TIMEOUT, conn).await;
        });
    }
}

type BoxedIo = hyper_util::rt::TokioIo<Box<dyn AsyncStream>>;

trait AsyncStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> AsyncStream for T {}

async fn accept(listener: &Listener) -> std::io::Result<BoxedIo> {
    let stream: Box<dyn AsyncStream> = match listener {
        Listener::Unix(l) => Box::new(l.accept().await?.0),
        Listener::Tcp(l) => {
            let (s, _) = l.accept().await?;
            let _ = s.set_nodelay(true);
            Box::new(s)
        }
    };
    Ok(hyper_util::rt::TokioIo::new(stream))
}

/// Responses to acquirers in the last second, for `status`.
async fn sample_tps(
    status: Arc<dyn StatusSource>,
    tps: Arc<AtomicU64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let answered = |s: &dyn StatusSource| {
        let c = s.counters();
        switch::counters::ResponseCode::ALL
            .iter()
            .map(|r| c.response(*r))
            .sum::<u64>()
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = answered(status.as_ref());
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let now = answered(status.as_ref());
        tps.store(now.saturating_sub(last), Ordering::Relaxed);
        last = now;
    }
}
