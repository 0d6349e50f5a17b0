//! Ethernet port bring-up, link state and statistics.

use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use crate::eal::{object_created, object_released, Eal};
use crate::error::{Error, Result};
use crate::mbuf::Mbuf;
use crate::mempool::Mempool;
use crate::queue::{RxQueue, TxQueue};
use crate::ring::{Consumer, Producer, Ring, RingMode};

/// A DPDK ethdev port id.
pub type PortId = u16;

/// How to bring a port up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
    /// None keeps the driver's default MTU.
    pub mtu: Option<u16>,
    pub promiscuous: bool,
    /// Spread flows over rx queues by IPv4/IPv6 addresses and UDP ports,
    /// where the driver can (ignored with a single rx queue).
    pub rss: bool,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            rx_queues: 1,
            tx_queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            mtu: None,
            promiscuous: false,
            rss: true,
        }
    }
}

/// Link state as the driver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    pub up: bool,
    pub speed_mbps: u32,
    pub full_duplex: bool,
}

/// The basic counters every driver keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Dropped by the NIC because rx queues were full.
    pub rx_missed: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    /// Rx failures for want of an mbuf.
    pub rx_no_mbuf: u64,
}

struct PortInner {
    id: PortId,
    name: String,
    /// Queues already handed out: (rx, tx) bitmaps by queue index.
    taken: Mutex<(Vec<bool>, Vec<bool>)>,
    started: Mutex<bool>,
    /// Rx queues point into this pool; it must outlive the port.
    _pool: Mutex<Option<Mempool>>,
    /// Rings backing an in-process ring port; dropped (freed) after the
    /// port is closed, since fields drop after `Drop::drop` runs.
    _keep: Vec<Box<dyn Send + Sync>>,
}

// SAFETY: ethdev control calls are safe from any thread when not racing
// each other, which the Mutexes guarantee for start/stop.
unsafe impl Send for PortInner {}
// SAFETY: see above.
unsafe impl Sync for PortInner {}

impl Drop for PortInner {
    fn drop(&mut self) {
        // SAFETY: the last handle (port or queue) is gone, so no lcore polls
        // the port any more; stop and close are then safe.
        unsafe {
            if *self.started.lock().unwrap_or_else(|p| p.into_inner()) {
                dpdk_sys::rte_eth_dev_stop(self.id);
            }
            dpdk_sys::rte_eth_dev_close(self.id);
        }
        object_released();
    }
}

/// An ethdev port. Cloning shares it; queue handles keep it alive.
#[derive(Clone)]
pub struct Port {
    inner: Arc<PortInner>,
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Port")
            .field("id", &self.inner.id)
            .field("name", &self.inner.name)
            .finish()
    }
}

impl Port {
    /// The port DPDK registered under `name`: the vdev name (`net_memif0`)
    /// or the PCI address (`0000:3b:00.0`).
    pub fn by_name(_eal: &Eal, name: &str) -> Result<Port> {
        let cname = CString::new(name).map_err(|_| Error::BadArgument(name.into()))?;
        let mut id: u16 = 0;
        // SAFETY: EAL initialised; valid C string and out-pointer.
        let rc = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if rc != 0 {
            return Err(Error::NoSuchPort { name: name.into() });
        }
        Ok(Self::wrap(id, name.to_owned(), Vec::new()))
    }

    /// An in-process loopback port over rings: what is sent on tx queue q
    /// arrives on rx queue q. For tests and benchmarks.
    pub fn ring_loopback(eal: &Eal, name: &str, queues: u16, ring_size: u32) -> Result<Port> {
        let mut keep: Vec<Box<dyn Send + Sync>> = Vec::new();
        let mut rings = Vec::with_capacity(queues as usize);
        for q in 0..queues {
            let (p, c) =
                Ring::create::<Mbuf>(eal, &format!("{name}_q{q}"), ring_size, RingMode::Spsc)?;
            rings.push(p.raw());
            keep.push(Box::new(SyncCell((p, c))));
        }
        Self::from_rings(name, &rings, &rings, keep)
    }

