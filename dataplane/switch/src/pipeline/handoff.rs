//! Software hand-off between lcores: an issuer's reply that the NIC put on
//! another lcore's queue (no flow steering, e.g. single-queue virtual
//! devices or RSS that hashed it elsewhere) goes to the lcore that owns the
//! pending entry through that lcore's MPSC ring.

use rte::{Consumer, Eal, Mbuf, Producer, Ring, RingMode};

/// Slots per lcore's hand-off ring.
pub const RING_SIZE: u32 = 4096;

/// One lcore's ends: its own inbox and a producer into every other inbox.
pub struct HandoffEnds {
    pub inbox: Consumer<Mbuf>,
    /// Indexed by lcore index; `None` at the lcore's own index.
    pub peers: Vec<Option<Producer<Mbuf>>>,
}

/// Creates the hand-off rings for `lcores` switch lcores.
pub fn create(eal: &Eal, lcores: usize, tag: &str) -> rte::Result<Vec<HandoffEnds>> {
    let mut inboxes = Vec::with_capacity(lcores);
    let mut producers = Vec::with_capacity(lcores);
    for i in 0..lcores {
        let (p, c) = Ring::create::<Mbuf>(
            eal,
            &format!("handoff_{tag}_{i}"),
            RING_SIZE,
            RingMode::Mpsc,
        )?;
        inboxes.push(c);
        producers.push(p);
    }
    Ok(inboxes
        .into_iter()
        .enumerate()
        .map(|(me, inbox)| HandoffEnds {
            inbox,
            peers: producers
                .iter()
                .enumerate()
                .map(|(i, p)| if i == me { None } else { p.try_clone() })
                .collect(),
        })
        .collect())
}
