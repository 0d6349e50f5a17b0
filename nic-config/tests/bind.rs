//! Driver binding against a fake sysfs: the right attributes get the right values, in order,
//! and an interface that is up with routes or addresses is never cut off without --force.

mod common;

use common::{FakeHost, PORT0, PORT1};
use nic_config::bind::{bind, unbind, BindError};
use nic_config::sysfs::Root;

fn kernel_bound_port(host: &FakeHost, state: &str) {
    host.set_driver(PORT1, Some("ice"));
    host.interface(PORT1, "ens1f1", state, 25000);
}

#[test]
fn bind_from_a_kernel_driver_writes_unbind_override_and_probe_in_order() {
    let host = FakeHost::good();
    kernel_bound_port(&host, "down");
    let report = bind(&Root::new(host.root()), PORT1, "vfio-pci", false).unwrap();
    let dev = format!("/sys/bus/pci/devices/{PORT1}");
    assert_eq!(
        report.writes,
        [
            (format!("{dev}/driver/unbind"), PORT1.to_string()),
            (format!("{dev}/driver_override"), "vfio-pci".to_string()),
            ("/sys/bus/pci/drivers_probe".to_string(), PORT1.to_string()),
        ]
    );
    assert_eq!(report.previous_driver.as_deref(), Some("ice"));
    // driver/unbind is reached through the symlink: the ice driver received the address
    assert_eq!(host.read("/sys/bus/pci/drivers/ice/unbind"), PORT1);
    assert_eq!(host.read(&format!("{dev}/driver_override")), "vfio-pci");
    assert_eq!(host.read("/sys/bus/pci/drivers_probe"), PORT1);
    // a fake tree has no kernel to act on the probe; the report says what is bound now
    assert!(!report.is_bound_to("vfio-pci"));
    host.set_driver(PORT1, Some("vfio-pci"));
    assert!(bind(&Root::new(host.root()), PORT1, "vfio-pci", false)
        .unwrap()
        .writes
        .is_empty());
}

#[test]
fn an_up_interface_carrying_routes_is_refused_and_nothing_is_written() {
    let host = FakeHost::good();
    kernel_bound_port(&host, "up");
    host.routes_on("ens1f1");
    let err = bind(&Root::new(host.root()), PORT1, "vfio-pci", false).unwrap_err();
    let BindError::InUse { iface, usage, .. } = &err else {
        panic!("expected InUse, got {err}")
    };
    assert_eq!(iface, "ens1f1");
    assert_eq!(usage.len(), 2);
    let message = err.to_string();
    assert!(
        message.contains("route 0.0.0.0/0 via 192.0.2.1"),
        "{message}"
    );
    assert!(message.contains("--force"), "{message}");
    assert_eq!(
        host.read("/sys/bus/pci/drivers/ice/unbind"),
        "",
        "ice was not asked to let go"
    );
    assert_eq!(
        host.read(&format!("/sys/bus/pci/devices/{PORT1}/driver_override")),
        "(null)"
    );
    // the same for unbind
    assert!(matches!(
        unbind(&Root::new(host.root()), PORT1, false),
        Err(BindError::InUse { .. })
    ));
}

#[test]
fn force_overrides_the_in_use_guard() {
    let host = FakeHost::good();
    kernel_bound_port(&host, "up");
    host.routes_on("ens1f1");
    let report = bind(&Root::new(host.root()), PORT1, "vfio-pci", true).unwrap();
    assert_eq!(report.writes.len(), 3);
    assert_eq!(host.read("/sys/bus/pci/drivers/ice/unbind"), PORT1);
}

#[test]
fn a_global_ipv6_address_counts_as_in_use_but_link_local_does_not() {
    let host = FakeHost::good();
    kernel_bound_port(&host, "up");
    host.write(
        "/proc/net/if_inet6",
        "fe80000000000000020c29fffe000001 05 40 20 80   ens1f1\n",
    );
    assert!(
        bind(&Root::new(host.root()), PORT1, "vfio-pci", false).is_ok(),
        "link-local only"
    );

    let host = FakeHost::good();
    kernel_bound_port(&host, "up");
    host.write(
        "/proc/net/if_inet6",
        "20010db8000000000000000000000005 05 40 00 80   ens1f1\n",
    );
    let err = bind(&Root::new(host.root()), PORT1, "vfio-pci", false).unwrap_err();
    assert!(err.to_string().contains("address 2001:db8::5/64"), "{err}");
}

#[test]
fn routes_on_a_down_interface_do_not_block() {
    let host = FakeHost::good();
    kernel_bound_port(&host, "down");
    host.routes_on("ens1f1");
    assert!(bind(&Root::new(host.root()), PORT1, "vfio-pci", false).is_ok());
}

#[test]
fn unbind_from_vfio_clears_the_override_and_skips_the_guard() {
    let host = FakeHost::good();
    host.write(
        &format!("/sys/bus/pci/devices/{PORT0}/driver_override"),
        "vfio-pci",
    );
    let report = unbind(&Root::new(host.root()), PORT0, false).unwrap();
    assert_eq!(report.previous_driver.as_deref(), Some("vfio-pci"));
    assert_eq!(host.read("/sys/bus/pci/drivers/vfio-pci/unbind"), PORT0);
    assert_eq!(
        host.read(&format!("/sys/bus/pci/devices/{PORT0}/driver_override")),
        "\n"
    );
    assert_eq!(report.writes.len(), 2);
}

#[test]
fn missing_device_or_driver_say_what_to_do() {
    let host = FakeHost::good();
    let root = Root::new(host.root());
    let err = bind(&root, "0000:99:00.0", "vfio-pci", false).unwrap_err();
    assert!(matches!(err, BindError::NoDevice { .. }));
    assert!(err.to_string().contains("lspci -D"));
    let err = bind(&root, PORT0, "igb_uio", false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "driver igb_uio is not loaded (no /sys/bus/pci/drivers/igb_uio): modprobe igb_uio"
    );
}