    /// An in-process port whose wire ends the caller holds: mbufs put into
    /// `inject[q]` arrive on rx queue q, and what the port sends on tx queue
    /// q comes out of `collect[q]`. The switch's scenario tests and
    /// in-process benchmarks play acquirers and issuers through these.
    pub fn ring_pair(eal: &Eal, name: &str, queues: u16, ring_size: u32) -> Result<RingPairPort> {
        let mut keep: Vec<Box<dyn Send + Sync>> = Vec::new();
        let (mut rx_rings, mut tx_rings) = (Vec::new(), Vec::new());
        let (mut inject, mut collect) = (Vec::new(), Vec::new());
        for q in 0..queues {
            let (p, c) =
                Ring::create::<Mbuf>(eal, &format!("{name}_rx{q}"), ring_size, RingMode::Mpsc)?;
            rx_rings.push(p.raw());
            inject.push(p);
            keep.push(Box::new(SyncCell(c)));
            let (p, c) =
                Ring::create::<Mbuf>(eal, &format!("{name}_tx{q}"), ring_size, RingMode::Spsc)?;
            tx_rings.push(p.raw());
            collect.push(c);
            keep.push(Box::new(SyncCell(p)));
        }
        let port = Self::from_rings(name, &rx_rings, &tx_rings, keep)?;
        Ok(RingPairPort {
            port,
            inject,
            collect,
        })
    }

    fn from_rings(
        name: &str,
        rx: &[*mut dpdk_sys::rte_ring],
        tx: &[*mut dpdk_sys::rte_ring],
        keep: Vec<Box<dyn Send + Sync>>,
    ) -> Result<Port> {
        let cname = CString::new(name).map_err(|_| Error::BadArgument(name.into()))?;
        // SAFETY: both arrays hold valid rings that `keep` holds alive for
        // as long as the port exists; DPDK copies the pointers.
        let id = unsafe {
            dpdk_sys::rte_eth_from_rings(
                cname.as_ptr(),
                rx.as_ptr(),
                rx.len() as u32,
                tx.as_ptr(),
                tx.len() as u32,
                0,
            )
        };
        if id < 0 {
            return Err(Error::from_rte_errno("rte_eth_from_rings"));
        }
        Ok(Self::wrap(id as u16, name.to_owned(), keep))
    }

    fn wrap(id: PortId, name: String, keep: Vec<Box<dyn Send + Sync>>) -> Port {
        object_created();
        Port {
            inner: Arc::new(PortInner {
                id,
                name,
                taken: Mutex::new((Vec::new(), Vec::new())),
                started: Mutex::new(false),
                _pool: Mutex::new(None),
                _keep: keep,
            }),
        }
    }

    /// DPDK's port id.
    pub fn id(&self) -> PortId {
        self.inner.id
    }

