//! `clearway-nic`: check a host, print the dataplane plan, bind NICs and install the service.
#![forbid(unsafe_code)]

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use nic_config::check::{self, Status};
use nic_config::config::{self, DataplaneConfig, DEFAULT_CONFIG_PATH};
use nic_config::service::{self, UnitOptions, DEFAULT_BINARY};
use nic_config::sysfs::Root;
use nic_config::{bind, plan, HostModel};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "clearway-nic",
    version,
    about = "Check, plan, bind and install Clearway on a bare-metal host"
)]
struct Cli {
    /// Root under which /proc, /sys, /dev and /etc are read and written (tests use fake trees).
    #[arg(long, global = true, default_value = "/")]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pass/warn/fail table of host readiness, one fix per line; exit 1 when anything fails.
    Check {
        /// clearway.toml (default: <root>/etc/clearway/clearway.toml if present, else host only).
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The lcore <-> queue map, mempool size and EAL arguments clearwayd will use.
    Plan {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Bind a PCI function to a driver (driver_override + unbind + drivers_probe).
    Bind {
        /// PCI address, e.g. 0000:3b:00.0
        pci: String,
        #[arg(long, default_value = "vfio-pci")]
        driver: String,
        /// Unbind even if its kernel interface is up with routes or addresses.
        #[arg(long)]
        force: bool,
    },
    /// Detach a PCI function from its driver and clear driver_override.
    Unbind {
        pci: String,
        #[arg(long)]
        force: bool,
    },
    /// Print the systemd unit for clearwayd.
    Service {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Path of the clearwayd binary in ExecStart.
        #[arg(long, default_value = DEFAULT_BINARY)]
        binary: PathBuf,
    },
    /// Write the unit to <root>/etc/systemd/system/clearwayd.service.
    InstallService {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, default_value = DEFAULT_BINARY)]
        binary: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("clearway-nic: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `--config` if given, else the default path under the root if it exists.
fn config_path(root: &Root, given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| Some(root.join(DEFAULT_CONFIG_PATH)).filter(|p| p.exists()))
}

fn require_config(
    root: &Root,
    given: Option<PathBuf>,
) -> anyhow::Result<(PathBuf, DataplaneConfig)> {
    let Some(path) = config_path(root, given) else {
        bail!("no config: pass --config clearway.toml (or install one at {DEFAULT_CONFIG_PATH})");
    };
    let cfg = config::load(&path)?;
    Ok((path, cfg))
}

fn probe(root: &Root, cfg: Option<&DataplaneConfig>) -> HostModel {
    let ports: Vec<&str> = cfg
        .map(|c| {
            c.layout
                .pci_ports()
                .map(|(_, p)| p.device.as_str())
                .collect()
        })
        .unwrap_or_default();
    HostModel::probe_with(root, &ports)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let root = Root::new(&cli.root);
    match cli.command {
        Command::Check { config, json } => {
            let cfg = match config_path(&root, config) {
                Some(path) => Some(config::load(&path)?),
                None => None,
            };
            let host = probe(&root, cfg.as_ref());
            let report = check::run(&host, &root, cfg.as_ref().map(|c| &c.layout));
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                if cfg.is_none() {
                    println!("(no config given: checking the host only; pass --config clearway.toml to check a plan)");
                }
                print!("{}", report.render());
            }
            Ok(if report.worst() == Status::Fail {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Plan { config, json } => {
            let (_, cfg) = require_config(&root, config)?;
            let host = probe(&root, Some(&cfg));
            let plan = plan(&cfg.layout, &host).context("planning the [dataplane] layout")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                print!("{}", plan.render(&cfg.layout));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bind { pci, driver, force } => {
            let report = bind::bind(&root, &pci, &driver, force)?;
            print_writes(&report);
            if report.writes.is_empty() {
                println!("{pci} is already bound to {driver}");
            } else if !report.is_bound_to(&driver) {
                bail!(
                    "{pci} is on {} after the probe, not {driver}: see dmesg (for vfio-pci: is the IOMMU on? is every device of its IOMMU group unbound or on vfio-pci?)",
                    report.driver_now.as_deref().unwrap_or("no driver")
                );
            } else {
                println!(
                    "{pci}: {} -> {driver}",
                    report.previous_driver.as_deref().unwrap_or("no driver")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Unbind { pci, force } => {
            let report = bind::unbind(&root, &pci, force)?;
            print_writes(&report);
            println!(
                "{pci}: {} -> no driver",
                report.previous_driver.as_deref().unwrap_or("no driver")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Service { config, binary } => {
            let unit = unit_text(&root, config, binary)?;
            print!("{unit}");
            Ok(ExitCode::SUCCESS)
        }
        Command::InstallService { config, binary } => {
            let unit = unit_text(&root, config, binary)?;
            let path = service::install(&root, &unit).context("writing the unit")?;
            println!("wrote {}", path.display());
            println!("next: systemctl daemon-reload && systemctl enable --now clearwayd");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn unit_text(root: &Root, config: Option<PathBuf>, binary: PathBuf) -> anyhow::Result<String> {
    let (path, cfg) = require_config(root, config)?;
    let host = probe(root, Some(&cfg));
    let plan = plan(&cfg.layout, &host).context("planning the [dataplane] layout")?;
    let config_path = unit_config_path(root, &path);
    Ok(service::render_unit(
        &cfg,
        &plan,
        &UnitOptions {
            binary,
            config_path,
        },
    ))
}

/// The config path as the service will see it: absolute, and relative to the root when the
/// file lives under it (a staging tree for an image build).
fn unit_config_path(root: &Root, path: &Path) -> PathBuf {
    let abs = service::absolute(path);
    match abs.strip_prefix(service::absolute(root.path())) {
        Ok(rel) if !root.is_host() => Path::new("/").join(rel),
        _ => abs,
    }
}

fn print_writes(report: &bind::BindReport) {
    for (path, value) in &report.writes {
        println!("  echo {:?} > {path}", value.trim_end());
    }
}
