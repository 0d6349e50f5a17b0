//! rte_flow steering for the one rule Clearway needs: "ingress UDP to this
//! destination port (optionally to this IPv4 address) goes to rx queue q".
//!
//! The switch sends to issuers from a UDP source port per lcore, so a rule
//! per lcore lets the NIC put each reply straight on the queue of the lcore
//! that owns its pending entry. Drivers without rte_flow (net_ring,
//! net_null, net_memif) refuse with a typed [`FlowError`]; the caller then
//! falls back to software hand-off between lcores.
//!
//! A [`FlowRule`] is plain data; the C pattern and action arrays are built
//! on the stack for the duration of one DPDK call (drivers copy what they
//! keep). A created rule is a [`Flow`], which destroys it on drop and holds
//! the [`Port`] so the port cannot be closed under it.

use std::ffi::CStr;
use std::fmt;
use std::net::Ipv4Addr;
use std::ptr::{self, NonNull};

use crate::error::strerror;
use crate::port::Port;

/// Byte offsets inside the rte_flow item specs, which bindgen sees as
/// opaque blobs (they embed packed protocol headers). The layout test
/// checks them against the C compiler through the shim.
mod field {
    use std::ops::Range;
    /// `struct rte_flow_item_ipv4` = `struct rte_ipv4_hdr`: 20 bytes.
    pub const IPV4_ITEM_LEN: usize = 20;
    /// `hdr.dst_addr`, network byte order.
    pub const IPV4_DST: Range<usize> = 16..20;
    /// `struct rte_flow_item_udp` = `struct rte_udp_hdr`: 8 bytes.
    pub const UDP_ITEM_LEN: usize = 8;
    /// `hdr.dst_port`, network byte order.
    pub const UDP_DST: Range<usize> = 2..4;
}

// The blobs bindgen generated must be the sizes the offsets assume.
const _: () = assert!(std::mem::size_of::<dpdk_sys::rte_flow_item_ipv4>() == field::IPV4_ITEM_LEN);
const _: () = assert!(std::mem::size_of::<dpdk_sys::rte_flow_item_udp>() == field::UDP_ITEM_LEN);

/// Ingress `ETH / IPV4 [dst = ip] / UDP dst = port / END` → `QUEUE q / END`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRule {
    dst_ip: Option<Ipv4Addr>,
    dst_port: u16,
    queue: u16,
}

impl FlowRule {
    /// Every ingress UDP datagram to `dst_port` (exact match) goes to rx
    /// queue `queue`, whatever its IPv4 destination.
    pub fn udp_to_queue(dst_port: u16, queue: u16) -> FlowRule {
        FlowRule {
            dst_ip: None,
            dst_port,
            queue,
        }
    }

    /// Narrows the rule to datagrams addressed to `ip` (exact match).
    pub fn dst_ip(self, ip: Ipv4Addr) -> FlowRule {
        FlowRule {
            dst_ip: Some(ip),
            ..self
        }
    }

    /// The IPv4 destination matched, if any.
    pub fn matched_ip(&self) -> Option<Ipv4Addr> {
        self.dst_ip
    }

    /// The UDP destination port matched.
    pub fn matched_port(&self) -> u16 {
        self.dst_port
    }

    /// The rx queue matching datagrams go to.
    pub fn queue(&self) -> u16 {
        self.queue
    }
}

impl fmt::Display for FlowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.dst_ip {
            Some(ip) => write!(f, "ingress eth / ipv4 dst {ip} / ")?,
            None => write!(f, "ingress eth / ipv4 / ")?,
        }
        write!(f, "udp dst {} -> queue {}", self.dst_port, self.queue)
    }
}

/// Which part of the rule the driver objected to (DPDK's
/// `enum rte_flow_error_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowErrorKind {
    /// No detail; often "the driver has no flow API".
    Unspecified,
    /// The flow handle or the device as a whole.
    Handle,
    AttrGroup,
    AttrPriority,
    AttrIngress,
    AttrEgress,
    AttrTransfer,
    Attr,
    ItemNum,
    ItemSpec,
    ItemLast,
    ItemMask,
    Item,
    ActionNum,
    ActionConf,
    Action,
    State,
    /// The driver set no type, or one this DPDK version does not name.
    Other(u32),
}