    /// The name the port was found by.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    fn info(&self) -> Result<dpdk_sys::rte_eth_dev_info> {
        let mut info = dpdk_sys::rte_eth_dev_info::default();
        // SAFETY: valid port id and out-pointer.
        let rc = unsafe { dpdk_sys::rte_eth_dev_info_get(self.inner.id, &mut info) };
        if rc != 0 {
            return Err(Error::dpdk("rte_eth_dev_info_get", rc));
        }
        Ok(info)
    }

    /// The driver's name (e.g. `net_memif`, `net_ice`).
    pub fn driver(&self) -> Result<String> {
        let info = self.info()?;
        if info.driver_name.is_null() {
            return Ok(String::new());
        }
        // SAFETY: the driver name is a static C string owned by the driver.
        Ok(unsafe { CStr::from_ptr(info.driver_name) }
            .to_string_lossy()
            .into_owned())
    }

    /// Configures queues (rx queues take mbufs from `pool`), MTU, RSS and
    /// promiscuous mode. The port must be stopped.
    pub fn configure(&self, cfg: &PortConfig, pool: &Mempool) -> Result<()> {
        let port = &self.inner.name;
        let info = self.info()?;
        if cfg.rx_queues == 0 || cfg.tx_queues == 0 {
            return Err(Error::Unsupported {
                port: port.clone(),
                what: "needs at least one rx and one tx queue".into(),
            });
        }
        if cfg.rx_queues > info.max_rx_queues || cfg.tx_queues > info.max_tx_queues {
            return Err(Error::Unsupported {
                port: port.clone(),
                what: format!(
                    "asked for {} rx / {} tx queues but driver {} gives at most {} rx / {} tx",
                    cfg.rx_queues,
                    cfg.tx_queues,
                    self.driver().unwrap_or_default(),
                    info.max_rx_queues,
                    info.max_tx_queues
                ),
            });
        }
        let mut conf = dpdk_sys::rte_eth_conf::default();
        // SAFETY: pure functions returning DPDK flag constants.
        let (want_hf, rss_hash_offload) = unsafe {
            (
                dpdk_sys::clw_rss_hf_ip_udp(),
                dpdk_sys::clw_rx_offload_rss_hash(),
            )
        };
        let hf = want_hf & info.flow_type_rss_offloads;
        if cfg.rss && cfg.rx_queues > 1 && hf != 0 {
            conf.rxmode.mq_mode = dpdk_sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = hf;
            if info.rx_offload_capa & rss_hash_offload != 0 {
                conf.rxmode.offloads |= rss_hash_offload;
            }
        } else if cfg.rss && cfg.rx_queues > 1 {
            return Err(Error::Unsupported {
                port: port.clone(),
                what: format!(
                    "{} rx queues need RSS, which driver {} does not offer; use one rx queue",
                    cfg.rx_queues,
                    self.driver().unwrap_or_default()
                ),
            });
        }
        // SAFETY: valid port id and a fully initialised conf.
        let rc = unsafe {
            dpdk_sys::rte_eth_dev_configure(self.inner.id, cfg.rx_queues, cfg.tx_queues, &conf)
        };
        if rc != 0 {
            return Err(Error::dpdk("rte_eth_dev_configure", rc));
        }
        let (mut rxd, mut txd) = (cfg.rx_desc, cfg.tx_desc);
        // SAFETY: valid port; the call clamps the counts to the driver limits.
        let rc = unsafe {
            dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(self.inner.id, &mut rxd, &mut txd)
        };
        if rc != 0 {
            return Err(Error::dpdk("rte_eth_dev_adjust_nb_rx_tx_desc", rc));
        }
        // SAFETY: valid port id.
        let socket = unsafe { dpdk_sys::rte_eth_dev_socket_id(self.inner.id) };
        let socket = if socket < 0 { 0 } else { socket as u32 };
        for q in 0..cfg.rx_queues {
            // SAFETY: configured port, queue index in range, live pool that
            // the port keeps a handle to (below) for as long as it exists.
            let rc = unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(
                    self.inner.id,
                    q,
                    rxd,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            };
            if rc != 0 {
                return Err(Error::dpdk("rte_eth_rx_queue_setup", rc));
            }
        }
        for q in 0..cfg.tx_queues {
            // SAFETY: configured port, queue index in range.
            let rc = unsafe {
                dpdk_sys::rte_eth_tx_queue_setup(self.inner.id, q, txd, socket, std::ptr::null())
            };
            if rc != 0 {
                return Err(Error::dpdk("rte_eth_tx_queue_setup", rc));
            }
        }
        *self.inner._pool.lock().unwrap_or_else(|p| p.into_inner()) = Some(pool.clone());
        *self.inner.taken.lock().unwrap_or_else(|p| p.into_inner()) = (
            vec![false; cfg.rx_queues as usize],
            vec![false; cfg.tx_queues as usize],
        );
        if let Some(mtu) = cfg.mtu {
            // SAFETY: valid port id.
            let rc = unsafe { dpdk_sys::rte_eth_dev_set_mtu(self.inner.id, mtu) };
            if rc != 0 {
                return Err(Error::Unsupported {
                    port: port.clone(),
                    what: format!(
                        "MTU {mtu} refused ({}); driver range {}..={}",
                        crate::error::strerror(rc),
                        info.min_mtu,
                        info.max_mtu
                    ),
                });
            }
        }
        if cfg.promiscuous {
            // SAFETY: valid port id.
            let rc = unsafe { dpdk_sys::rte_eth_promiscuous_enable(self.inner.id) };
            if rc != 0 && rc != -(dpdk_sys::ENOTSUP as i32) {
                return Err(Error::dpdk("rte_eth_promiscuous_enable", rc));
            }
        }
        Ok(())
    }

    /// Starts the port.
    pub fn start(&self) -> Result<()> {
        let mut started = self.inner.started.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: valid, configured port.
        let rc = unsafe { dpdk_sys::rte_eth_dev_start(self.inner.id) };
        if rc != 0 {
            return Err(Error::dpdk("rte_eth_dev_start", rc));
        }
        *started = true;
        Ok(())
    }

    /// Stops the port (no lcore may be polling it).
    pub fn stop(&self) -> Result<()> {
        let mut started = self.inner.started.lock().unwrap_or_else(|p| p.into_inner());
        if *started {
            // SAFETY: valid port id.
            let rc = unsafe { dpdk_sys::rte_eth_dev_stop(self.inner.id) };
            if rc != 0 {
                return Err(Error::dpdk("rte_eth_dev_stop", rc));
            }
            *started = false;
        }
        Ok(())
    }

    /// Link state without waiting for negotiation.
    pub fn link(&self) -> Result<LinkStatus> {
        let mut link = dpdk_sys::rte_eth_link::default();
        // SAFETY: valid port id and out-pointer.
        let rc = unsafe { dpdk_sys::rte_eth_link_get_nowait(self.inner.id, &mut link) };
        if rc != 0 {
            return Err(Error::dpdk("rte_eth_link_get_nowait", rc));
        }
        Ok(LinkStatus {
            up: link.link_status() == dpdk_sys::RTE_ETH_LINK_UP as u16,
            speed_mbps: link.link_speed,
            full_duplex: link.link_duplex() == dpdk_sys::RTE_ETH_LINK_FULL_DUPLEX as u16,
        })
    }

    /// The port's MAC address.
    pub fn mac(&self) -> Result<[u8; 6]> {
        let mut addr = dpdk_sys::rte_ether_addr::default();
        // SAFETY: valid port id and out-pointer.
        let rc = unsafe { dpdk_sys::rte_eth_macaddr_get(self.inner.id, &mut addr) };
        if rc != 0 {
            return Err(Error::dpdk("rte_eth_macaddr_get", rc));
        }
        // SAFETY: rte_ether_addr is 6 plain bytes (bindgen sees it opaque).
        Ok(unsafe { std::mem::transmute_copy::<dpdk_sys::rte_ether_addr, [u8; 6]>(&addr) })
    }

    /// Basic counters.
    pub fn stats(&self) -> Result<PortStats> {
        let mut s = dpdk_sys::rte_eth_stats::default();
        // SAFETY: valid port id and out-pointer.
        let rc = unsafe { dpdk_sys::rte_eth_stats_get(self.inner.id, &mut s) };
        if rc != 0 {
            return Err(Error::dpdk("rte_eth_stats_get", rc));
        }
        Ok(PortStats {
            rx_packets: s.ipackets,
            tx_packets: s.opackets,
            rx_bytes: s.ibytes,
            tx_bytes: s.obytes,
            rx_missed: s.imissed,
            rx_errors: s.ierrors,
            tx_errors: s.oerrors,
            rx_no_mbuf: s.rx_nombuf,
        })
    }

    /// Every extended counter the driver keeps, by name.
    pub fn xstats(&self) -> Result<Vec<(String, u64)>> {
        // SAFETY: a NULL buffer asks for the count only.
        let n =
            unsafe { dpdk_sys::rte_eth_xstats_get_names(self.inner.id, std::ptr::null_mut(), 0) };
        if n < 0 {
            return Err(Error::dpdk("rte_eth_xstats_get_names", n));
        }
        let n = n as usize;
        let mut names = vec![dpdk_sys::rte_eth_xstat_name::default(); n];
        let mut values = vec![dpdk_sys::rte_eth_xstat::default(); n];
        // SAFETY: both buffers hold n entries.
        let got_names = unsafe {
            dpdk_sys::rte_eth_xstats_get_names(self.inner.id, names.as_mut_ptr(), n as u32)
        };
        // SAFETY: as above.
        let got_values =
            unsafe { dpdk_sys::rte_eth_xstats_get(self.inner.id, values.as_mut_ptr(), n as u32) };
        if got_names < 0 || got_values < 0 {
            return Err(Error::dpdk("rte_eth_xstats_get", got_names.min(got_values)));
        }
        let m = (got_names as usize).min(got_values as usize).min(n);
        Ok((0..m)
            .map(|i| {
                // SAFETY: DPDK NUL-terminates each 64-byte name.
                let name = unsafe { CStr::from_ptr(names[i].name.as_ptr()) }
                    .to_string_lossy()
                    .into_owned();
                (name, values[i].value)
            })
            .collect())
    }

    /// One extended counter by name.
    pub fn xstat(&self, name: &str) -> Result<Option<u64>> {
        Ok(self
            .xstats()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v))
    }

    /// Rx queues set up by [`Port::configure`] (0 before it).
    pub fn rx_queues_configured(&self) -> u16 {
        let taken = self.inner.taken.lock().unwrap_or_else(|p| p.into_inner());
        taken.0.len() as u16
    }

    /// Hands out rx queue `q` to one owner (one lcore).
    pub fn rx_queue(&self, q: u16) -> Result<RxQueue> {
        self.take(q, true)?;
        Ok(RxQueue::new(self.clone(), q))
    }

    /// Hands out tx queue `q` to one owner (one lcore).
    pub fn tx_queue(&self, q: u16) -> Result<TxQueue> {
        self.take(q, false)?;
        Ok(TxQueue::new(self.clone(), q))
    }

    fn take(&self, q: u16, rx: bool) -> Result<()> {
        let mut taken = self.inner.taken.lock().unwrap_or_else(|p| p.into_inner());
        let v = if rx { &mut taken.0 } else { &mut taken.1 };
        let dir = if rx { "rx" } else { "tx" };
        match v.get_mut(q as usize) {
            None => Err(Error::Unsupported {
                port: self.inner.name.clone(),
                what: format!("{dir} queue {q} is not configured ({} configured)", v.len()),
            }),
            Some(true) => Err(Error::QueueTaken {
                port: self.inner.id,
                dir,
                queue: q,
            }),
            Some(slot) => {
                *slot = true;
                Ok(())
            }
        }
    }
}

/// Marker that makes queue handles `Send` but not `Sync`.
pub(crate) type NotSync = PhantomData<Cell<()>>;

/// A ring-backed port and the caller's ends of its wire (see
/// [`Port::ring_pair`]).
pub struct RingPairPort {
    pub port: Port,
    /// Put mbufs here to have them arrive on rx queue q.
    pub inject: Vec<Producer<Mbuf>>,
    /// What the port sent on tx queue q.
    pub collect: Vec<Consumer<Mbuf>>,
}

/// Ring ends are `Send` but deliberately not `Sync`; parked inside a port
/// nobody touches them again, so sharing the box is harmless.
struct SyncCell<T>(T);
// SAFETY: the value is never accessed through a shared reference: it only
// waits to be dropped together with the port.
unsafe impl<T: Send> Sync for SyncCell<T> {}
