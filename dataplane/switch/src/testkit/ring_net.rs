//! The switch as a black box on real DPDK, for tests: switch lcores on an
//! in-process ring port whose wire ends the test holds. Frames go in on a
//! queue's inject ring, come out of the collect rings; time is a fake TSC
//! the test moves, so timeouts are exact and nothing depends on the
//! machine's speed.
//!
//! One EAL per process: build one [`RingNet`] per test process (cargo-nextest
//! runs each test in its own).

use std::borrow::Cow;
use std::net::SocketAddrV4;
use std::sync::Arc;

use rte::{Eal, Mempool, Port, PortConfig, RingPairPort};
use wire::net::headers::{Class, Headers, UdpFlow};

use super::{published, Msg, ACQUIRER, ACQUIRER_MAC, FIXTURE_UNIX_TIME, ISSUER, ISSUER_MAC};
use super::{SWITCH_IP, SWITCH_MAC};
use crate::counters::{CounterSnapshot, LcoreCounters};
use crate::pipeline::admission::WallClock;
use crate::pipeline::{
    handoff, AlwaysAllow, LcoreParts, LcoreQueues, MoneyHooks, Shared, SwitchConfig, SwitchLcore,
};
use crate::routes::Published;

/// Where the fake TSC starts. The switch's wall clock is pinned so that
/// this reading is [`FIXTURE_UNIX_TIME`], the moment the fixtures' field 7
/// names.
pub const FAKE_TSC_START: u64 = 1_000_000;
/// The switch's service port (acquirers send requests here).
pub const SERVICE_PORT: u16 = 8583;
/// Lcore 0's issuer-facing port (issuers answer there; lcore `i` uses
/// `8600 + i`).
pub const ISSUER_FACING_PORT: u16 = 8600;

/// The largest ISO 8583 frame [`RingNet::out`] accepts from the switch.
const MAX_FRAME: u16 = 8192;
/// Per-packet data room of the harness's mbufs (a full Ethernet frame plus
/// DPDK's default headroom).
const DATA_ROOM: u16 = 2176;

/// Makes the money hooks of each lcore (one call per lcore).
type HooksFactory = Box<dyn Fn() -> Box<dyn MoneyHooks>>;

/// What a test sends as one ISO 8583 message: a [`Msg`] (encoded on the
/// way out) or bytes sent as they are (sealed, truncated, tampered with).
pub trait MessageBytes {
    /// The message as it goes on the wire.
    fn message_bytes(&self) -> Cow<'_, [u8]>;
}

impl MessageBytes for Msg {
    fn message_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.encode())
    }
}

impl MessageBytes for [u8] {
    fn message_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self)
    }
}

impl MessageBytes for Vec<u8> {
    fn message_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self)
    }
}

/// One ISO 8583 message the switch sent: where to, its bytes as sent, and
/// the message they decode to.
pub struct Sent {
    /// Addresses and ports of the UDP datagram that carried it.
    pub flow: UdpFlow,
    /// The message's bytes, exactly as the switch framed them.
    pub bytes: Vec<u8>,
    /// The decoded message.
    pub msg: Msg,
}

impl std::fmt::Debug for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} → {}: {:?}", self.flow.src, self.flow.dst, self.msg)
    }
}

/// What differs between test networks; [`RingNetBuilder::build`] makes the
/// [`RingNet`].
pub struct RingNetBuilder {
    tag: String,
    lcores: u16,
    ring_size: u32,
    mempool_size: u32,
    config: SwitchConfig,
    routes: Option<Arc<Published>>,
    hooks: HooksFactory,
}

impl RingNetBuilder {
    /// Number of switch lcores, each with its own RX/TX queue pair (1 by
    /// default).
    pub fn lcores(mut self, lcores: u16) -> Self {
        self.lcores = lcores;
        self
    }

    /// Size of every inject/collect ring of the port (1024 by default).
    /// Small rings fill fast: that is how back-pressure is tested.
    pub fn ring_size(mut self, ring_size: u32) -> Self {
        self.ring_size = ring_size;
        self
    }

    /// Mbufs in the pool (8191 by default).
    pub fn mempool_size(mut self, mbufs: u32) -> Self {
        self.mempool_size = mbufs;
        self
    }

    /// Changes the switch configuration. It starts as
    /// `SwitchConfig::new(SWITCH_IP, "p0")` with room for 4096 pending
    /// entries and 4096 remembered requests.
    pub fn config(mut self, tweak: impl FnOnce(&mut SwitchConfig)) -> Self {
        tweak(&mut self.config);
        self
    }