impl FlowErrorKind {
    fn from_raw(t: dpdk_sys::rte_flow_error_type) -> FlowErrorKind {
        use FlowErrorKind::*;
        match t {
            dpdk_sys::RTE_FLOW_ERROR_TYPE_UNSPECIFIED => Unspecified,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_HANDLE => Handle,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ATTR_GROUP => AttrGroup,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ATTR_PRIORITY => AttrPriority,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ATTR_INGRESS => AttrIngress,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ATTR_EGRESS => AttrEgress,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ATTR_TRANSFER => AttrTransfer,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ATTR => Attr,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ITEM_NUM => ItemNum,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ITEM_SPEC => ItemSpec,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ITEM_LAST => ItemLast,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ITEM_MASK => ItemMask,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ITEM => Item,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ACTION_NUM => ActionNum,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ACTION_CONF => ActionConf,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_ACTION => Action,
            dpdk_sys::RTE_FLOW_ERROR_TYPE_STATE => State,
            other => Other(other),
        }
    }
}

impl fmt::Display for FlowErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use FlowErrorKind::*;
        let s = match self {
            Unspecified => "unspecified",
            Handle => "device or handle",
            AttrGroup => "attribute group",
            AttrPriority => "attribute priority",
            AttrIngress => "attribute ingress",
            AttrEgress => "attribute egress",
            AttrTransfer => "attribute transfer",
            Attr => "attributes",
            ItemNum => "pattern length",
            ItemSpec => "pattern item spec",
            ItemLast => "pattern item range",
            ItemMask => "pattern item mask",
            Item => "pattern item",
            ActionNum => "action count",
            ActionConf => "action configuration",
            Action => "action",
            State => "device state",
            Other(t) => return write!(f, "error type {t}"),
        };
        f.write_str(s)
    }
}

/// A driver refused a [`FlowRule`] (or could not remove one), in its own
/// words, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("port {port} ({driver}): {op} refused `{rule}`: {message} ({kind}, errno {code}); {}", self.remedy())]
pub struct FlowError {
    /// The port's name.
    pub port: String,
    /// The driver's name (`net_ring`, `net_tap`, `net_ice`, ...).
    pub driver: String,
    /// `rte_flow_validate`, `rte_flow_create` or `rte_flow_destroy`.
    pub op: &'static str,
    pub rule: FlowRule,
    pub kind: FlowErrorKind,
    /// Positive errno (`ENOSYS`: no flow API; `ENOTSUP`: not this rule).
    pub code: i32,
    /// The driver's message (`rte_flow_error.message`), else strerror.
    pub message: String,
}

impl FlowError {
    /// True when the driver has no rte_flow at all (as opposed to refusing
    /// this particular rule).
    pub fn no_flow_api(&self) -> bool {
        self.code == dpdk_sys::ENOSYS as i32
    }

    /// One line telling the operator what to do.
    pub fn remedy(&self) -> &'static str {
        use FlowErrorKind::*;
        if self.no_flow_api() {
            return "this driver has no rte_flow: steer replies in software (lcore hand-off), or use a NIC whose PMD has flow rules";
        }
        match self.kind {
            ItemNum | ItemSpec | ItemLast | ItemMask | Item => {
                "the NIC cannot match ETH/IPv4/UDP-destination-port exactly: steer in software, or check the NIC's flow profile (firmware, DDP package)"
            }
            ActionNum | ActionConf | Action => {
                "the NIC cannot send matches to that queue: check the queue exists and the NIC allows QUEUE actions, else steer in software"
            }
            AttrGroup | AttrPriority | AttrIngress | AttrEgress | AttrTransfer | Attr => {
                "the NIC refuses ingress rules in group 0: steer in software"
            }
            _ if self.code == dpdk_sys::EEXIST as i32 => {
                "a conflicting rule exists or the NIC/kernel lacks the feature (net_tap needs sch_multiq, cls_flower and act_skbedit in the kernel): flush old rules or steer in software"
            }
            _ => "steer replies in software (lcore hand-off) and check the driver's log for the cause",
        }
    }
}

/// A rule installed on a port; removed (`rte_flow_destroy`) on drop.
pub struct Flow {
    /// None once destroyed explicitly.
    raw: Option<NonNull<dpdk_sys::rte_flow>>,
    rule: FlowRule,
    /// Keeps the port open: a flow must be destroyed before its port closes.
    port: Port,
}

// SAFETY: the handle is only passed to rte_flow_destroy, which may run on
// any thread: ethdev serialises flow calls on a port with the port's flow
// mutex unless the driver declares them thread-safe.
unsafe impl Send for Flow {}
// SAFETY: nothing reachable through `&Flow` touches the handle.
unsafe impl Sync for Flow {}

impl fmt::Debug for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flow")
            .field("port", &self.port.name())
            .field("rule", &self.rule)
            .finish()
    }
}

