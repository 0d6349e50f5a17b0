//! Host checks against fake /proc + /sys trees: one healthy server and one breakage at a time.

mod common;

use common::{two_port_layout, FakeHost, PORT0, PORT1};
use nic_config::check::{self, Report, Status};
use nic_config::layout::Layout;
use nic_config::sysfs::Root;
use nic_config::HostModel;

fn run(host: &FakeHost, layout: &Layout) -> Report {
    let root = Root::new(host.root());
    let model = HostModel::probe_with(&root, &[PORT0, PORT1]);
    check::run(&model, &root, Some(layout))
}

fn status(report: &Report, check: &str) -> Status {
    report
        .get(check)
        .unwrap_or_else(|| panic!("no line {check} in\n{}", report.render()))
        .status
}

fn fix(report: &Report, check: &str) -> String {
    report
        .get(check)
        .and_then(|l| l.fix.clone())
        .unwrap_or_default()
}

fn not_passing(report: &Report) -> Vec<&str> {
    report
        .lines
        .iter()
        .filter(|l| l.status != Status::Pass)
        .map(|l| l.check.as_str())
        .collect()
}

#[test]
fn good_host_passes_every_line() {
    let host = FakeHost::good();
    let report = run(&host, &two_port_layout());
    assert_eq!(
        not_passing(&report),
        Vec::<&str>::new(),
        "\n{}",
        report.render()
    );
    assert!(
        report.get("plan").unwrap().finding.contains("workers 2-3"),
        "isolated node-0 CPUs are preferred"
    );
    assert!(report
        .get("hugepages.enough")
        .unwrap()
        .finding
        .contains("on node 0"));
    assert!(report
        .get("port.uplink0.numa")
        .unwrap()
        .finding
        .contains("on node 0, polled by lcores 2-3"));
    assert!(report
        .get("port.uplink1.link")
        .unwrap()
        .finding
        .contains("owned by vfio-pci"));
    assert_eq!(report.worst(), Status::Pass);
    let table = report.render();
    assert!(table.ends_with("0 warn, 0 fail\n"), "{table}");
}

#[test]
fn production_sample_config_passes_on_a_good_host() {
    let text = include_str!("../../deploy/clearway.production.toml");
    let cfg = nic_config::config::parse(text, "clearway.production.toml".as_ref()).unwrap();
    let host = FakeHost::good();
    let report = run(&host, &cfg.layout);
    assert_eq!(
        not_passing(&report),
        Vec::<&str>::new(),
        "\n{}",
        report.render()
    );
    assert!(report.get("plan").unwrap().finding.contains("workers 2-5"));
}

#[test]
fn no_hugepages_fails_reserve_mount_and_size_with_fixes() {
    let host = FakeHost::good();
    host.no_hugepages();
    let report = run(&host, &two_port_layout());
    assert_eq!(
        not_passing(&report),
        [
            "hugepages.reserved",
            "hugepages.mounted",
            "hugepages.enough"
        ]
    );
    assert!(report
        .lines
        .iter()
        .filter(|l| l.check.starts_with("hugepages"))
        .all(|l| l.status == Status::Fail));
    assert!(fix(&report, "hugepages.reserved").contains("hugepages="));
    assert!(fix(&report, "hugepages.mounted").contains("mount -t hugetlbfs"));
    let enough = fix(&report, "hugepages.enough");
    assert!(
        enough.contains("/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"),
        "{enough}"
    );
}

#[test]
fn too_few_free_pages_on_the_nic_node_fails_even_if_the_other_node_has_plenty() {
    let host = FakeHost::good();
    host.write(
        "/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/free_hugepages",
        "0",
    );
    let report = run(&host, &two_port_layout());
    assert_eq!(status(&report, "hugepages.enough"), Status::Fail);
    assert!(report
        .get("hugepages.enough")
        .unwrap()
        .finding
        .contains("0 MiB free on node 0"));
}