    /// The published routes the lcores run on ([`published`], the fixture
    /// network, by default). Tests publish new snapshots through
    /// [`RingNet::routes`].
    pub fn routes(mut self, routes: Arc<Published>) -> Self {
        self.routes = Some(routes);
        self
    }

    /// Money hooks for each lcore, one factory call per lcore
    /// ([`AlwaysAllow`] by default).
    pub fn hooks(mut self, hooks: impl Fn() -> Box<dyn MoneyHooks> + 'static) -> Self {
        self.hooks = Box::new(hooks);
        self
    }

    /// Initialises EAL, starts the ring port and builds the lcores at
    /// [`FAKE_TSC_START`].
    ///
    /// # Panics
    /// On any setup failure (EAL already initialised in this process, a
    /// configuration the switch refuses): a test cannot run without it.
    pub fn build(self) -> RingNet {
        let RingNetBuilder {
            tag,
            lcores,
            ring_size,
            mempool_size,
            config,
            routes,
            hooks,
        } = self;
        let eal = Eal::init(&rte::test_eal_args(&tag)).expect("EAL");
        let pool =
            Mempool::create(&eal, "ring_net", mempool_size, 0, DATA_ROOM, -1).expect("mempool");
        let pair = Port::ring_pair(&eal, "net_ring_net", lcores, ring_size).expect("ring port");
        let port_config = PortConfig {
            rx_queues: lcores,
            tx_queues: lcores,
            rss: false,
            ..PortConfig::default()
        };
        pair.port
            .configure(&port_config, &pool)
            .expect("ring port configures");
        pair.port.start().expect("ring port starts");
        let routes = routes.unwrap_or_else(published);
        let hz = eal.tsc_hz();
        let now = FAKE_TSC_START;
        let mut shared = Shared::new(config, routes.clone(), lcores, hz).expect("switch config");
        // The fake clock's start is the moment the fixtures' field 7 names.
        shared.wall = WallClock::pinned(FIXTURE_UNIX_TIME, now, hz);
        let shared = Arc::new(shared);
        let mut built = Vec::with_capacity(lcores as usize);
        let mut counters = Vec::with_capacity(lcores as usize);
        let ends = handoff::create(&eal, lcores as usize, "net").expect("handoff rings");
        for (index, handoff) in (0..lcores).zip(ends) {
            let (writer, reader) = LcoreCounters::new_pair();
            counters.push(reader);
            let parts = LcoreParts {
                index,
                shared: shared.clone(),
                queues: LcoreQueues {
                    rx: vec![pair.port.rx_queue(index).expect("rx queue")],
                    tx: pair.port.tx_queue(index).expect("tx queue"),
                    mac: SWITCH_MAC,
                },
                handoff,
                pool: pool.clone(),
                hooks: hooks(),
                counters: writer,
            };
            built.push(SwitchLcore::new(parts, now).expect("switch lcore"));
        }
        RingNet {
            _eal: eal,
            pool,
            pair,
            lcores: built,
            counters,
            routes,
            hz,
            now,
        }
    }
}

/// Switch lcores on one in-process ring port, driven by the test on a fake
/// TSC.
pub struct RingNet {
    _eal: Eal,
    /// The mbufs of the port and of the frames the test injects.
    pub pool: Mempool,
    /// The port and its wire ends: `inject[q]` arrives on RX queue `q`,
    /// `collect[q]` holds what TX queue `q` sent.
    pub pair: RingPairPort,
    /// The switch lcores; lcore `i` polls RX queue `i` and sends on TX
    /// queue `i`.
    pub lcores: Vec<SwitchLcore>,
    counters: Vec<Arc<LcoreCounters>>,
    /// The routes the lcores run on; publish to change them mid-test.
    pub routes: Arc<Published>,
    /// TSC ticks per second.
    pub hz: u64,
    /// The fake TSC now; tests may move it forward directly.
    pub now: u64,
}

impl RingNet {
    /// A builder for a network whose EAL file prefix carries `tag` (unique
    /// per test, so concurrent test processes never share one).
    pub fn builder(tag: &str) -> RingNetBuilder {
        let mut config = SwitchConfig::new(SWITCH_IP, "p0");
        config.pending_capacity = 4096;
        config.dedup_capacity = 4096;
        RingNetBuilder {
            tag: tag.to_string(),
            lcores: 1,
            ring_size: 1024,
            mempool_size: 8191,
            config,
            routes: None,
            hooks: Box::new(|| Box::new(AlwaysAllow)),
        }
    }

