//! The `[dataplane]` table of `clearway.toml`: which NIC ports Clearway drives, how many queues
//! and descriptors each gets, how the EAL starts and how big the packet buffer pool is.
//!
//! This module only describes and validates what the operator wrote. Turning it into lcores,
//! queue ownership, a mempool size and EAL arguments for a given host is [`crate::plan`]'s job.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// DPDK's `RTE_MEMPOOL_CACHE_MAX_SIZE` (22.11): a larger per-lcore cache is refused at create.
pub const MEMPOOL_CACHE_MAX: u32 = 512;
/// `RTE_PKTMBUF_HEADROOM`: bytes in front of the packet in every mbuf data room.
pub const MBUF_HEADROOM: u16 = 128;
/// Smallest data room that still holds a full 1500-byte Ethernet frame after the headroom.
pub const MIN_DATA_ROOM: u16 = MBUF_HEADROOM + 1518;
/// Descriptor ring bounds that every supported PMD (ice, i40e, ixgbe, mlx5, memif) accepts.
pub const MIN_DESC: u16 = 64;
pub const MAX_DESC: u16 = 4096;
/// Smallest MTU an Ethernet port may be given (IPv4 minimum datagram).
pub const MIN_MTU: u16 = 68;
/// Ethernet header (14) + FCS (4) added to the MTU to get the frame an mbuf must hold; jumbo
/// MTUs therefore need a larger `data_room` (checked in [`Layout::validate`]).
pub const ETHER_OVERHEAD: u16 = 18;

/// The `[dataplane]` table: EAL options, the ports and the packet buffer pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    #[serde(default)]
    pub eal: EalOptions,
    pub ports: Vec<PortSpec>,
    #[serde(default)]
    pub mempool: MempoolSpec,
}

/// How the DPDK environment abstraction layer is started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EalOptions {
    /// The lcore running the control plane; default: the first CPU this process may run on.
    pub main_lcore: Option<u32>,
    /// Lcores running the switch loop; empty = chosen by the plan on the NIC's NUMA node.
    #[serde(default)]
    pub worker_lcores: Vec<u32>,
    /// `false` starts the EAL with `--no-huge` (tests and demos only: no DMA-safe memory).
    #[serde(default = "yes")]
    pub hugepages: bool,
    /// EAL memory in MiB (`-m`, or `--socket-mem` on the NIC's node with hugepages).
    pub memory_mb: Option<u32>,
    /// `--file-prefix`: lets two DPDK processes share a host without sharing runtime files.
    pub file_prefix: Option<String>,
    #[serde(default)]
    pub no_pci: bool,
    #[serde(default)]
    pub no_shconf: bool,
    /// Appended verbatim after everything the plan derives (escape hatch, e.g. `--log-level`).
    #[serde(default)]
    pub extra_args: Vec<String>,
}

impl Default for EalOptions {
    fn default() -> Self {
        EalOptions {
            main_lcore: None,
            worker_lcores: Vec::new(),
            hugepages: true,
            memory_mb: None,
            file_prefix: None,
            no_pci: false,
            no_shconf: false,
            extra_args: Vec::new(),
        }
    }
}

/// One Ethernet port Clearway owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    /// The operator's name for the port, e.g. `uplink0`; used in logs, metrics and checks.
    pub name: String,
    /// A PCI address (`0000:3b:00.0`) or a DPDK vdev string
    /// (`net_memif0,role=server,socket=/run/x.sock,socket-abstract=no`).
    pub device: String,
    #[serde(default = "one")]
    pub rx_queues: u16,
    #[serde(default = "one")]
    pub tx_queues: u16,
    #[serde(default = "d1024")]
    pub rx_desc: u16,
    #[serde(default = "d1024")]
    pub tx_desc: u16,
    pub mtu: Option<u16>,
    #[serde(default)]
    pub promiscuous: bool,
}

