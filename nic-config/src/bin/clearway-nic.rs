//! `clearway-nic`: check, plan, bind and install Clearway on a host.
#![forbid(unsafe_code)]

use anyhow::Context;
use nic_config::{config, plan, HostModel};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| config::DEFAULT_CONFIG_PATH.into());
    let cfg = config::load(&path)?;
    let host = HostModel::probe("/".as_ref());
    let plan = plan(&cfg.layout, &host).context("planning the dataplane")?;
    print!("{}", plan.render(&cfg.layout));
    Ok(())
}
