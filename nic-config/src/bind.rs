//! Binding a PCI function to a driver (vfio-pci for DPDK) and back, the way `dpdk-devbind.py`
//! does it: `driver_override` names the driver, the current driver lets go (`driver/unbind`),
//! and `drivers_probe` asks the kernel to attach the overriding driver.
//!
//! Before a kernel driver is made to let go, the device's network interfaces are checked: an
//! interface that is up and carries a route or an address is refused (unless forced), because
//! unbinding it would cut whatever uses it — often the operator's own SSH session.

use crate::host::net_dirs;
use crate::sysfs::Root;
use crate::usage::{interface_usage, Usage};

/// Drivers DPDK drives from user space; anything else is a kernel networking driver.
const USER_SPACE_DRIVERS: [&str; 3] = ["vfio-pci", "uio_pci_generic", "igb_uio"];

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(
        "{pci}: no such PCI function under /sys/bus/pci/devices: check the address with lspci -D"
    )]
    NoDevice { pci: String },
    #[error("driver {driver} is not loaded (no /sys/bus/pci/drivers/{driver}): modprobe {driver}")]
    NoDriver { driver: String },
    #[error("{pci}: interface {iface} is up and in use ({}); unbinding would cut it off. Move that traffic elsewhere or pass --force", .usage.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    InUse {
        pci: String,
        iface: String,
        usage: Vec<Usage>,
    },
    #[error("{pci}: writing {value:?} to {path} failed: {source} (are you root?)")]
    Write {
        pci: String,
        path: String,
        value: String,
        source: std::io::Error,
    },
}

/// What was done, for the operator and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindReport {
    pub pci: String,
    pub previous_driver: Option<String>,
    /// `(sysfs path, value)` in the order written.
    pub writes: Vec<(String, String)>,
    /// The driver bound after the writes (`None`: unbound).
    pub driver_now: Option<String>,
}

impl BindReport {
    /// Did the device end up on `driver`?
    pub fn is_bound_to(&self, driver: &str) -> bool {
        self.driver_now.as_deref() == Some(driver)
    }
}

fn device_dir(pci: &str) -> String {
    format!("/sys/bus/pci/devices/{pci}")
}

fn write(
    root: &Root,
    pci: &str,
    path: String,
    value: &str,
    writes: &mut Vec<(String, String)>,
) -> Result<(), BindError> {
    root.write(&path, value)
        .map_err(|source| BindError::Write {
            pci: pci.into(),
            path: path.clone(),
            value: value.into(),
            source,
        })?;
    writes.push((path, value.into()));
    Ok(())
}

/// Refuses when a kernel interface of `pci` is up and carries a route or address.
pub fn ensure_not_in_use(root: &Root, pci: &str) -> Result<(), BindError> {
    for (dir, iface) in net_dirs(root, pci) {
        let state = root
            .read(&format!("{dir}/{iface}/operstate"))
            .unwrap_or_default();
        // "unknown" is what many drivers report for an up interface without carrier detection.
        if state != "up" && state != "unknown" {
            continue;
        }
        let usage = interface_usage(root, &iface);
        if !usage.is_empty() {
            return Err(BindError::InUse {
                pci: pci.into(),
                iface,
                usage,
            });
        }
    }
    Ok(())
}

/// Binds `pci` to `driver`. A device already on `driver` is left alone (no writes).
pub fn bind(root: &Root, pci: &str, driver: &str, force: bool) -> Result<BindReport, BindError> {
    let dir = device_dir(pci);
    if !root.exists(&dir) {
        return Err(BindError::NoDevice { pci: pci.into() });
    }
    if !root.exists(&format!("/sys/bus/pci/drivers/{driver}")) {
        return Err(BindError::NoDriver {
            driver: driver.into(),
        });
    }
    let previous = root.link_name(&format!("{dir}/driver"));
    let mut writes = Vec::new();
    if previous.as_deref() != Some(driver) {
        if let Some(current) = &previous {
            if !force && !USER_SPACE_DRIVERS.contains(&current.as_str()) {
                ensure_not_in_use(root, pci)?;
            }
            write(root, pci, format!("{dir}/driver/unbind"), pci, &mut writes)?;
        }
        write(
            root,
            pci,
            format!("{dir}/driver_override"),
            driver,
            &mut writes,
        )?;
        write(
            root,
            pci,
            "/sys/bus/pci/drivers_probe".into(),
            pci,
            &mut writes,
        )?;
    }
    let driver_now = root.link_name(&format!("{dir}/driver"));
    Ok(BindReport {
        pci: pci.into(),
        previous_driver: previous,
        writes,
        driver_now,
    })
}

/// Detaches `pci` from its driver and clears `driver_override`, so the next probe (or
/// `bind --driver ice`) can give it back to a kernel driver.
pub fn unbind(root: &Root, pci: &str, force: bool) -> Result<BindReport, BindError> {
    let dir = device_dir(pci);
    if !root.exists(&dir) {
        return Err(BindError::NoDevice { pci: pci.into() });
    }
    let previous = root.link_name(&format!("{dir}/driver"));
    let mut writes = Vec::new();
    if let Some(current) = &previous {
        if !force && !USER_SPACE_DRIVERS.contains(&current.as_str()) {
            ensure_not_in_use(root, pci)?;
        }
        write(root, pci, format!("{dir}/driver/unbind"), pci, &mut writes)?;
    }
    // An empty write clears the override (the kernel strips the newline).
    write(
        root,
        pci,
        format!("{dir}/driver_override"),
        "\n",
        &mut writes,
    )?;
    let driver_now = root.link_name(&format!("{dir}/driver"));
    Ok(BindReport {
        pci: pci.into(),
        previous_driver: previous,
        writes,
        driver_now,
    })
}
