//! NIC checks: NUMA placement of ports, IOMMU, vfio, driver binding, IOMMU groups, link, DDP.

use super::{fail, pass, warn, CheckLine};
use crate::host::{HostModel, PciDevice};
use crate::layout::Layout;
use crate::plan::Plan;
use crate::sysfs::{format_cpu_list, Root};
use crate::usage::interface_usage;

pub(super) fn numa_checks(
    host: &HostModel,
    layout: Option<&Layout>,
    plan: Option<&Plan>,
) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let describe: Vec<String> = host
        .numa_nodes
        .iter()
        .map(|&n| {
            let cpus: Vec<u32> = host
                .cpus
                .iter()
                .filter(|c| c.node == Some(n))
                .map(|c| c.id)
                .collect();
            format!("node {n}: cpus {}", format_cpu_list(&cpus))
        })
        .collect();
    lines.push(if describe.is_empty() {
        pass("numa.nodes", "no NUMA information: one memory domain")
    } else {
        pass("numa.nodes", describe.join("; "))
    });
    let (Some(layout), Some(plan)) = (layout, plan) else {
        return lines;
    };
    for (index, port) in layout.pci_ports() {
        let check = format!("port.{}.numa", port.name);
        let pollers: Vec<u32> = plan
            .lcores
            .iter()
            .filter(|l| l.rx.iter().any(|&(p, _)| p == index))
            .map(|l| l.lcore)
            .collect();
        match host.pci_node(&port.device) {
            None if host.numa_nodes.len() > 1 => lines.push(warn(
                check,
                format!("{} reports no NUMA node (numa_node = -1)", port.device),
                "enable NUMA/SRAT in BIOS so the kernel knows which socket the slot hangs off",
            )),
            None => lines.push(pass(
                check,
                format!("{}: single memory domain", port.device),
            )),
            Some(node) => {
                let remote: Vec<u32> = pollers
                    .iter()
                    .copied()
                    .filter(|&c| host.cpu_node(c) != Some(node))
                    .collect();
                if remote.is_empty() {
                    lines.push(pass(
                        check,
                        format!(
                            "{} on node {node}, polled by lcores {}",
                            port.device,
                            format_cpu_list(&pollers)
                        ),
                    ));
                } else {
                    let local: Vec<u32> = host
                        .cpus
                        .iter()
                        .filter(|c| c.node == Some(node))
                        .map(|c| c.id)
                        .collect();
                    lines.push(warn(
                        check,
                        format!("{} on node {node} but lcores {} are on another node", port.device, format_cpu_list(&remote)),
                        format!("set [dataplane.eal] worker_lcores to CPUs of node {node} ({}), or move the NIC", format_cpu_list(&local)),
                    ));
                }
            }
        }
    }
    lines
}

pub(super) fn iommu_checks(host: &HostModel) -> Vec<CheckLine> {
    let c = &host.cmdline;
    let on =
        c.value("intel_iommu") == Some("on") || c.value("amd_iommu").is_some_and(|v| v != "off");
    let pt = c.value("iommu") == Some("pt");
    let groups = if host.iommu_groups > 0 {
        pass(
            "iommu.groups",
            format!("{} IOMMU groups", host.iommu_groups),
        )
    } else {
        fail(
            "iommu.groups",
            "IOMMU off: /sys/kernel/iommu_groups is empty, vfio-pci cannot map DMA safely",
            "enable VT-d (Intel) or AMD-Vi in BIOS and add intel_iommu=on iommu=pt to the kernel cmdline",
        )
    };
    let cmdline = match (on || host.iommu_groups > 0, pt) {
        (true, true) => pass("iommu.cmdline", "IOMMU on with iommu=pt"),
        (true, false) => warn(
            "iommu.cmdline",
            "iommu=pt missing: kernel drivers pay IOMMU translation on every DMA",
            "add iommu=pt to the kernel cmdline (GRUB_CMDLINE_LINUX), update-grub, reboot",
        ),
        (false, _) => warn(
            "iommu.cmdline",
            "neither intel_iommu=on nor amd_iommu on the kernel cmdline",
            "add intel_iommu=on iommu=pt to GRUB_CMDLINE_LINUX, update-grub, reboot",
        ),
    };
    vec![groups, cmdline]
}

/// How a driver relates to DPDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DriverKind {
    Vfio,
    Uio,
    /// mlx5: the kernel driver stays bound and DPDK shares the device (bifurcated).
    Bifurcated,
    Kernel,
    Unbound,
}

fn driver_kind(driver: Option<&str>) -> DriverKind {
    match driver {
        Some("vfio-pci") => DriverKind::Vfio,
        Some("uio_pci_generic" | "igb_uio") => DriverKind::Uio,
        Some("mlx5_core" | "mlx4_core") => DriverKind::Bifurcated,
        Some(_) => DriverKind::Kernel,
        None => DriverKind::Unbound,
    }
}