impl Flow {
    /// The rule this flow installed.
    pub fn rule(&self) -> &FlowRule {
        &self.rule
    }

    /// The port the rule is on.
    pub fn port(&self) -> &Port {
        &self.port
    }

    /// Removes the rule now, reporting a driver refusal (drop ignores it).
    pub fn destroy(mut self) -> Result<(), FlowError> {
        self.destroy_inner()
    }

    fn destroy_inner(&mut self) -> Result<(), FlowError> {
        let Some(raw) = self.raw.take() else {
            return Ok(());
        };
        let mut err = dpdk_sys::rte_flow_error::default();
        // SAFETY: `raw` came from rte_flow_create on this port, which is
        // still open (we hold it), and is destroyed exactly once (taken).
        let rc = unsafe { dpdk_sys::rte_flow_destroy(self.port.id(), raw.as_ptr(), &mut err) };
        if rc != 0 {
            return Err(flow_error(
                &self.port,
                "rte_flow_destroy",
                self.rule,
                -rc,
                &err,
            ));
        }
        Ok(())
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        // A refused destroy leaves the rule in the NIC until the port is
        // closed, which removes every rule; nothing better can be done here.
        let _ = self.destroy_inner();
    }
}

impl Port {
    /// Asks the driver whether it would accept `rule`, installing nothing.
    pub fn flow_validate(&self, rule: &FlowRule) -> Result<(), FlowError> {
        self.check_queue(rule, "rte_flow_validate")?;
        let c = CRule::new(rule);
        let mut err = dpdk_sys::rte_flow_error::default();
        let rc = c.with_arrays(|attr, pattern, actions| {
            // SAFETY: valid port id; attr, pattern and actions point at
            // END-terminated arrays and specs that live for this call.
            unsafe { dpdk_sys::rte_flow_validate(self.id(), attr, pattern, actions, &mut err) }
        });
        if rc != 0 {
            return Err(flow_error(self, "rte_flow_validate", *rule, -rc, &err));
        }
        Ok(())
    }

    /// Installs `rule`; it stays until the returned [`Flow`] is dropped.
    pub fn flow_create(&self, rule: &FlowRule) -> Result<Flow, FlowError> {
        self.check_queue(rule, "rte_flow_create")?;
        let c = CRule::new(rule);
        let mut err = dpdk_sys::rte_flow_error::default();
        let raw = c.with_arrays(|attr, pattern, actions| {
            // SAFETY: as in flow_validate; the driver copies what it keeps.
            unsafe { dpdk_sys::rte_flow_create(self.id(), attr, pattern, actions, &mut err) }
        });
        match NonNull::new(raw) {
            Some(raw) => Ok(Flow {
                raw: Some(raw),
                rule: *rule,
                port: self.clone(),
            }),
            None => {
                // SAFETY: reads this thread's rte_errno, which
                // rte_flow_error_set set on the failure.
                let code = unsafe { dpdk_sys::clw_errno() };
                Err(flow_error(self, "rte_flow_create", *rule, code, &err))
            }
        }
    }

    /// Installs every rule or none: all are validated first, then created
    /// in order; if one is refused, those already created are removed.
    pub fn flow_create_all(&self, rules: &[FlowRule]) -> Result<Vec<Flow>, FlowError> {
        for rule in rules {
            self.flow_validate(rule)?;
        }
        // Dropping the partial Vec on `?` destroys what was created.
        rules.iter().map(|r| self.flow_create(r)).collect()
    }

    /// The queue must exist; drivers differ in whether they check it.
    fn check_queue(&self, rule: &FlowRule, op: &'static str) -> Result<(), FlowError> {
        let configured = self.rx_queues_configured();
        if rule.queue < configured {
            return Ok(());
        }
        Err(FlowError {
            port: self.name().to_owned(),
            driver: self.driver().unwrap_or_default(),
            op,
            rule: *rule,
            kind: FlowErrorKind::ActionConf,
            code: dpdk_sys::EINVAL as i32,
            message: format!(
                "rx queue {} is not configured ({configured} rx queues; configure the port first)",
                rule.queue
            ),
        })
    }
}

/// A rule's C form. The pattern and action arrays point into this struct,
/// so they are built on the stack inside `with_arrays`, never stored.
struct CRule {
    attr: dpdk_sys::rte_flow_attr,
    ipv4_spec: dpdk_sys::rte_flow_item_ipv4,
    ipv4_mask: dpdk_sys::rte_flow_item_ipv4,
    has_ip: bool,
    udp_spec: dpdk_sys::rte_flow_item_udp,
    udp_mask: dpdk_sys::rte_flow_item_udp,
    queue: dpdk_sys::rte_flow_action_queue,
}

