//! Switch mode: one switch lcore per worker on the service port.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;
use nic_config::plan::Plan;
use rte::{Eal, FlowRule, LcoreHandle, Mempool, Port};
use switch::counters::LcoreCounters;
use switch::dedup::{DedupKey, Outcome};
use switch::pipeline::{
    handoff, AlwaysAllow, LcoreParts, LcoreQueues, MoneyHooks, Shared, SwitchConfig, SwitchLcore,
};
use switch::routes::Published;

/// The running switch lcores and what the main thread reads from them.
pub struct Running {
    pub handles: Vec<LcoreHandle<()>>,
    pub counters: Vec<Arc<LcoreCounters>>,
    pub shared: Arc<Shared>,
    /// How issuers' replies reach their lcore (for status). Held for its
    /// drop: the rte_flow rules stay installed while the switch runs.
    #[allow(dead_code)]
    pub steering: Steering,
}

/// How an issuer's reply reaches the lcore that owns its pending entry.
/// The software hand-off stays on in every mode: anything that still lands
/// on another lcore's queue is passed to its owner.
pub enum Steering {
    /// One switch lcore: every reply is already its own.
    OneLcore,
    /// The NIC puts UDP to `issuer_port_base + i` on lcore i's queue.
    Flow(Vec<rte::Flow>),
    /// The driver refused the rules (the reason): hand-off only.
    Handoff(String),
}

impl Steering {
    /// One line for the log and the status: `rte_flow (2 rules)`.
    pub fn describe(&self) -> String {
        match self {
            Steering::OneLcore => "none needed (one switch lcore)".into(),
            Steering::Flow(rules) => format!("rte_flow ({} rules)", rules.len()),
            Steering::Handoff(why) => format!("software hand-off ({why})"),
        }
    }
}

/// Installs a rule per lcore, "UDP to service_ip:issuer_port_base + i →
/// lcore i's rx queue", all or none. Needs the port started.
fn steer_replies(plan: &Plan, (port_index, port): (usize, &Port), cfg: &SwitchConfig) -> Steering {
    if plan.lcores.len() < 2 {
        return Steering::OneLcore;
    }
    if port.rx_queues_configured() < 2 {
        return Steering::Handoff("one rx queue: nothing for the NIC to steer to".into());
    }
    let mut rules = Vec::with_capacity(plan.lcores.len());
    for (i, lp) in plan.lcores.iter().enumerate() {
        let Some(&(_, q)) = lp.rx.iter().find(|(p, _)| *p == port_index) else {
            return Steering::Handoff(format!("lcore {} polls no queue of the port", lp.lcore));
        };
        let issuer_port = cfg.issuer_port_base.saturating_add(i as u16);
        rules.push(FlowRule::udp_to_queue(issuer_port, q).dst_ip(cfg.service_ip));
    }
    match port.flow_create_all(&rules) {
        Ok(flows) => Steering::Flow(flows),
        Err(e) => Steering::Handoff(format!("{}: {}", e.driver, e.message)),
    }
}

/// What the switch lcores run with.
pub struct SwitchSetup {
    pub config: SwitchConfig,
    pub routes: Arc<Published>,
    /// One per lcore (the money state's); empty = approve everything.
    pub hooks: Vec<Box<dyn MoneyHooks>>,
    /// Requests answered before this start, oldest first (the money
    /// state's `duplicates`): seeded into every lcore's duplicate filter,
    /// since a retransmission may arrive on any lcore.
    pub duplicates: Vec<(DedupKey, Outcome)>,
}

/// Builds every switch lcore on the main thread (all tables allocated
/// here), then launches each on its worker lcore.
pub fn launch(
    eal: &Eal,
    plan: &Plan,
    (port_index, port): (usize, &Port),
    pool: &Mempool,
    what: SwitchSetup,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Running> {
    let SwitchSetup {
        config: cfg,
        routes,
        mut hooks,
        duplicates,
    } = what;
    let lcores = plan.lcores.len();
    let shared = Arc::new(
        Shared::new(cfg, routes.clone(), lcores as u16, eal.tsc_hz())
            .map_err(anyhow::Error::msg)?,
    );
    let mac = match &shared.config.service_mac {
        Some(text) => crate::network::parse_mac(text).ok_or_else(|| {
            anyhow::anyhow!("[switch] service_mac {text:?} is not a MAC like 02:00:00:00:00:01")
        })?,
        None => port.mac().context("reading the service port's MAC")?,
    };
    let steering = steer_replies(plan, (port_index, port), &shared.config);
    println!("clearwayd: steering: {}", steering.describe());
    let ends = handoff::create(eal, lcores, "sw")?;
    let mut built = Vec::new();
    let mut counters = Vec::new();
    for ((i, lp), ends) in plan.lcores.iter().enumerate().zip(ends) {
        let mut rx = Vec::new();
        for &(p, q) in &lp.rx {
            if p == port_index {
                rx.push(port.rx_queue(q)?);
            }
        }
        let (writer, reader) = LcoreCounters::new_pair();
        counters.push(reader);
        let parts = LcoreParts {
            index: i as u16,
            shared: shared.clone(),
            queues: LcoreQueues {
                rx,
                tx: port.tx_queue(lp.tx_queue)?,
                mac,
            },
            handoff: ends,
            pool: pool.clone(),
            hooks: if hooks.is_empty() {
                Box::new(AlwaysAllow)
            } else {
                hooks.remove(0)
            },
            counters: writer,
        };
        let mut lcore = SwitchLcore::new(parts, rte::tsc::now()).map_err(anyhow::Error::msg)?;
        lcore.duplicate_filter_mut().seed(&duplicates);
        built.push((lp.lcore, lcore));
    }
    let mut handles = Vec::new();
    for (id, mut lcore) in built {
        let stop = stop.clone();
        handles.push(rte::launch(rte::LcoreId(id), move || lcore.run(&stop))?);
    }
    Ok(Running {
        handles,
        counters,
        shared,
        steering,
    })
}