pub(super) fn driver_checks(
    host: &HostModel,
    root: &Root,
    layout: Option<&Layout>,
) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let ports: Vec<(&str, &str)> = match layout {
        Some(l) => l
            .pci_ports()
            .map(|(_, p)| (p.name.as_str(), p.device.as_str()))
            .collect(),
        None => Vec::new(),
    };
    let port_devices: Vec<&PciDevice> =
        ports.iter().filter_map(|(_, d)| host.pci.get(*d)).collect();
    let all_bifurcated = !port_devices.is_empty()
        && port_devices
            .iter()
            .all(|d| driver_kind(d.driver.as_deref()) == DriverKind::Bifurcated);
    lines.push(if layout.is_some() && ports.is_empty() {
        pass("driver.vfio", "not needed: the layout has no PCI ports")
    } else if host.has_module("vfio_pci") && host.dev_vfio {
        pass("driver.vfio", "vfio-pci loaded, /dev/vfio/vfio present")
    } else if host.has_module("vfio_pci") {
        fail(
            "driver.vfio",
            "vfio-pci loaded but /dev/vfio/vfio missing",
            "modprobe vfio; check dmesg for vfio errors",
        )
    } else if all_bifurcated {
        pass(
            "driver.vfio",
            "not needed: all ports are mlx5 (bifurcated, kernel driver stays bound)",
        )
    } else if host.has_module("uio_pci_generic") || host.has_module("igb_uio") {
        warn(
            "driver.vfio",
            "only uio loaded: DMA is not IOMMU-protected",
            "modprobe vfio-pci and bind with --driver vfio-pci",
        )
    } else {
        fail(
            "driver.vfio",
            "vfio-pci not loaded (nor uio)",
            "modprobe vfio-pci; echo vfio-pci > /etc/modules-load.d/vfio-pci.conf",
        )
    });
    match layout {
        None => lines.push(host_nics(host, root)),
        Some(layout) => {
            for port in layout.ports.iter().filter(|p| p.is_vdev()) {
                lines.push(pass(
                    format!("port.{}.driver", port.name),
                    format!("virtual device {}: no binding", port.dpdk_name()),
                ));
            }
            lines.extend(port_driver_lines(host, &ports));
        }
    }
    lines
}

fn port_driver_lines(host: &HostModel, ports: &[(&str, &str)]) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let mut kinds = Vec::new();
    for &(name, address) in ports {
        let check = format!("port.{name}.driver");
        let Some(dev) = host.pci.get(address) else {
            lines.push(fail(
                check,
                format!("no PCI function {address} on this host"),
                "check the address with lspci -D -d ::0200 and fix [[dataplane.ports]] device",
            ));
            lines.push(fail(
                format!("port.{name}.link"),
                "no device, no link",
                "see port driver line",
            ));
            continue;
        };
        let kind = driver_kind(dev.driver.as_deref());
        let driver = dev.driver.as_deref().unwrap_or("none");
        kinds.push((name, driver));
        lines.push(match kind {
            DriverKind::Vfio => pass(check, format!("{address} bound to vfio-pci")),
            DriverKind::Bifurcated => pass(
                check,
                format!("{address} on {driver} (bifurcated, DPDK shares it)"),
            ),
            DriverKind::Uio => warn(
                check,
                format!("{address} on {driver}: no IOMMU protection"),
                format!("clearway-nic bind {address} --driver vfio-pci"),
            ),
            DriverKind::Kernel => fail(
                check,
                format!("{address} bound to kernel driver {driver}"),
                format!("clearway-nic bind {address} --driver vfio-pci"),
            ),
            DriverKind::Unbound => fail(
                check,
                format!("{address} bound to no driver"),
                format!("clearway-nic bind {address} --driver vfio-pci"),
            ),
        });
        lines.push(link_line(name, dev, kind));
        if kind == DriverKind::Vfio {
            lines.push(iommu_group_line(name, dev));
        }
        if dev.is_e810() {
            lines.push(match &host.ice_ddp_package {
                Some(path) => pass(format!("port.{name}.ddp"), format!("E810 DDP package at {path}")),
                None => fail(
                    format!("port.{name}.ddp"),
                    "E810 without a DDP package: the DPDK ice PMD refuses to start the port",
                    "install it (Debian: firmware-misc-nonfree, or Intel's E810 DDP download) so /lib/firmware/intel/ice/ddp/ice.pkg exists",
                ),
            });
        }
    }
    let distinct: std::collections::BTreeSet<&str> = kinds.iter().map(|(_, d)| *d).collect();
    if distinct.len() > 1 {
        let list: Vec<String> = kinds.iter().map(|(n, d)| format!("{n}={d}")).collect();
        lines.push(warn(
            "port.drivers",
            format!("ports on mixed drivers: {}", list.join(", ")),
            "bind every Clearway port to vfio-pci (or all to mlx5_core on ConnectX)",
        ));
    }
    lines
}