impl CRule {
    fn new(rule: &FlowRule) -> CRule {
        let mut attr = dpdk_sys::rte_flow_attr::default();
        attr.set_ingress(1);
        let mut ipv4_spec = dpdk_sys::rte_flow_item_ipv4::default();
        let mut ipv4_mask = dpdk_sys::rte_flow_item_ipv4::default();
        if let Some(ip) = rule.dst_ip {
            ipv4_spec._bindgen_opaque_blob[field::IPV4_DST].copy_from_slice(&ip.octets());
            ipv4_mask._bindgen_opaque_blob[field::IPV4_DST].copy_from_slice(&[0xff; 4]);
        }
        let mut udp_spec = dpdk_sys::rte_flow_item_udp::default();
        let mut udp_mask = dpdk_sys::rte_flow_item_udp::default();
        udp_spec._bindgen_opaque_blob[field::UDP_DST].copy_from_slice(&rule.dst_port.to_be_bytes());
        udp_mask._bindgen_opaque_blob[field::UDP_DST].copy_from_slice(&[0xff; 2]);
        CRule {
            attr,
            ipv4_spec,
            ipv4_mask,
            has_ip: rule.dst_ip.is_some(),
            udp_spec,
            udp_mask,
            queue: dpdk_sys::rte_flow_action_queue { index: rule.queue },
        }
    }

    fn with_arrays<R>(
        &self,
        call: impl FnOnce(
            *const dpdk_sys::rte_flow_attr,
            *const dpdk_sys::rte_flow_item,
            *const dpdk_sys::rte_flow_action,
        ) -> R,
    ) -> R {
        let item = |type_, spec: *const std::ffi::c_void, mask: *const std::ffi::c_void| {
            dpdk_sys::rte_flow_item {
                type_,
                spec,
                last: ptr::null(),
                mask,
            }
        };
        let none = ptr::null();
        // ETH and IPV4 without a spec match any frame of that protocol.
        let (ip_spec, ip_mask) = if self.has_ip {
            (
                (&self.ipv4_spec as *const dpdk_sys::rte_flow_item_ipv4).cast(),
                (&self.ipv4_mask as *const dpdk_sys::rte_flow_item_ipv4).cast(),
            )
        } else {
            (none, none)
        };
        let pattern = [
            item(dpdk_sys::RTE_FLOW_ITEM_TYPE_ETH, none, none),
            item(dpdk_sys::RTE_FLOW_ITEM_TYPE_IPV4, ip_spec, ip_mask),
            item(
                dpdk_sys::RTE_FLOW_ITEM_TYPE_UDP,
                (&self.udp_spec as *const dpdk_sys::rte_flow_item_udp).cast(),
                (&self.udp_mask as *const dpdk_sys::rte_flow_item_udp).cast(),
            ),
            item(dpdk_sys::RTE_FLOW_ITEM_TYPE_END, none, none),
        ];
        let actions = [
            dpdk_sys::rte_flow_action {
                type_: dpdk_sys::RTE_FLOW_ACTION_TYPE_QUEUE,
                conf: (&self.queue as *const dpdk_sys::rte_flow_action_queue).cast(),
            },
            dpdk_sys::rte_flow_action {
                type_: dpdk_sys::RTE_FLOW_ACTION_TYPE_END,
                conf: none,
            },
        ];
        call(&self.attr, pattern.as_ptr(), actions.as_ptr())
    }
}

