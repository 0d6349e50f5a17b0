//! A fake `/proc` + `/sys` + `/dev` tree in a temporary directory, shaped like a two-socket
//! server with two Intel E810 ports on node 0, and knobs to break it one way at a time.

#![allow(dead_code)] // each test binary uses a different subset

use nic_config::layout::Layout;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

pub const PORT0: &str = "0000:3b:00.0";
pub const PORT1: &str = "0000:3b:00.1";

pub struct FakeHost {
    dir: tempfile::TempDir,
}

const GOOD_CMDLINE: &str = "BOOT_IMAGE=/vmlinuz-6.1.0 root=/dev/sda1 ro intel_iommu=on iommu=pt \
    default_hugepagesz=1G hugepagesz=1G hugepages=8 isolcpus=2-7,10-15 nohz_full=2-7,10-15 rcu_nocbs=2-7,10-15";

impl FakeHost {
    /// Everything right: flags, invariant TSC, performance governor, 2 nodes of 8 CPUs (0-1 and 8-9
    /// left to the kernel, the rest isolated), 1G pages
    /// reserved on both nodes and mounted, IOMMU on with pt, vfio-pci loaded, both ports bound to
    /// vfio-pci, workers isolated, no irqbalance, unlimited memlock.
    pub fn good() -> FakeHost {
        let host = FakeHost {
            dir: tempfile::tempdir().unwrap(),
        };
        host.write("/sys/devices/system/cpu/online", "0-15");
        host.write("/sys/devices/system/node/node0/cpulist", "0-7");
        host.write("/sys/devices/system/node/node1/cpulist", "8-15");
        for cpu in 0..16 {
            host.write(
                &format!("/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"),
                &cpu.to_string(),
            );
            host.write(
                &format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"),
                "performance",
            );
        }
        host.write("/proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 constant_tsc nonstop_tsc\n");
        host.write("/proc/cmdline", GOOD_CMDLINE);
        host.write("/sys/devices/system/cpu/isolated", "2-7,10-15");
        host.write("/sys/devices/system/cpu/nohz_full", "2-7,10-15");
        host.hugepages(8, 4);
        host.write("/proc/mounts", "proc /proc proc rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=1024M 0 0\n");
        for group in 0..4 {
            host.mkdir(&format!("/sys/kernel/iommu_groups/{group}/devices"));
        }
        host.write("/proc/modules", "vfio_pci 16384 0 - Live 0x0\nvfio_pci_core 69632 1 vfio_pci, Live 0x0\nvfio 45056 2 vfio_pci_core, Live 0x0\nice 1000000 0 - Live 0x0\n");
        host.write("/dev/vfio/vfio", "");
        for driver in ["vfio-pci", "ice", "i40e"] {
            host.write(&format!("/sys/bus/pci/drivers/{driver}/bind"), "");
            host.write(&format!("/sys/bus/pci/drivers/{driver}/unbind"), "");
        }
        host.write("/sys/bus/pci/drivers_probe", "");
        host.pci_function(PORT0, 0, Some("vfio-pci"));
        host.pci_function(PORT1, 0, Some("vfio-pci"));
        host.write(
            "/proc/self/status",
            "Name:\tclearway-nic\nUid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000000000\nCpus_allowed_list:\t0-15\n",
        );
        host.write("/proc/self/limits", "Limit Soft Limit Hard Limit Units\nMax locked memory         unlimited            unlimited            bytes\n");
        host.write("/proc/1/comm", "systemd");
        host.write(
            "/proc/net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n",
        );
        host.write("/proc/net/if_inet6", "");
        host.write("/lib/firmware/intel/ice/ddp/ice.pkg", "DDP");
        host
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, abs: &str) -> PathBuf {
        self.dir.path().join(abs.trim_start_matches('/'))
    }

