//! The systemd unit follows the config and its plan; the CLI writes it where systemd looks.

mod common;

use common::FakeHost;
use nic_config::config::{parse, DataplaneConfig};
use nic_config::service::{install, render_unit, UnitOptions, UNIT_PATH};
use nic_config::sysfs::Root;
use nic_config::{plan, HostModel};
use std::path::Path;
use std::process::Command;

const PRODUCTION: &str = include_str!("../../deploy/clearway.production.toml");

fn options() -> UnitOptions {
    UnitOptions {
        binary: "/usr/local/bin/clearwayd".into(),
        config_path: "/etc/clearway/clearway.toml".into(),
    }
}

/// `Key=value` lines of the unit, in order.
fn values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

fn unit_for(cfg: &DataplaneConfig, host: &HostModel) -> String {
    render_unit(cfg, &plan(&cfg.layout, host).unwrap(), &options())
}

#[test]
fn production_unit_matches_the_config() {
    let host = FakeHost::good();
    let model = HostModel::probe(host.root());
    let with_journal = format!("{PRODUCTION}\n[journal]\ndir = \"/srv/clearway/journal\"\n");
    let cfg = parse(&with_journal, Path::new("clearway.toml")).unwrap();
    let unit = unit_for(&cfg, &model);
    assert_eq!(
        values(&unit, "CPUAffinity"),
        ["1 2 3 4 5"],
        "main lcore 1 + worker_lcores 2-5"
    );
    assert_eq!(
        values(&unit, "ExecStart"),
        ["/usr/local/bin/clearwayd --config /etc/clearway/clearway.toml"]
    );
    assert_eq!(
        values(&unit, "ExecStartPre"),
        ["/usr/bin/install -d -m 0750 /srv/clearway/journal"]
    );
    assert_eq!(values(&unit, "Requires"), ["dev-hugepages.mount"]);
    assert_eq!(
        values(&unit, "After"),
        ["network-online.target dev-hugepages.mount"]
    );
    assert_eq!(values(&unit, "LimitMEMLOCK"), ["infinity"]);
    assert_eq!(values(&unit, "Restart"), ["on-failure"]);
    assert_eq!(values(&unit, "WantedBy"), ["multi-user.target"]);
}

#[test]
fn demo_unit_without_hugepages_or_journal_uses_defaults() {
    let text = "[dataplane.eal]\nhugepages = false\n[[dataplane.ports]]\nname = \"demo0\"\ndevice = \"net_null0\"\n";
    let cfg = parse(text, Path::new("demo.toml")).unwrap();
    let unit = unit_for(&cfg, &HostModel::uniform(2));
    assert_eq!(values(&unit, "CPUAffinity"), ["0 1"]);
    assert!(
        values(&unit, "Requires").is_empty(),
        "no hugepage mount needed with --no-huge"
    );
    assert_eq!(
        values(&unit, "ExecStartPre"),
        ["/usr/bin/install -d -m 0750 /var/lib/clearway/journal"]
    );
}

#[test]
fn install_writes_the_unit_under_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let path = install(&Root::new(dir.path()), "[Unit]\n").unwrap();
    assert_eq!(path, dir.path().join(UNIT_PATH.trim_start_matches('/')));
    assert_eq!(std::fs::read_to_string(path).unwrap(), "[Unit]\n");
}

fn cli(host: &FakeHost, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clearway-nic"))
        .arg("--root")
        .arg(host.root())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_install_service_writes_what_service_prints() {
    let host = FakeHost::good();
    host.write("/etc/clearway/clearway.toml", PRODUCTION);
    let (code, printed, err) = cli(&host, &["service"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        printed.contains("ExecStart=/usr/local/bin/clearwayd --config /etc/clearway/clearway.toml"),
        "{printed}"
    );
    let (code, out, err) = cli(&host, &["install-service"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("systemctl daemon-reload"));
    assert_eq!(host.read(UNIT_PATH), printed);
}

#[test]
fn cli_check_exit_codes_follow_the_table() {
    let host = FakeHost::good();
    host.write("/etc/clearway/clearway.toml", PRODUCTION);
    let (code, out, _) = cli(&host, &["check"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 warn, 0 fail"), "{out}");
    host.no_hugepages();
    let (code, out, _) = cli(&host, &["check", "--json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let failing: Vec<&str> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == "fail")
        .map(|l| l["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        failing,
        [
            "hugepages.reserved",
            "hugepages.mounted",
            "hugepages.enough"
        ]
    );
}

#[test]
fn cli_plan_prints_the_queue_map_and_eal_args() {
    let host = FakeHost::good();
    host.write("/etc/clearway/clearway.toml", PRODUCTION);
    let (code, out, err) = cli(&host, &["plan"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("uplink0:0 uplink1:0"),
        "lcore 2 polls queue 0 of both ports:\n{out}"
    );
    assert!(out.contains("EAL args: -l 1-5 --main-lcore 1 --socket-mem 1024,0 --file-prefix clearway -a 0000:3b:00.0 -a 0000:3b:00.1 --log-level lib.eal:notice"), "{out}");
    let (code, json, _) = cli(&host, &["plan", "--json"]);
    assert_eq!(code, 0);
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["lcores"].as_array().unwrap().len(), 4);
    assert_eq!(plan["mempool"]["mbufs"], 32767);
}

#[test]
fn cli_refuses_to_unbind_an_interface_in_use() {
    let host = FakeHost::good();
    host.set_driver(common::PORT1, Some("ice"));
    host.interface(common::PORT1, "ens1f1", "up", 25000);
    host.routes_on("ens1f1");
    let (code, _, err) = cli(&host, &["bind", common::PORT1]);
    assert_eq!(code, 2);
    assert!(err.contains("in use") && err.contains("--force"), "{err}");
    let (code, out, err) = cli(&host, &["unbind", common::PORT1, "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ice -> no driver"), "{out}");
}

#[test]
fn the_plan_shown_in_tuning_md_is_what_the_tool_prints() {
    let host = FakeHost::good();
    host.write("/etc/clearway/clearway.toml", PRODUCTION);
    let (code, out, err) = cli(&host, &["plan"]);
    assert_eq!(code, 0, "{err}");
    let doc = include_str!("../../docs/tuning.md");
    assert!(
        doc.contains(&out),
        "docs/tuning.md should show exactly:\n{out}"
    );
}