fn flow_error(
    port: &Port,
    op: &'static str,
    rule: FlowRule,
    code: i32,
    err: &dpdk_sys::rte_flow_error,
) -> FlowError {
    let code = code.abs();
    let message = if err.message.is_null() {
        strerror(code)
    } else {
        // SAFETY: drivers point `message` at a static string or at
        // rte_strerror's per-thread buffer; copied out at once.
        unsafe { CStr::from_ptr(err.message) }
            .to_string_lossy()
            .into_owned()
    };
    FlowError {
        port: port.name().to_owned(),
        driver: port.driver().unwrap_or_default(),
        op,
        rule,
        kind: FlowErrorKind::from_raw(err.type_),
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The item specs are filled as raw header bytes: the offsets must be
    /// the C compiler's.
    #[test]
    fn flow_item_layout_matches_c() {
        let mut out = [0u32; 5];
        // SAFETY: writes five u32 into our array.
        unsafe { dpdk_sys::clw_flow_item_layout(out.as_mut_ptr()) };
        assert_eq!(
            out,
            [
                field::IPV4_ITEM_LEN as u32,
                field::IPV4_DST.start as u32,
                field::UDP_ITEM_LEN as u32,
                field::UDP_DST.start as u32,
                std::mem::size_of::<dpdk_sys::rte_flow_action_queue>() as u32,
            ]
        );
    }

    #[test]
    fn rule_puts_ip_and_port_in_network_order_with_exact_masks() {
        let rule = FlowRule::udp_to_queue(8601, 1).dst_ip(Ipv4Addr::new(10, 1, 2, 3));
        let c = CRule::new(&rule);
        assert!(c.has_ip);
        assert_eq!(
            &c.ipv4_spec._bindgen_opaque_blob[field::IPV4_DST],
            &[10, 1, 2, 3]
        );
        assert_eq!(
            &c.ipv4_mask._bindgen_opaque_blob[field::IPV4_DST],
            &[0xff; 4]
        );
        // Nothing but the destination address is matched.
        assert_eq!(c.ipv4_mask._bindgen_opaque_blob[..16], [0u8; 16]);
        assert_eq!(
            &c.udp_spec._bindgen_opaque_blob,
            &[0, 0, 0x21, 0x99, 0, 0, 0, 0]
        );
        assert_eq!(
            &c.udp_mask._bindgen_opaque_blob,
            &[0, 0, 0xff, 0xff, 0, 0, 0, 0]
        );
        assert_eq!(c.queue.index, 1);
        assert_eq!(c.attr.ingress(), 1);
        assert_eq!(c.attr.egress(), 0);
    }

    #[test]
    fn pattern_is_eth_ipv4_udp_end_and_action_queue_end() {
        let c = CRule::new(&FlowRule::udp_to_queue(8600, 0));
        assert!(!c.has_ip);
        let (types, ip_spec_null, actions) = c.with_arrays(|_, pattern, actions| {
            // SAFETY: both arrays live until with_arrays returns.
            let p = unsafe { std::slice::from_raw_parts(pattern, 4) };
            // SAFETY: as above.
            let a = unsafe { std::slice::from_raw_parts(actions, 2) };
            (
                p.iter().map(|i| i.type_).collect::<Vec<_>>(),
                p[1].spec.is_null() && p[1].mask.is_null(),
                a.iter().map(|x| x.type_).collect::<Vec<_>>(),
            )
        });
        assert_eq!(
            types,
            [
                dpdk_sys::RTE_FLOW_ITEM_TYPE_ETH,
                dpdk_sys::RTE_FLOW_ITEM_TYPE_IPV4,
                dpdk_sys::RTE_FLOW_ITEM_TYPE_UDP,
                dpdk_sys::RTE_FLOW_ITEM_TYPE_END
            ]
        );
        assert!(ip_spec_null, "no dst ip: any IPv4 matches");
        assert_eq!(
            actions,
            [
                dpdk_sys::RTE_FLOW_ACTION_TYPE_QUEUE,
                dpdk_sys::RTE_FLOW_ACTION_TYPE_END
            ]
        );
    }

    #[test]
    fn rule_reads_as_its_pattern() {
        let rule = FlowRule::udp_to_queue(8600, 0).dst_ip(Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(
            rule.to_string(),
            "ingress eth / ipv4 dst 10.0.0.1 / udp dst 8600 -> queue 0"
        );
        assert_eq!(
            FlowRule::udp_to_queue(8601, 1).to_string(),
            "ingress eth / ipv4 / udp dst 8601 -> queue 1"
        );
    }

    #[test]
    fn error_kinds_map_from_dpdk_and_say_what_to_do() {
        assert_eq!(
            FlowErrorKind::from_raw(dpdk_sys::RTE_FLOW_ERROR_TYPE_ITEM_MASK),
            FlowErrorKind::ItemMask
        );
        assert_eq!(FlowErrorKind::from_raw(999), FlowErrorKind::Other(999));
        let e = FlowError {
            port: "net_ring0".into(),
            driver: "net_ring".into(),
            op: "rte_flow_validate",
            rule: FlowRule::udp_to_queue(8600, 0),
            kind: FlowErrorKind::Unspecified,
            code: dpdk_sys::ENOSYS as i32,
            message: "Function not implemented".into(),
        };
        assert!(e.no_flow_api());
        let line = e.to_string();
        assert!(line.contains("net_ring"), "{line}");
        assert!(line.contains("Function not implemented"), "{line}");
        assert!(line.contains("hand-off"), "{line}");
        assert!(!line.contains('\n'));
    }
}
