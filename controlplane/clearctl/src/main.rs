//! clearctl, the operator's CLI for Clearway.
//!
//! What it is: one binary with a subcommand per area (`clearctl msg ...` today; the
//! control-plane subcommands arrive with the control plane). What it is not: a daemon;
//! every command runs, prints, and exits.
#![forbid(unsafe_code)]

mod msg;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "clearctl", version, about = "Clearway operator CLI")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// ISO 8583 messages: decode hex to JSON lines, encode JSON lines to hex.
    #[command(subcommand)]
    Msg(msg::MsgCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Msg(cmd) => msg::run(cmd),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("clearctl: {err:#}");
            ExitCode::from(2)
        }
    }
}