/// The packet buffer pool shared by all ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MempoolSpec {
    /// Number of mbufs; `None` = computed by [`crate::plan::plan`] from rings and lcores.
    pub mbufs: Option<u32>,
    /// Per-lcore mbuf cache (at most 512).
    #[serde(default = "c256")]
    pub cache_size: u32,
    /// Bytes per mbuf data buffer, headroom included: 2048 + 128 = 2176.
    #[serde(default = "room")]
    pub data_room: u16,
}

impl Default for MempoolSpec {
    fn default() -> Self {
        MempoolSpec {
            mbufs: None,
            cache_size: c256(),
            data_room: room(),
        }
    }
}

fn yes() -> bool {
    true
}
fn one() -> u16 {
    1
}
fn d1024() -> u16 {
    1024
}
fn c256() -> u32 {
    256
}
fn room() -> u16 {
    2048 + MBUF_HEADROOM
}

impl PortSpec {
    /// A port backed by a virtual device (`--vdev`) rather than a PCI function (`-a`).
    pub fn is_vdev(&self) -> bool {
        !is_pci_address(&self.device)
    }

    /// The name DPDK registers the port under (what `rte_eth_dev_get_port_by_name` takes):
    /// the text before the first `,` for a vdev, the PCI address otherwise.
    pub fn dpdk_name(&self) -> &str {
        if self.is_vdev() {
            self.device.split(',').next().unwrap_or(&self.device)
        } else {
            &self.device
        }
    }

    /// The PCI address, for ports that have one.
    pub fn pci_address(&self) -> Option<&str> {
        (!self.is_vdev()).then_some(self.device.as_str())
    }
}

/// `DDDD:BB:DD.F` in hex, the form sysfs and DPDK both print.
pub fn is_pci_address(s: &str) -> bool {
    let b = s.as_bytes();
    let hex = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_hexdigit);
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && hex(0..4)
        && hex(5..7)
        && hex(8..10)
        && (b'0'..=b'7').contains(&b[11])
}

/// `BB:DD.F` without the domain: accepted by lspci but not what sysfs or DPDK register.
fn is_short_pci_address(s: &str) -> bool {
    is_pci_address(&format!("0000:{s}"))
}

/// One thing wrong with a layout, naming the port or field and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error(
        "[dataplane] has no ports: add at least one [[dataplane.ports]] with a name and a device"
    )]
    NoPorts,
    #[error("port #{index} has an empty name: give it an operator name such as \"uplink0\"")]
    EmptyName { index: usize },
    #[error("port name \"{name}\" is used by ports #{first} and #{second}: names must be unique")]
    DuplicateName {
        name: String,
        first: usize,
        second: usize,
    },
    #[error("device \"{device}\" is used by ports \"{first}\" and \"{second}\": each device backs one port")]
    DuplicateDevice {
        device: String,
        first: String,
        second: String,
    },
    #[error("port \"{port}\": device \"{device}\" looks like a PCI address without its domain: write \"0000:{device}\"")]
    ShortPciAddress { port: String, device: String },
    #[error("port \"{port}\": device \"{device}\" is neither a PCI address (0000:3b:00.0) nor a vdev string (net_memif0,role=server,...)")]
    BadDevice { port: String, device: String },
    #[error("port \"{port}\": {field} = 0; every port needs at least one queue")]
    ZeroQueues { port: String, field: &'static str },
    #[error("port \"{port}\": {field} = {value} is not a power of two in {MIN_DESC}..={MAX_DESC}: use e.g. 512, 1024 or 2048")]
    BadDescriptors {
        port: String,
        field: &'static str,
        value: u16,
    },
    #[error("port \"{port}\": mtu = {mtu} needs frames of {frame} bytes but mbufs hold {room} (data_room {data_room} - {MBUF_HEADROOM} headroom): lower the mtu or raise [dataplane.mempool] data_room")]
    MtuTooLarge {
        port: String,
        mtu: u16,
        frame: u32,
        room: u32,
        data_room: u16,
    },
    #[error("port \"{port}\": mtu = {mtu} is below the IPv4 minimum of {MIN_MTU}")]
    MtuTooSmall { port: String, mtu: u16 },
    #[error("eal.no_pci = true but port \"{port}\" is the PCI device {device}: drop no_pci or use a vdev")]
    NoPciWithPciPort { port: String, device: String },
    #[error("eal.worker_lcores lists lcore {lcore} twice")]
    DuplicateWorker { lcore: u32 },
    #[error("eal.worker_lcores contains {lcore}, which is also eal.main_lcore: the main lcore runs the control plane, pick another")]
    WorkerIsMain { lcore: u32 },
    #[error("eal.memory_mb = 0: leave it out to let the plan size memory, or give MiB")]
    ZeroMemory,
    #[error("eal.file_prefix \"{prefix}\" must be non-empty letters, digits, '-' or '_' (it names files in /run/dpdk)")]
    BadFilePrefix { prefix: String },
    #[error("mempool.cache_size = {value} exceeds DPDK's maximum of {MEMPOOL_CACHE_MAX}")]
    CacheTooLarge { value: u32 },
    #[error("mempool.data_room = {value} is below {MIN_DATA_ROOM} (128 headroom + a 1518-byte frame): use 2176")]
    DataRoomTooSmall { value: u16 },
    #[error("mempool.mbufs = 0: leave it out to let the plan size the pool")]
    ZeroMbufs,
}