#[test]
fn iommu_off_fails_groups_and_warns_about_the_cmdline() {
    let host = FakeHost::good();
    host.iommu_off();
    let report = run(&host, &two_port_layout());
    assert_eq!(not_passing(&report), ["iommu.groups", "iommu.cmdline"]);
    assert_eq!(status(&report, "iommu.groups"), Status::Fail);
    assert_eq!(status(&report, "iommu.cmdline"), Status::Warn);
    assert!(fix(&report, "iommu.groups").contains("intel_iommu=on iommu=pt"));
}

#[test]
fn nic_on_the_other_node_moves_auto_workers_there() {
    let host = FakeHost::good();
    host.write(&format!("/sys/bus/pci/devices/{PORT0}/numa_node"), "1");
    host.write(&format!("/sys/bus/pci/devices/{PORT1}/numa_node"), "1");
    let report = run(&host, &two_port_layout());
    assert_eq!(
        not_passing(&report),
        Vec::<&str>::new(),
        "\n{}",
        report.render()
    );
    assert!(report
        .get("plan")
        .unwrap()
        .finding
        .contains("workers 10-11"));
    assert!(report
        .get("hugepages.enough")
        .unwrap()
        .finding
        .contains("on node 1"));
}

#[test]
fn nic_on_the_other_node_than_pinned_workers_warns_with_the_right_cpus() {
    let host = FakeHost::good();
    host.write(&format!("/sys/bus/pci/devices/{PORT0}/numa_node"), "1");
    host.write(&format!("/sys/bus/pci/devices/{PORT1}/numa_node"), "1");
    let mut layout = two_port_layout();
    layout.eal.worker_lcores = vec![2, 3];
    let report = run(&host, &layout);
    assert_eq!(status(&report, "port.uplink0.numa"), Status::Warn);
    assert_eq!(status(&report, "port.uplink1.numa"), Status::Warn);
    assert!(fix(&report, "port.uplink0.numa").contains("CPUs of node 1 (8-15)"));
    assert!(report
        .lines
        .iter()
        .any(|l| l.check == "plan.warning" && l.finding.contains("crosses the interconnect")));
}

#[test]
fn cores_not_isolated_warn_for_each_mechanism_and_irqbalance() {
    let host = FakeHost::good();
    host.not_isolated();
    let report = run(&host, &two_port_layout());
    assert_eq!(
        not_passing(&report),
        [
            "cpu.isolcpus",
            "cpu.nohz_full",
            "cpu.rcu_nocbs",
            "irqbalance"
        ]
    );
    assert!(report.lines.iter().all(|l| l.status != Status::Fail));
    // without isolation the plan takes the first node-0 CPUs after main 0
    assert!(
        fix(&report, "cpu.isolcpus").contains("isolcpus=1-2"),
        "{}",
        fix(&report, "cpu.isolcpus")
    );
    assert!(fix(&report, "irqbalance").contains("IRQBALANCE_BANNED_CPULIST=1-2"));
}

#[test]
fn irqbalance_is_fine_when_it_is_told_to_keep_off_the_workers() {
    let host = FakeHost::good();
    host.write("/proc/812/comm", "irqbalance");
    let report = run(&host, &two_port_layout());
    assert_eq!(
        status(&report, "irqbalance"),
        Status::Pass,
        "isolated CPUs are banned by irqbalance itself"
    );
}

#[test]
fn mixed_drivers_fail_the_kernel_bound_port_and_warn_about_the_mix() {
    let host = FakeHost::good();
    host.set_driver(PORT1, Some("ice"));
    host.interface(PORT1, "ens1f1", "up", 25000);
    let report = run(&host, &two_port_layout());
    assert_eq!(
        not_passing(&report),
        ["port.uplink1.driver", "port.drivers"]
    );
    assert_eq!(status(&report, "port.uplink1.driver"), Status::Fail);
    assert_eq!(
        fix(&report, "port.uplink1.driver"),
        "clearway-nic bind 0000:3b:00.1 --driver vfio-pci"
    );
    assert_eq!(status(&report, "port.drivers"), Status::Warn);
    assert!(report
        .get("port.drivers")
        .unwrap()
        .finding
        .contains("uplink0=vfio-pci, uplink1=ice"));
    assert!(report
        .get("port.uplink1.link")
        .unwrap()
        .finding
        .contains("ens1f1 up at 25 Gb/s"));
}