    /// Puts `frame` on the wire towards RX queue `queue`.
    ///
    /// # Panics
    /// When the pool is empty or the queue's inject ring is full.
    pub fn inject(&mut self, queue: usize, frame: &[u8]) {
        let mut m = self.pool.alloc().expect("an mbuf for the injected frame");
        m.set_len(frame.len()).expect("frame fits an mbuf");
        m.data_mut().copy_from_slice(frame);
        self.pair.inject[queue]
            .enqueue(m)
            .expect("room in the inject ring");
    }

    /// `from` (with Ethernet address `from_mac`) sends `message` in one
    /// UDP datagram to the switch's port `to_port`, arriving on RX queue
    /// `queue`.
    pub fn send<M: MessageBytes + ?Sized>(
        &mut self,
        from: SocketAddrV4,
        from_mac: [u8; 6],
        to_port: u16,
        queue: usize,
        message: &M,
    ) {
        let frame = super::udp_frame(
            from,
            from_mac,
            SocketAddrV4::new(SWITCH_IP, to_port),
            SWITCH_MAC,
            &message.message_bytes(),
        );
        self.inject(queue, &frame);
    }

    /// The acquirer sends `message` to the switch's service port (RX
    /// queue 0).
    pub fn acquirer_sends<M: MessageBytes + ?Sized>(&mut self, message: &M) {
        self.send(ACQUIRER, ACQUIRER_MAC, SERVICE_PORT, 0, message);
    }

    /// The issuer sends `message` to lcore 0's issuer-facing port (RX
    /// queue 0), where it got lcore 0's requests from.
    pub fn issuer_sends<M: MessageBytes + ?Sized>(&mut self, message: &M) {
        self.send(ISSUER, ISSUER_MAC, ISSUER_FACING_PORT, 0, message);
    }

    /// Polls every lcore once at the current fake time; returns the
    /// packets they received.
    pub fn poll(&mut self) -> usize {
        let now = self.now;
        self.lcores.iter_mut().map(|l| l.poll(now)).sum()
    }

    /// Polls until nothing moves (at most 8 rounds), then once more 200 µs
    /// later, past the TX drain timer, so queued frames leave.
    pub fn run(&mut self) {
        for _ in 0..8 {
            if self.poll() == 0 {
                break;
            }
        }
        self.now += rte::tsc::micros_to_ticks(200, self.hz);
        self.poll();
    }

    /// Moves the fake clock `ms` forward in 100 ms steps, running the
    /// lcores after each, so timers fire in order as they would live.
    pub fn advance_ms(&mut self, ms: u64) {
        for _ in 0..ms.div_ceil(100) {
            self.now += rte::tsc::micros_to_ticks(100_000, self.hz);
            self.run();
        }
    }

    /// Takes every frame the switch sent off the wire (all TX queues, in
    /// queue order), freeing their mbufs.
    pub fn raw_out(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for c in &mut self.pair.collect {
            while let Some(m) = c.dequeue() {
                out.push(m.data().to_vec());
            }
        }
        out
    }

    /// Takes the ISO 8583 messages the switch sent off the wire, one
    /// [`Sent`] per message (a datagram may carry several). Frames that
    /// are not UDP (ARP, ICMP) are taken and skipped.
    ///
    /// # Panics
    /// When the switch sent a frame with broken headers or checksums, a
    /// broken ISO 8583 frame, or a message that does not decode: the
    /// switch must never put those on the wire.
    pub fn out(&mut self) -> Vec<Sent> {
        let mut out = Vec::new();
        for frame in self.raw_out() {
            let h = Headers::parse(&frame).expect("valid headers and checksums");
            let Class::Udp(flow) = h.class else {
                continue;
            };
            for f in wire::frame::Frames::new(h.payload(&frame), MAX_FRAME) {
                let bytes = f.expect("one whole frame").to_vec();
                let msg = Msg::decode(&bytes);
                out.push(Sent { flow, bytes, msg });
            }
        }
        out
    }

    /// Every lcore's counters, summed.
    pub fn counters(&self) -> CounterSnapshot {
        LcoreCounters::sum(self.counters.iter().map(|c| c.as_ref()))
    }
}
