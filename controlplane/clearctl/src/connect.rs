//! Where clearctl finds clearwayd: the Unix socket by default, or a TCP
//! URL with a token file.

use anyhow::{bail, Context};
use clap::Args;
use control::client::{Client, Endpoint};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// clearwayd's API socket.
    #[arg(
        long,
        global = true,
        default_value = "/run/clearway/api.sock",
        env = "CLEARCTL_SOCKET"
    )]
    pub socket: PathBuf,
    /// Use the TCP API instead, e.g. http://10.0.0.5:9000 (needs --token-file).
    #[arg(long, global = true, env = "CLEARCTL_URL")]
    pub url: Option<String>,
    /// File holding the API bearer token (TCP only).
    #[arg(long, global = true, env = "CLEARCTL_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

impl ConnectArgs {
    pub fn client(&self) -> anyhow::Result<Client> {
        let endpoint = match &self.url {
            None => Endpoint::Unix(self.socket.clone()),
            Some(url) => {
                let Some(rest) = url.strip_prefix("http://") else {
                    bail!("--url {url:?} must start with http:// (put TLS in front with a proxy)");
                };
                let addr = rest.trim_end_matches('/');
                if addr.is_empty() || addr.contains('/') {
                    bail!("--url {url:?} must be http://HOST:PORT with no path");
                }
                let token = match &self.token_file {
                    Some(path) => Some(
                        std::fs::read_to_string(path)
                            .with_context(|| {
                                format!(
                                    "reading --token-file {}; check the path and its permissions",
                                    path.display()
                                )
                            })?
                            .trim()
                            .to_string(),
                    ),
                    None => None,
                };
                Endpoint::Tcp {
                    addr: addr.to_string(),
                    token,
                }
            }
        };
        Ok(Client::new(endpoint)?)
    }
}
