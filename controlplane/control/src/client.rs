//! A blocking client for the control-plane API, over the Unix socket or TCP
//! with a bearer token. One HTTP/1.1 connection per request: the operator's
//! commands are few, and a fresh connection never carries state over.

use crate::types::ErrorBody;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
pub use hyper::Method;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::PathBuf;
use thiserror::Error;

/// Where the API listens.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// The local Unix socket (no token: the socket's file mode is the lock).
    Unix(PathBuf),
    /// `host:port` with the bearer token.
    Tcp { addr: String, token: Option<String> },
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::Tcp { addr, .. } => write!(f, "http://{addr}"),
        }
    }
}

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("cannot reach clearwayd at {endpoint}: {source}; is clearwayd running, and is --socket/--url right?")]
    Connect {
        endpoint: String,
        source: std::io::Error,
    },
    #[error("talking to clearwayd at {endpoint}: {message}; retry, and check clearwayd's log if it persists")]
    Transport { endpoint: String, message: String },
    /// The API answered with an error document.
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("clearwayd answered {status} with a body that is not the expected JSON ({detail}); are clearctl and clearwayd the same version?")]
    Decode { status: u16, detail: String },
    #[error("cannot start the client runtime: {0}")]
    Runtime(std::io::Error),
}

impl ClientError {
    /// HTTP status for API errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A raw answer: status and body bytes.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Blocking API client.
#[derive(Debug)]
pub struct Client {
    endpoint: Endpoint,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    pub fn new(endpoint: Endpoint) -> Result<Self, ClientError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(ClientError::Runtime)?;
        Ok(Self { endpoint, runtime })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// GET `path`, decoding the JSON answer.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        decode(self.raw(Method::GET, path, None, None)?)
    }

    /// `method` with a JSON body, decoding the JSON answer.
    pub fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Transport {
            endpoint: self.endpoint.to_string(),
            message: format!("encoding the request: {e}"),
        })?;
        decode(self.raw(method, path, Some(bytes), Some("application/json"))?)
    }

    /// `method` without a body (or with a raw one), decoding the JSON answer.
    pub fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<T, ClientError> {
        let (bytes, ctype) = match body {
            Some((b, c)) => (Some(b), Some(c)),
            None => (None, None),
        };
        decode(self.raw(method, path, bytes, ctype)?)
    }

    /// One request, whatever the status; errors only for transport failures.
    pub fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> Result<RawResponse, ClientError> {
        let endpoint = self.endpoint.to_string();
        let transport = |message: String| ClientError::Transport {
            endpoint: endpoint.clone(),
            message,
        };
        let mut req = Request::builder().method(method).uri(path);
        match &self.endpoint {
            Endpoint::Unix(_) => req = req.header(HOST, "localhost"),
            Endpoint::Tcp { addr, token } => {
                req = req.header(HOST, addr.as_str());
                if let Some(t) = token {
                    req = req.header(AUTHORIZATION, format!("Bearer {t}"));
                }
            }
        }
        if let Some(c) = content_type {
            req = req.header(CONTENT_TYPE, c);
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| transport(format!("building the request: {e}")))?;
        self.runtime.block_on(async {
            let connect_err = |source| ClientError::Connect {
                endpoint: endpoint.clone(),
                source,
            };
            let response = match &self.endpoint {
                Endpoint::Unix(path) => {
                    let stream = tokio::net::UnixStream::connect(path)
                        .await
                        .map_err(connect_err)?;
                    exchange(TokioIo::new(stream), req).await
                }
                Endpoint::Tcp { addr, .. } => {
                    let stream = tokio::net::TcpStream::connect(addr.as_str())
                        .await
                        .map_err(connect_err)?;
                    exchange(TokioIo::new(stream), req).await
                }
            };
            response.map_err(transport)
        })
    }
}

async fn exchange<S>(io: TokioIo<S>, req: Request<Full<Bytes>>) -> Result<RawResponse, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    // The connection task ends when the response is read and the sender dropped.
    let driver = tokio::spawn(conn);
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    drop(sender);
    driver.abort();
    Ok(RawResponse {
        status,
        content_type,
        body,
    })
}

/// Success → the document; error status → [`ClientError::Api`] with the
/// server's message.
fn decode<T: DeserializeOwned>(r: RawResponse) -> Result<T, ClientError> {
    if (200..300).contains(&r.status) {
        return serde_json::from_slice(&r.body).map_err(|e| ClientError::Decode {
            status: r.status,
            detail: e.to_string(),
        });
    }
    match serde_json::from_slice::<ErrorBody>(&r.body) {
        Ok(e) => Err(ClientError::Api {
            status: r.status,
            code: e.error.code,
            message: e.error.message,
        }),
        Err(e) => Err(ClientError::Decode {
            status: r.status,
            detail: e.to_string(),
        }),
    }
}

/// Percent-encodes one path segment (ids are operator-chosen text).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