    pub fn write(&self, abs: &str, text: &str) {
        let path = self.path(abs);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    pub fn read(&self, abs: &str) -> String {
        fs::read_to_string(self.path(abs)).unwrap()
    }

    pub fn append(&self, abs: &str, text: &str) {
        let old = self.read(abs);
        self.write(abs, &(old + text));
    }

    pub fn mkdir(&self, abs: &str) {
        fs::create_dir_all(self.path(abs)).unwrap();
    }

    /// Reserves `total` 1G pages host-wide, `per_node` on each node, all free.
    pub fn hugepages(&self, total: u32, per_node: u32) {
        for (dir, count) in [
            ("/sys/kernel/mm/hugepages".to_string(), total),
            (
                "/sys/devices/system/node/node0/hugepages".to_string(),
                per_node,
            ),
            (
                "/sys/devices/system/node/node1/hugepages".to_string(),
                per_node,
            ),
        ] {
            self.write(
                &format!("{dir}/hugepages-1048576kB/nr_hugepages"),
                &count.to_string(),
            );
            self.write(
                &format!("{dir}/hugepages-1048576kB/free_hugepages"),
                &count.to_string(),
            );
            self.write(&format!("{dir}/hugepages-2048kB/nr_hugepages"), "0");
            self.write(&format!("{dir}/hugepages-2048kB/free_hugepages"), "0");
        }
    }

    /// An E810 function on `node`, bound to `driver`.
    pub fn pci_function(&self, address: &str, node: u32, driver: Option<&str>) {
        let dir = format!("/sys/bus/pci/devices/{address}");
        self.write(&format!("{dir}/class"), "0x020000");
        self.write(&format!("{dir}/vendor"), "0x8086");
        self.write(&format!("{dir}/device"), "0x159b");
        self.write(&format!("{dir}/numa_node"), &node.to_string());
        self.write(&format!("{dir}/driver_override"), "(null)");
        self.set_driver(address, driver);
        // Each function in its own IOMMU group, as on a slot with ACS.
        let next = fs::read_dir(self.path("/sys/kernel/iommu_groups")).map_or(0, |d| d.count());
        self.iommu_group(&format!("/sys/kernel/iommu_groups/{next}"), &[address]);
    }

    /// Makes `group` hold `members` (devices/<addr> entries) and points each member at it.
    pub fn iommu_group(&self, group: &str, members: &[&str]) {
        self.mkdir(&format!("{group}/devices"));
        for member in members {
            let _ = fs::remove_file(self.path(&format!("{group}/devices/{member}")));
            symlink(
                self.path(&format!("/sys/bus/pci/devices/{member}")),
                self.path(&format!("{group}/devices/{member}")),
            )
            .unwrap();
            let link = self.path(&format!("/sys/bus/pci/devices/{member}/iommu_group"));
            let _ = fs::remove_file(&link);
            symlink(self.path(group), link).unwrap();
        }
    }

    /// Points the device's `driver` symlink at `driver` (what the kernel does after a probe).
    pub fn set_driver(&self, address: &str, driver: Option<&str>) {
        let link = self.path(&format!("/sys/bus/pci/devices/{address}/driver"));
        let _ = fs::remove_file(&link);
        if let Some(driver) = driver {
            symlink(format!("../../drivers/{driver}"), link).unwrap();
        }
    }

    /// Gives the device a kernel interface `iface` in `state` at `speed` Mb/s.
    pub fn interface(&self, address: &str, iface: &str, state: &str, speed: i32) {
        let dir = format!("/sys/bus/pci/devices/{address}/net/{iface}");
        self.write(&format!("{dir}/operstate"), state);
        self.write(&format!("{dir}/speed"), &speed.to_string());
    }

    /// Adds the connected route 192.0.2.0/24 and the default route via 192.0.2.1 on `iface`.
    pub fn routes_on(&self, iface: &str) {
        self.append(
            "/proc/net/route",
            &format!("{iface}\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"),
        );
        self.append(
            "/proc/net/route",
            &format!("{iface}\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"),
        );
    }

    pub fn no_hugepages(&self) {
        self.hugepages(0, 0);
        self.write("/proc/mounts", "proc /proc proc rw 0 0\n");
    }

    pub fn iommu_off(&self) {
        fs::remove_dir_all(self.path("/sys/kernel/iommu_groups")).unwrap();
        self.mkdir("/sys/kernel/iommu_groups");
        for address in [PORT0, PORT1] {
            let _ =
                fs::remove_file(self.path(&format!("/sys/bus/pci/devices/{address}/iommu_group")));
        }
        self.write(
            "/proc/cmdline",
            &GOOD_CMDLINE.replace("intel_iommu=on iommu=pt ", ""),
        );
    }

    pub fn not_isolated(&self) {
        self.write("/sys/devices/system/cpu/isolated", "");
        self.write("/sys/devices/system/cpu/nohz_full", "");
        self.write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz-6.1.0 root=/dev/sda1 ro intel_iommu=on iommu=pt default_hugepagesz=1G hugepagesz=1G hugepages=8");
        self.write("/proc/812/comm", "irqbalance");
    }
}

/// Two E810 ports, 2 rx + 2 tx queues each, hugepages on: the production shape.
pub fn two_port_layout() -> Layout {
    toml::from_str(&format!(
        r#"
[[ports]]
name = "uplink0"
device = "{PORT0}"
rx_queues = 2
tx_queues = 2

[[ports]]
name = "uplink1"
device = "{PORT1}"
rx_queues = 2
tx_queues = 2
"#
    ))
    .unwrap()
}
