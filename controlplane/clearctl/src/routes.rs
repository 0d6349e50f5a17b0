//! `clearctl routes list|add|del|import`.

use crate::output::Output;
use crate::table;
use anyhow::Context;
use clap::Subcommand;
use control::client::{segment, Client, Method};
use control::types::{ImportOutcome, Published, RoutePage, RouteRow};
use std::io::Read;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum RoutesCommand {
    /// BIN routes in prefix order (a page; --all for every one).
    List {
        /// Only routes to this participant.
        #[arg(long)]
        participant: Option<String>,
        /// Start after this prefix.
        #[arg(long)]
        after: Option<String>,
        /// Rows per page.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Fetch every page.
        #[arg(long)]
        all: bool,
        /// Print `prefix,participant` lines (the import format).
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
    /// Routes card numbers starting with PREFIX to PARTICIPANT (an issuer).
    Add { prefix: String, participant: String },
    /// Removes the route for PREFIX.
    Del { prefix: String },
    /// Replaces the whole BIN table with FILE (`prefix,participant` lines;
    /// `-` for stdin), swapped in at once.
    Import { file: PathBuf },
}

pub fn run(cmd: RoutesCommand, client: &Client, out: Output) -> anyhow::Result<()> {
    match cmd {
        RoutesCommand::List {
            participant,
            after,
            limit,
            all,
            csv,
        } => {
            let mut rows = Vec::new();
            let mut after = after;
            let total = loop {
                let mut q = format!("/v1/routes?limit={}", limit.max(1));
                if let Some(a) = &after {
                    q.push_str(&format!("&after={}", segment(a)));
                }
                if let Some(p) = &participant {
                    q.push_str(&format!("&participant={}", segment(p)));
                }
                let page: RoutePage = client.get(&q)?;
                rows.extend(page.routes);
                match page.next {
                    Some(next) if all => after = Some(next),
                    _ => break page.total,
                }
            };
            if csv {
                for r in &rows {
                    println!("{},{}", r.prefix, r.participant);
                }
                return Ok(());
            }
            out.emit(&rows, |rows| {
                let cells: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| vec![r.prefix.clone(), r.participant.clone()])
                    .collect();
                table::print(&["PREFIX", "PARTICIPANT"], &cells);
                if (rows.len() as u64) < total {
                    println!("({} of {total}; --all for every route)", rows.len());
                }
            })
        }
        RoutesCommand::Add {
            prefix,
            participant,
        } => {
            let p: Published = client.send(
                Method::POST,
                "/v1/routes",
                &RouteRow {
                    prefix: prefix.clone(),
                    participant: participant.clone(),
                },
            )?;
            out.emit(&p, |p| {
                println!("{prefix} -> {participant} (route version {})", p.version)
            })
        }
        RoutesCommand::Del { prefix } => {
            let p: Published = client.call(
                Method::DELETE,
                &format!("/v1/routes/{}", segment(&prefix)),
                None,
            )?;
            out.emit(&p, |p| {
                println!("deleted {prefix} (route version {})", p.version)
            })
        }
        RoutesCommand::Import { file } => {
            let mut csv = Vec::new();
            if file.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_end(&mut csv)
                    .context("reading the CSV from stdin")?;
            } else {
                csv = std::fs::read(&file)
                    .with_context(|| format!("reading {}; check the path", file.display()))?;
            }
            let started = std::time::Instant::now();
            let r: ImportOutcome =
                client.call(Method::PUT, "/v1/routes", Some((csv, "text/csv")))?;
            let secs = started.elapsed().as_secs_f64();
            out.emit(&r, |r| {
                println!(
                    "imported {} routes (crc32c {:08x}) as route version {} in {:.2} s ({} ms in clearwayd)",
                    r.rows, r.crc32c, r.version, secs, r.took_ms
                )
            })
        }
    }
}