/// vfio-pci refuses a group ("VFIO group is not viable") while any of its other functions is
/// bound to a kernel driver; PCIe port drivers of bridges are tolerated by vfio.
fn iommu_group_line(name: &str, dev: &PciDevice) -> CheckLine {
    let check = format!("port.{name}.iommu_group");
    let group = dev.iommu_group.as_deref().unwrap_or("?");
    let blocking: Vec<(&str, &str)> = dev
        .iommu_group_peers
        .iter()
        .filter_map(|(peer, driver)| match driver.as_deref() {
            None | Some("vfio-pci" | "pcieport") => None,
            Some(d) => Some((peer.as_str(), d)),
        })
        .collect();
    let Some(&(first, _)) = blocking.first() else {
        let others = dev.iommu_group_peers.len();
        return pass(
            check,
            format!("group {group} viable ({others} other functions)"),
        );
    };
    let list: Vec<String> = blocking
        .iter()
        .map(|(p, d)| format!("{p} on {d}"))
        .collect();
    fail(
        check,
        format!("group {group} not viable for vfio: {}", list.join(", ")),
        format!(
            "bind the rest of the group too (clearway-nic bind {first} --driver vfio-pci) or move the card to a slot with ACS"
        ),
    )
}

fn link_line(name: &str, dev: &PciDevice, kind: DriverKind) -> CheckLine {
    let check = format!("port.{name}.link");
    if matches!(kind, DriverKind::Vfio | DriverKind::Uio) {
        return pass(
            check,
            format!(
                "owned by {}: DPDK reads the link at start (clearctl stats)",
                dev.driver.as_deref().unwrap_or("")
            ),
        );
    }
    let Some(iface) = dev.interfaces.first() else {
        return warn(
            check,
            "no kernel interface to read the link from",
            "bind the port; DPDK reports the link at start",
        );
    };
    let state = iface.operstate.as_deref().unwrap_or("unknown");
    match (state, iface.speed_mbps) {
        ("up", Some(speed)) if speed >= 10_000 => {
            pass(check, format!("{} up at {} Gb/s", iface.name, speed / 1000))
        }
        ("up", Some(speed)) => warn(
            check,
            format!("{} up at only {speed} Mb/s", iface.name),
            "check the transceiver, cable and switch port speed (ethtool)",
        ),
        ("up", None) => pass(check, format!("{} up", iface.name)),
        _ => warn(
            check,
            format!("{} link {state}", iface.name),
            "check cable/transceiver and the switch port (ethtool, ip link)",
        ),
    }
}

/// Without a config: which Ethernet functions exist at all.
fn host_nics(host: &HostModel, root: &Root) -> CheckLine {
    if host.pci.is_empty() {
        return fail(
            "nic.present",
            "no Ethernet PCI function on this host",
            "production needs a DPDK-supported NIC (Intel E810/X710/82599, NVIDIA ConnectX); tests use vdevs (net_memif, net_tap, net_null)",
        );
    }
    let mut found = Vec::new();
    let mut physical = false;
    for dev in host.pci.values() {
        let virtio = dev.vendor.as_deref() == Some("0x1af4");
        physical |= !virtio;
        let ifaces: Vec<String> = dev
            .interfaces
            .iter()
            .map(|i| {
                let used = interface_usage(root, &i.name);
                let used = if used.is_empty() {
                    String::new()
                } else {
                    ", in use".to_string()
                };
                format!("{} {}{used}", i.name, i.operstate.as_deref().unwrap_or("?"))
            })
            .collect();
        found.push(format!(
            "{} {}{} on {}{}",
            dev.address,
            if virtio { "virtio-net " } else { "" },
            dev.vendor
                .as_deref()
                .zip(dev.device.as_deref())
                .map(|(v, d)| format!(
                    "{}:{}",
                    v.trim_start_matches("0x"),
                    d.trim_start_matches("0x")
                ))
                .unwrap_or_default(),
            dev.driver.as_deref().unwrap_or("no driver"),
            if ifaces.is_empty() {
                String::new()
            } else {
                format!(" ({})", ifaces.join(", "))
            }
        ));
    }
    if physical {
        pass("nic.present", found.join("; "))
    } else {
        fail(
            "nic.present",
            format!("no physical NIC, only paravirtual: {}", found.join("; ")),
            "production needs a DPDK-supported NIC (Intel E810/X710/82599, NVIDIA ConnectX); tests use vdevs (net_memif, net_tap, net_null)",
        )
    }
}