#[test]
fn slow_or_down_links_and_missing_devices_are_reported() {
    let host = FakeHost::good();
    host.set_driver(PORT0, Some("mlx5_core"));
    host.interface(PORT0, "ens1f0np0", "up", 1000);
    host.set_driver(PORT1, Some("mlx5_core"));
    host.interface(PORT1, "ens1f1np1", "down", -1);
    let report = run(&host, &two_port_layout());
    assert_eq!(
        status(&report, "port.uplink0.driver"),
        Status::Pass,
        "mlx5 is bifurcated"
    );
    assert_eq!(status(&report, "port.uplink0.link"), Status::Warn);
    assert_eq!(status(&report, "port.uplink1.link"), Status::Warn);
    assert!(report
        .get("port.uplink1.link")
        .unwrap()
        .finding
        .contains("link down"));

    let mut layout = two_port_layout();
    layout.ports[1].device = "0000:5e:00.0".into();
    let report = run(&host, &layout);
    assert_eq!(status(&report, "port.uplink1.driver"), Status::Fail);
    assert!(fix(&report, "port.uplink1.driver").contains("lspci"));
}

#[test]
fn vfio_missing_and_memlock_limited_for_a_non_root_user() {
    let host = FakeHost::good();
    host.write("/proc/modules", "ice 1000000 0 - Live 0x0\n");
    std::fs::remove_file(host.path("/dev/vfio/vfio")).unwrap();
    host.write(
        "/proc/self/limits",
        "Max locked memory         65536                65536                bytes\n",
    );
    let report = run(&host, &two_port_layout());
    assert_eq!(status(&report, "driver.vfio"), Status::Fail);
    assert!(fix(&report, "driver.vfio").starts_with("modprobe vfio-pci"));
    assert_eq!(status(&report, "memlock"), Status::Warn);
    assert!(fix(&report, "memlock").contains("LimitMEMLOCK=infinity"));
    // the same limit is harmless with CAP_IPC_LOCK (bit 14)
    host.write(
        "/proc/self/status",
        "Uid:\t0\t0\t0\t0\nCapEff:\t0000000000004000\nCpus_allowed_list:\t0-15\n",
    );
    assert_eq!(
        status(&run(&host, &two_port_layout()), "memlock"),
        Status::Pass
    );
}

#[test]
fn a_layout_that_cannot_be_planned_is_one_failing_line_with_the_reason() {
    let host = FakeHost::good();
    let mut layout = two_port_layout();
    layout.eal.worker_lcores = vec![2, 3, 4];
    let report = run(&host, &layout);
    assert_eq!(status(&report, "plan"), Status::Fail);
    assert!(fix(&report, "plan").contains("port \"uplink0\" has tx_queues = 2 but 3 worker lcores"));
}

#[test]
fn without_a_config_the_host_nics_are_listed() {
    let host = FakeHost::good();
    host.set_driver(PORT1, Some("ice"));
    host.interface(PORT1, "ens1f1", "up", 25000);
    host.routes_on("ens1f1");
    let root = Root::new(host.root());
    let report = check::run(&HostModel::probe_with(&root, &[]), &root, None);
    let nics = report.get("nic.present").unwrap();
    assert_eq!(nics.status, Status::Pass);
    assert!(
        nics.finding.contains("0000:3b:00.0 8086:159b on vfio-pci"),
        "{}",
        nics.finding
    );
    assert!(
        nics.finding
            .contains("0000:3b:00.1 8086:159b on ice (ens1f1 up, in use)"),
        "{}",
        nics.finding
    );
    assert!(report.get("plan").is_none());
}