impl Layout {
    /// Every problem at once, so an operator fixes the file in one pass.
    pub fn validate(&self) -> Result<(), Vec<LayoutError>> {
        let mut errors = Vec::new();
        if self.ports.is_empty() {
            errors.push(LayoutError::NoPorts);
        }
        self.validate_ports(&mut errors);
        self.validate_eal(&mut errors);
        self.validate_mempool(&mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn validate_ports(&self, errors: &mut Vec<LayoutError>) {
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut devices: BTreeMap<&str, &str> = BTreeMap::new();
        for (index, port) in self.ports.iter().enumerate() {
            let name = port.name.as_str();
            if name.trim().is_empty() {
                errors.push(LayoutError::EmptyName { index });
            } else if let Some(&first) = names.get(name) {
                errors.push(LayoutError::DuplicateName {
                    name: name.into(),
                    first,
                    second: index,
                });
            } else {
                names.insert(name, index);
            }
            let device = port.dpdk_name();
            if let Some(first) = devices.get(device) {
                errors.push(LayoutError::DuplicateDevice {
                    device: device.into(),
                    first: (*first).into(),
                    second: name.into(),
                });
            } else {
                devices.insert(device, name);
            }
            validate_device(port, errors);
            for (field, value) in [("rx_queues", port.rx_queues), ("tx_queues", port.tx_queues)] {
                if value == 0 {
                    errors.push(LayoutError::ZeroQueues {
                        port: name.into(),
                        field,
                    });
                }
            }
            for (field, value) in [("rx_desc", port.rx_desc), ("tx_desc", port.tx_desc)] {
                if !value.is_power_of_two() || !(MIN_DESC..=MAX_DESC).contains(&value) {
                    errors.push(LayoutError::BadDescriptors {
                        port: name.into(),
                        field,
                        value,
                    });
                }
            }
            if let Some(mtu) = port.mtu {
                self.validate_mtu(name, mtu, errors);
            }
            if self.eal.no_pci && !port.is_vdev() {
                errors.push(LayoutError::NoPciWithPciPort {
                    port: name.into(),
                    device: port.device.clone(),
                });
            }
        }
    }

    fn validate_mtu(&self, port: &str, mtu: u16, errors: &mut Vec<LayoutError>) {
        let frame = u32::from(mtu) + u32::from(ETHER_OVERHEAD);
        let data_room = self.mempool.data_room;
        let room = u32::from(data_room.saturating_sub(MBUF_HEADROOM));
        if mtu < MIN_MTU {
            errors.push(LayoutError::MtuTooSmall {
                port: port.into(),
                mtu,
            });
        } else if frame > room {
            errors.push(LayoutError::MtuTooLarge {
                port: port.into(),
                mtu,
                frame,
                room,
                data_room,
            });
        }
    }

    fn validate_eal(&self, errors: &mut Vec<LayoutError>) {
        let eal = &self.eal;
        let mut seen = Vec::with_capacity(eal.worker_lcores.len());
        for &lcore in &eal.worker_lcores {
            if seen.contains(&lcore) {
                errors.push(LayoutError::DuplicateWorker { lcore });
            }
            seen.push(lcore);
            if eal.main_lcore == Some(lcore) {
                errors.push(LayoutError::WorkerIsMain { lcore });
            }
        }
        if eal.memory_mb == Some(0) {
            errors.push(LayoutError::ZeroMemory);
        }
        if let Some(prefix) = &eal.file_prefix {
            let ok = !prefix.is_empty()
                && prefix
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
            if !ok {
                errors.push(LayoutError::BadFilePrefix {
                    prefix: prefix.clone(),
                });
            }
        }
    }

    fn validate_mempool(&self, errors: &mut Vec<LayoutError>) {
        let pool = &self.mempool;
        if pool.cache_size > MEMPOOL_CACHE_MAX {
            errors.push(LayoutError::CacheTooLarge {
                value: pool.cache_size,
            });
        }
        if pool.data_room < MIN_DATA_ROOM {
            errors.push(LayoutError::DataRoomTooSmall {
                value: pool.data_room,
            });
        }
        if pool.mbufs == Some(0) {
            errors.push(LayoutError::ZeroMbufs);
        }
    }

    /// Indices of ports backed by PCI functions, in layout order.
    pub fn pci_ports(&self) -> impl Iterator<Item = (usize, &PortSpec)> {
        self.ports.iter().enumerate().filter(|(_, p)| !p.is_vdev())
    }
}

fn validate_device(port: &PortSpec, errors: &mut Vec<LayoutError>) {
    if !port.is_vdev() {
        return;
    }
    let device = &port.device;
    if is_short_pci_address(device) {
        errors.push(LayoutError::ShortPciAddress {
            port: port.name.clone(),
            device: device.clone(),
        });
        return;
    }
    // A vdev string starts with a driver name followed by an instance number (net_memif0);
    // DPDK matches the driver by that prefix, so anything else cannot be a vdev.
    let name = port.dpdk_name();
    let starts_with_letter = name.bytes().next().is_some_and(|c| c.is_ascii_lowercase());
    let name_chars = name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if !starts_with_letter || !name_chars {
        errors.push(LayoutError::BadDevice {
            port: port.name.clone(),
            device: device.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Layout, toml::de::Error> {
        toml::from_str(text)
    }

    fn port(name: &str, device: &str) -> PortSpec {
        PortSpec {
            name: name.into(),
            device: device.into(),
            rx_queues: 1,
            tx_queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            mtu: None,
            promiscuous: false,
        }
    }

    #[test]
    fn minimal_port_gets_documented_defaults() {
        let layout = parse("[[ports]]\nname = \"uplink0\"\ndevice = \"0000:3b:00.0\"\n").unwrap();
        let p = &layout.ports[0];
        assert_eq!(
            (p.rx_queues, p.tx_queues, p.rx_desc, p.tx_desc),
            (1, 1, 1024, 1024)
        );
        assert!(!p.promiscuous);
        assert_eq!(p.mtu, None);
        assert!(layout.eal.hugepages);
        assert!(layout.eal.worker_lcores.is_empty());
        assert_eq!(
            layout.mempool,
            MempoolSpec {
                mbufs: None,
                cache_size: 256,
                data_room: 2176
            }
        );
        assert_eq!(layout.validate(), Ok(()));
    }

    #[test]
    fn unknown_keys_inside_dataplane_are_refused() {
        let err = parse("[[ports]]\nname = \"a\"\ndevice = \"0000:3b:00.0\"\nrx_queue = 2\n");
        assert!(err.unwrap_err().to_string().contains("rx_queue"));
        let err = parse("ports = []\n[eal]\nhuge = false\n");
        assert!(err.unwrap_err().to_string().contains("huge"));
    }

    #[test]
    fn pci_and_vdev_names() {
        let pci = port("a", "0000:3b:00.1");
        assert!(!pci.is_vdev());
        assert_eq!(pci.dpdk_name(), "0000:3b:00.1");
        assert_eq!(pci.pci_address(), Some("0000:3b:00.1"));
        let memif = port(
            "b",
            "net_memif0,role=server,socket=/run/x.sock,socket-abstract=no",
        );
        assert!(memif.is_vdev());
        assert_eq!(memif.dpdk_name(), "net_memif0");
        assert_eq!(memif.pci_address(), None);
        assert_eq!(port("c", "net_null0").dpdk_name(), "net_null0");
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let mut a = port("a", "0000:3b:00.0");
        a.rx_queues = 0;
        a.rx_desc = 1000;
        let b = port("a", "0000:3b:00.0");
        let c = port("c", "3b:00.1");
        let d = port("d", "Not a device");
        let layout = Layout {
            eal: EalOptions::default(),
            ports: vec![a, b, c, d],
            mempool: MempoolSpec::default(),
        };
        let errors = layout.validate().unwrap_err();
        assert!(errors.contains(&LayoutError::ZeroQueues {
            port: "a".into(),
            field: "rx_queues"
        }));
        assert!(errors.contains(&LayoutError::BadDescriptors {
            port: "a".into(),
            field: "rx_desc",
            value: 1000
        }));
        assert!(errors.contains(&LayoutError::DuplicateName {
            name: "a".into(),
            first: 0,
            second: 1
        }));
        assert!(errors.contains(&LayoutError::DuplicateDevice {
            device: "0000:3b:00.0".into(),
            first: "a".into(),
            second: "a".into()
        }));
        assert!(errors.contains(&LayoutError::ShortPciAddress {
            port: "c".into(),
            device: "3b:00.1".into()
        }));
        assert!(errors.contains(&LayoutError::BadDevice {
            port: "d".into(),
            device: "Not a device".into()
        }));
        assert_eq!(errors.len(), 6, "{errors:?}");
        let short = LayoutError::ShortPciAddress {
            port: "c".into(),
            device: "3b:00.1".into(),
        };
        assert!(
            short.to_string().contains("write \"0000:3b:00.1\""),
            "the fix is in the message"
        );
    }

    #[test]
    fn eal_and_mempool_contradictions() {
        let mut layout = Layout {
            eal: EalOptions {
                main_lcore: Some(1),
                worker_lcores: vec![1, 2, 2],
                no_pci: true,
                memory_mb: Some(0),
                file_prefix: Some("a b".into()),
                ..EalOptions::default()
            },
            ports: vec![port("a", "0000:3b:00.0")],
            mempool: MempoolSpec {
                mbufs: Some(0),
                cache_size: 600,
                data_room: 1024,
            },
        };
        layout.ports[0].mtu = Some(9000);
        let errors = layout.validate().unwrap_err();
        for expected in [
            LayoutError::WorkerIsMain { lcore: 1 },
            LayoutError::DuplicateWorker { lcore: 2 },
            LayoutError::NoPciWithPciPort {
                port: "a".into(),
                device: "0000:3b:00.0".into(),
            },
            LayoutError::ZeroMemory,
            LayoutError::BadFilePrefix {
                prefix: "a b".into(),
            },
            LayoutError::CacheTooLarge { value: 600 },
            LayoutError::DataRoomTooSmall { value: 1024 },
            LayoutError::ZeroMbufs,
        ] {
            assert!(
                errors.contains(&expected),
                "missing {expected:?} in {errors:?}"
            );
        }
        assert!(errors
            .iter()
            .any(|e| matches!(e, LayoutError::MtuTooLarge { mtu: 9000, .. })));
    }

    #[test]
    fn jumbo_mtu_fits_a_larger_data_room() {
        let mut layout = Layout {
            eal: EalOptions::default(),
            ports: vec![port("a", "0000:3b:00.0")],
            mempool: MempoolSpec::default(),
        };
        layout.ports[0].mtu = Some(1500);
        assert_eq!(layout.validate(), Ok(()));
        layout.ports[0].mtu = Some(9000);
        assert!(layout.validate().is_err());
        layout.mempool.data_room = 9216 + MBUF_HEADROOM;
        assert_eq!(layout.validate(), Ok(()));
    }
}
