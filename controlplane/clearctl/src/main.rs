//! clearctl, the operator's CLI for Clearway.
//!
//! What it is: one binary with a subcommand per area, speaking clearwayd's
//! HTTP/JSON API over its Unix socket (or TCP with a token): status,
//! participants, routes, accounts, windows, cutoff, settlement, stats, plus
//! the offline `msg decode|encode`. Every command takes `--json`; without
//! it the output is tables for people. Errors are one line that says what
//! to do; the exit status is 1 for a refused or failed command, 3 when
//! clearwayd cannot be reached, 2 for a command-line mistake.
//! What it is not: a daemon; every command runs, prints, and exits.
#![forbid(unsafe_code)]

mod connect;
mod live;
mod money;
mod msg;
mod output;
mod participants;
mod routes;
mod table;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use control::client::ClientError;
use output::Output;

#[derive(Debug, Parser)]
#[command(name = "clearctl", version, about = "Clearway operator CLI")]
struct Cli {
    /// Print JSON documents instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    connect: connect::ConnectArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Version, uptime, ports and links, lcores, TPS now, pending, window.
    Status,
    /// Participants: list, show, add, update, suspend, resume.
    #[command(subcommand)]
    Participants(participants::ParticipantsCommand),
    /// BIN routes: list, add, del, import FILE.csv.
    #[command(subcommand)]
    Routes(routes::RoutesCommand),
    /// Reserve accounts: list, show, deposit, withdraw, set-limit.
    #[command(subcommand)]
    Accounts(money::AccountsCommand),
    /// Clearing windows: list, show.
    #[command(subcommand)]
    Windows(money::WindowsCommand),
    /// Closes the open clearing window now and settles it.
    Cutoff,
    /// Settlement of a closed window: show, export (CSV + JSON files).
    #[command(subcommand)]
    Settlement(money::SettlementCommand),
    /// Switch counters; --watch prints a per-second table until interrupted.
    Stats {
        #[arg(long)]
        watch: bool,
        /// With --watch: stop after this many lines.
        #[arg(long, requires = "watch")]
        count: Option<u64>,
    },
    /// ISO 8583 messages: decode hex to JSON lines, encode JSON lines to hex.
    #[command(subcommand)]
    Msg(msg::MsgCommand),
    /// Prints a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let out = Output { json: cli.json };
    let ok = |r: anyhow::Result<()>| r.map(|()| ExitCode::SUCCESS);
    match cli.command {
        // msg's own failures (an unknown spec) are usage errors: exit 2.
        Command::Msg(cmd) => Ok(msg::run(cmd).unwrap_or_else(|err| {
            eprintln!("clearctl: {err:#}");
            ExitCode::from(2)
        })),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "clearctl",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        command => {
            let client = cli.connect.client()?;
            ok(match command {
                Command::Status => live::status(&client, out),
                Command::Stats { watch, count } => live::stats(&client, out, watch, count),
                Command::Participants(c) => participants::run(c, &client, out),
                Command::Routes(c) => routes::run(c, &client, out),
                Command::Accounts(c) => money::accounts(c, &client, out),
                Command::Windows(c) => money::windows(c, &client, out),
                Command::Cutoff => money::cutoff(&client, out),
                Command::Settlement(c) => money::settlement(c, &client, out),
                Command::Msg(_) | Command::Completions { .. } => unreachable!("handled above"),
            })
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // One line: the chain joined, the root cause says what to do.
            eprintln!("clearctl: {err:#}");
            match err.downcast_ref::<ClientError>() {
                Some(ClientError::Connect { .. }) => ExitCode::from(3),
                _ => ExitCode::from(1),
            }
        }
    }
}