#[test]
fn a_host_without_any_nic_says_so_with_its_fix() {
    let host = FakeHost::good();
    std::fs::remove_dir_all(host.path("/sys/bus/pci/devices")).unwrap();
    let root = Root::new(host.root());
    let report = check::run(&HostModel::probe_with(&root, &[]), &root, None);
    assert_eq!(status(&report, "nic.present"), Status::Fail);
    assert!(fix(&report, "nic.present").contains("E810"));
}

#[test]
fn one_gig_pages_without_a_one_gig_mount_are_invisible_to_dpdk() {
    let host = FakeHost::good();
    host.write(
        "/proc/mounts",
        "hugetlbfs /dev/hugepages hugetlbfs rw,relatime 0 0\n",
    );
    host.write(
        "/proc/meminfo",
        "MemTotal:       263705484 kB\nHugepagesize:       2048 kB\n",
    );
    let report = run(&host, &two_port_layout());
    assert_eq!(not_passing(&report), ["hugepages.mounted"]);
    assert_eq!(status(&report, "hugepages.mounted"), Status::Warn);
    assert!(fix(&report, "hugepages.mounted").contains("-o pagesize=1G"));
    // the same mount is right when the default page size is 1G
    host.write("/proc/meminfo", "Hugepagesize:    1048576 kB\n");
    assert_eq!(
        status(&run(&host, &two_port_layout()), "hugepages.mounted"),
        Status::Pass
    );
}

#[test]
fn the_vdev_demo_config_needs_no_hugepages_iommu_or_vfio() {
    let host = FakeHost::good();
    host.no_hugepages();
    host.iommu_off();
    host.write("/proc/modules", "");
    let text = include_str!("../../deploy/clearway.demo.toml");
    let cfg = nic_config::config::parse(text, "clearway.demo.toml".as_ref()).unwrap();
    let report = run(&host, &cfg.layout);
    assert_eq!(
        not_passing(&report),
        ["hugepages.config"],
        "\n{}",
        report.render()
    );
    assert_eq!(
        status(&report, "hugepages.config"),
        Status::Warn,
        "a reminder that this is not production"
    );
    assert!(report
        .get("port.demo0.driver")
        .unwrap()
        .finding
        .contains("virtual device net_memif0"));
}

#[test]
fn an_e810_without_its_ddp_package_fails() {
    let host = FakeHost::good();
    std::fs::remove_file(host.path("/lib/firmware/intel/ice/ddp/ice.pkg")).unwrap();
    let report = run(&host, &two_port_layout());
    assert_eq!(
        not_passing(&report),
        ["port.uplink0.ddp", "port.uplink1.ddp"]
    );
    assert!(fix(&report, "port.uplink0.ddp").contains("ice.pkg"));
}

#[test]
fn a_shared_iommu_group_with_a_kernel_bound_function_is_not_viable() {
    let host = FakeHost::good();
    // No ACS on the slot: both functions of the card share group 7.
    host.iommu_group("/sys/kernel/iommu_groups/7", &[PORT0, PORT1]);
    assert_eq!(
        status(&run(&host, &two_port_layout()), "port.uplink0.iommu_group"),
        Status::Pass
    );
    host.set_driver(PORT1, Some("ice"));
    let report = run(&host, &two_port_layout());
    assert_eq!(status(&report, "port.uplink0.iommu_group"), Status::Fail);
    assert!(report
        .get("port.uplink0.iommu_group")
        .unwrap()
        .finding
        .contains("0000:3b:00.1 on ice"));
    assert!(fix(&report, "port.uplink0.iommu_group")
        .contains("clearway-nic bind 0000:3b:00.1 --driver vfio-pci"));
}
