//! Is a kernel network interface in use? Routes and addresses that would vanish if its NIC were
//! handed to DPDK — the reason `clearway-nic bind` refuses without `--force` (as dpdk-devbind does
//! for "Active" interfaces): unbinding the management NIC cuts off the operator's own session.

use crate::sysfs::Root;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One reason an interface is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    /// An IPv4 route through the interface (`/proc/net/route`).
    Route {
        destination: String,
        gateway: Option<Ipv4Addr>,
    },
    /// A configured address that is not link-local.
    Address(String),
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Usage::Route {
                destination,
                gateway: Some(gw),
            } => write!(f, "route {destination} via {gw}"),
            Usage::Route {
                destination,
                gateway: None,
            } => write!(f, "route {destination}"),
            Usage::Address(a) => write!(f, "address {a}"),
        }
    }
}

/// Everything that makes `iface` in use: IPv4 routes and non-link-local IPv6 addresses from
/// `/proc` under `root`, and on the real host also IPv4 addresses from `ip -j -4 addr`
/// (procfs has no per-interface IPv4 address list).
pub fn interface_usage(root: &Root, iface: &str) -> Vec<Usage> {
    let mut usage = ipv4_routes(&root.read("/proc/net/route").unwrap_or_default(), iface);
    usage.extend(ipv6_addresses(
        &root.read("/proc/net/if_inet6").unwrap_or_default(),
        iface,
    ));
    if root.is_host() {
        usage.extend(ipv4_addresses_from_ip(iface));
    }
    usage
}

/// Rows of `/proc/net/route` for `iface`. Addresses there are hex in host (little-endian) order.
pub fn ipv4_routes(table: &str, iface: &str) -> Vec<Usage> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.first() != Some(&iface) || f.len() < 8 {
                return None;
            }
            let dest = hex_ipv4(f[1])?;
            let gateway = hex_ipv4(f[2]).filter(|g| !g.is_unspecified());
            let prefix = u32::from(hex_ipv4(f[7])?).count_ones();
            Some(Usage::Route {
                destination: format!("{dest}/{prefix}"),
                gateway,
            })
        })
        .collect()
}

fn hex_ipv4(hex: &str) -> Option<Ipv4Addr> {
    let raw = u32::from_str_radix(hex, 16).ok()?;
    Some(Ipv4Addr::from(raw.swap_bytes()))
}

/// Rows of `/proc/net/if_inet6` for `iface`, skipping link-local (scope 0x20) and host (0x10)
/// addresses, which every up interface has and nothing depends on.
pub fn ipv6_addresses(table: &str, iface: &str) -> Vec<Usage> {
    table
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 || f[5] != iface || f[3] == "20" || f[3] == "10" {
                return None;
            }
            let raw = u128::from_str_radix(f[0], 16).ok()?;
            let prefix = u8::from_str_radix(f[2], 16).ok()?;
            Some(Usage::Address(format!("{}/{prefix}", Ipv6Addr::from(raw))))
        })
        .collect()
}

fn ipv4_addresses_from_ip(iface: &str) -> Vec<Usage> {
    let Ok(out) = std::process::Command::new("ip")
        .args(["-j", "-4", "addr", "show", "dev", iface])
        .output()
    else {
        return Vec::new();
    };
    parse_ip_json(&String::from_utf8_lossy(&out.stdout))
}

/// Addresses from `ip -j addr` output.
pub fn parse_ip_json(json: &str) -> Vec<Usage> {
    let Ok(serde_json::Value::Array(links)) = serde_json::from_str::<serde_json::Value>(json)
    else {
        return Vec::new();
    };
    links
        .iter()
        .filter_map(|l| l.get("addr_info")?.as_array())
        .flatten()
        .filter_map(|a| {
            let local = a.get("local")?.as_str()?;
            let prefix = a.get("prefixlen")?.as_u64()?;
            (a.get("scope").and_then(|s| s.as_str()) != Some("link"))
                .then(|| Usage::Address(format!("{local}/{prefix}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
        eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
    const INET6: &str = "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n\
        fd000000000000000000000000000002 04 40 00 82     eth0\n\
        00000000000000000000000000000001 01 80 10 80       lo\n";

    #[test]
    fn routes_of_this_machine_kind_decode() {
        assert_eq!(
            ipv4_routes(ROUTE, "eth0"),
            vec![
                Usage::Route {
                    destination: "0.0.0.0/0".into(),
                    gateway: Some(Ipv4Addr::new(192, 0, 2, 1))
                },
                Usage::Route {
                    destination: "192.0.2.0/24".into(),
                    gateway: None
                },
            ]
        );
        assert!(ipv4_routes(ROUTE, "ens1f0").is_empty());
    }

    #[test]
    fn link_local_ipv6_does_not_count() {
        assert_eq!(
            ipv6_addresses(INET6, "eth0"),
            vec![Usage::Address("fd00::2/64".into())]
        );
        assert!(ipv6_addresses(INET6, "lo").is_empty());
    }

    #[test]
    fn ip_json_addresses() {
        let json = r#"[{"ifname":"eth0","addr_info":[{"family":"inet","local":"192.0.2.2","prefixlen":24,"scope":"global"}]}]"#;
        assert_eq!(
            parse_ip_json(json),
            vec![Usage::Address("192.0.2.2/24".into())]
        );
        assert!(parse_ip_json("not json").is_empty());
    }
}
