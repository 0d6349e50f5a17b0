//! `clearctl accounts ...`, `windows ...`, `cutoff`, `settlement ...`.
//! Amounts are integers in minor units of the account's currency.

use crate::output::Output;
use crate::table;
use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use control::client::{segment, Client, Method};
use control::types::{
    Account, CutoffOutcome, LimitChange, LimitKind, ReserveChange, SettlementFiles, WindowDetail,
    WindowState, WindowSummary,
};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Every reserve account.
    List,
    /// A participant's accounts.
    Show { participant: String },
    /// Adds AMOUNT (minor units) to the reserve.
    Deposit {
        participant: String,
        amount: i64,
        /// Why (journaled).
        #[arg(long)]
        reason: String,
        /// ISO 4217 numeric code, when the participant has several accounts.
        #[arg(long)]
        currency: Option<u16>,
    },
    /// Takes AMOUNT (minor units) out of the reserve.
    Withdraw {
        participant: String,
        amount: i64,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        currency: Option<u16>,
    },
    /// Sets a limit to AMOUNT (minor units).
    SetLimit {
        participant: String,
        #[arg(value_enum)]
        kind: LimitArg,
        amount: i64,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        currency: Option<u16>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LimitArg {
    NetDebitCap,
    PerTransaction,
    Daily,
}

impl From<LimitArg> for LimitKind {
    fn from(l: LimitArg) -> Self {
        match l {
            LimitArg::NetDebitCap => LimitKind::NetDebitCap,
            LimitArg::PerTransaction => LimitKind::PerTransaction,
            LimitArg::Daily => LimitKind::Daily,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum WindowsCommand {
    /// Clearing windows, newest first.
    List,
    /// One window with its net positions.
    Show { number: u64 },
}

#[derive(Debug, Subcommand)]
pub enum SettlementCommand {
    /// Net positions of a settled window.
    Show { window: u64 },
    /// Writes the window's settlement files (CSV, JSON) into --out.
    Export {
        window: u64,
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

fn account_rows(accounts: &[Account]) {
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| {
            vec![
                a.participant.clone(),
                a.currency.to_string(),
                a.reserve_balance.to_string(),
                a.net_debit_cap.to_string(),
                a.net_position.to_string(),
                a.holds.to_string(),
                a.available.to_string(),
            ]
        })
        .collect();
    table::print(
        &[
            "PARTICIPANT",
            "CURRENCY",
            "RESERVE",
            "NET_DEBIT_CAP",
            "POSITION",
            "HOLDS",
            "AVAILABLE",
        ],
        &rows,
    );
}

fn positive(amount: i64) -> anyhow::Result<()> {
    if amount <= 0 {
        bail!("amount {amount} must be above 0 (minor units of the account's currency)");
    }
    Ok(())
}

/// A deposit or withdrawal: one request, the account as it stands after.
fn move_reserve(
    client: &Client,
    out: Output,
    participant: &str,
    action: &str,
    change: &ReserveChange,
) -> anyhow::Result<()> {
    positive(change.amount)?;
    let a: Account = client.send(Method::POST, &account_path(participant, action), change)?;
    out.emit(&a, |a| account_rows(std::slice::from_ref(a)))
}

fn account_path(p: &str, action: &str) -> String {
    format!("/v1/accounts/{}/{action}", segment(p))
}

pub fn accounts(cmd: AccountsCommand, client: &Client, out: Output) -> anyhow::Result<()> {
    match cmd {
        AccountsCommand::List => {
            let list: Vec<Account> = client.get("/v1/accounts")?;
            out.emit(&list, |l| account_rows(l))
        }
        AccountsCommand::Show { participant } => {
            let list: Vec<Account> =
                client.get(&format!("/v1/accounts/{}", segment(&participant)))?;
            out.emit(&list, |l| account_rows(l))
        }
        AccountsCommand::Deposit {
            participant,
            amount,
            reason,
            currency,
        } => {
            let change = ReserveChange {
                currency,
                amount,
                reason,
            };
            move_reserve(client, out, &participant, "deposit", &change)
        }
        AccountsCommand::Withdraw {
            participant,
            amount,
            reason,
            currency,
        } => {
            let change = ReserveChange {
                currency,
                amount,
                reason,
            };
            move_reserve(client, out, &participant, "withdraw", &change)
        }
        AccountsCommand::SetLimit {
            participant,
            kind,
            amount,
            reason,
            currency,
        } => {
            let a: Account = client.send(
                Method::POST,
                &account_path(&participant, "limit"),
                &LimitChange {
                    currency,
                    kind: kind.into(),
                    amount,
                    reason,
                },
            )?;
            out.emit(&a, |a| account_rows(std::slice::from_ref(a)))
        }
    }
}

fn state(s: WindowState) -> &'static str {
    match s {
        WindowState::Open => "open",
        WindowState::Closing => "closing",
        WindowState::Settled => "settled",
    }
}

fn window_rows(list: &[WindowSummary]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|w| {
            vec![
                w.number.to_string(),
                state(w.state).to_string(),
                w.opened_at_ms.to_string(),
                w.closed_at_ms.map_or("-".into(), |c| c.to_string()),
                w.transactions.to_string(),
            ]
        })
        .collect();
    table::print(
        &["WINDOW", "STATE", "OPENED_MS", "CLOSED_MS", "TRANSACTIONS"],
        &rows,
    );
}

fn detail(d: &WindowDetail) {
    window_rows(std::slice::from_ref(&d.window));
    println!();
    let rows: Vec<Vec<String>> = d
        .positions
        .iter()
        .map(|p| {
            vec![
                p.participant.clone(),
                p.currency.to_string(),
                p.debit.to_string(),
                p.credit.to_string(),
                p.net.to_string(),
                p.count.to_string(),
            ]
        })
        .collect();
    table::print(
        &["PARTICIPANT", "CURRENCY", "DEBIT", "CREDIT", "NET", "COUNT"],
        &rows,
    );
}

pub fn windows(cmd: WindowsCommand, client: &Client, out: Output) -> anyhow::Result<()> {
    match cmd {
        WindowsCommand::List => {
            let list: Vec<WindowSummary> = client.get("/v1/windows")?;
            out.emit(&list, |l| window_rows(l))
        }
        WindowsCommand::Show { number } => {
            let d: WindowDetail = client.get(&format!("/v1/windows/{number}"))?;
            out.emit(&d, detail)
        }
    }
}

pub fn cutoff(client: &Client, out: Output) -> anyhow::Result<()> {
    let c: CutoffOutcome = client.call(Method::POST, "/v1/cutoff", None)?;
    out.emit(&c, |c| {
        println!(
            "closed window {} and opened {} in {} ms; files: clearctl settlement export {}",
            c.closed, c.opened, c.took_ms, c.closed
        )
    })
}

pub fn settlement(cmd: SettlementCommand, client: &Client, out: Output) -> anyhow::Result<()> {
    match cmd {
        SettlementCommand::Show { window } => {
            let d: WindowDetail = client.get(&format!("/v1/settlement/{window}"))?;
            out.emit(&d, detail)
        }
        SettlementCommand::Export { window, out: dir } => {
            let files: SettlementFiles = client.get(&format!("/v1/settlement/{window}/files"))?;
            let mut written = Vec::new();
            for f in &files.files {
                written.push(write_file(&dir, &f.name, &f.contents)?);
            }
            let paths: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
            out.emit(&paths, |paths| {
                for p in paths {
                    println!("wrote {p}");
                }
            })
        }
    }
}

/// Writes a settlement file; an existing identical file is fine (re-runs
/// are byte-identical), a different one is never overwritten.
fn write_file(dir: &Path, name: &str, contents: &str) -> anyhow::Result<PathBuf> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        bail!("clearwayd sent a settlement file name {name:?} that is not a plain file name; refusing to write it");
    }
    let path = dir.join(name);
    if let Ok(existing) = std::fs::read(&path) {
        if existing == contents.as_bytes() {
            return Ok(path);
        }
        bail!(
            "{} exists with different contents; move it away or choose another --out",
            path.display()
        );
    }
    std::fs::write(&path, contents).with_context(|| {
        format!(
            "writing {}; check --out exists and is writable",
            path.display()
        )
    })?;
    Ok(path)
}
