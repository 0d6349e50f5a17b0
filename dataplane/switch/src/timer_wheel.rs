//! `TimerWheel`: deadlines of pending entries, per lcore.
//!
//! A hashed timing wheel (Varghese & Lauck): `buckets` lists, one per tick of
//! `tick_cycles` TSC cycles, reused every rotation. A timer due at tick `t`
//! sits in bucket `t mod buckets`; one due beyond a full rotation sits in the
//! same bucket and is passed over (it keeps its tick) until its rotation comes.
//! The lists are intrusive: `next`/`prev` arrays indexed by pending slot, so
//! scheduling, cancelling and firing move indices in preallocated arrays and
//! never allocate.
//!
//! Timing contract: a bucket is processed only once its whole tick lies in the
//! past, so a timer never fires before its deadline and fires at most one tick
//! (plus the polling interval) after it. Work per [`TimerWheel::expire`] call
//! is bounded by `max_expirations` fired timers and `max_visits` list nodes
//! and buckets visited; what is left over is picked up on the next call
//! (a cursor remembers the position inside a partly processed bucket).
//!
//! Sizing: with a 1 ms tick and 8192 buckets a rotation is 8.2 s, longer than
//! the default 5 s issuer timeout, so timers are rarely passed over.

use crate::pending::PendingSlot;
use thiserror::Error;

const NIL: u32 = u32::MAX;
const UNSCHEDULED: u64 = u64::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TimerWheelError {
    #[error("timer slot {slot} is outside the wheel's {capacity} slots; size the wheel like the pending table")]
    SlotOutOfRange { slot: u32, capacity: u32 },
    #[error("timer wheel config: {what}")]
    Config { what: &'static str },
}

/// Sizes and budgets fixed at construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerWheelConfig {
    /// Timer slots: the pending table's capacity.
    pub slots: u32,
    /// Buckets per rotation; a power of two.
    pub buckets: u32,
    /// TSC cycles per tick (e.g. TSC Hz / 1000 for 1 ms).
    pub tick_cycles: u64,
    /// Timers fired per `expire` call at most.
    pub max_expirations: u32,
    /// Nodes plus buckets visited per `expire` call at most.
    pub max_visits: u32,
}

impl TimerWheelConfig {
    /// Defaults for a given slot count and TSC rate: 1 ms ticks, 8192
    /// buckets, 64 expirations and 1024 visits per poll.
    pub fn for_tsc_hz(slots: u32, tsc_hz: u64) -> Self {
        Self {
            slots,
            buckets: 8192,
            tick_cycles: (tsc_hz / 1000).max(1),
            max_expirations: 64,
            max_visits: 1024,
        }
    }
}

/// What one [`TimerWheel::expire`] call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expired {
    /// Timers fired by this call.
    pub fired: u32,
    /// False when the budget ran out before every due timer was fired; call
    /// again (next poll) to continue.
    pub caught_up: bool,
}

#[derive(Debug)]
pub struct TimerWheel {
    /// Tick at which each slot's timer is due (clamped to the wheel's current
    /// tick when scheduled in the past); `UNSCHEDULED` when idle.
    due: Vec<u64>,
    next: Vec<u32>,
    prev: Vec<u32>,
    head: Vec<u32>,
    tail: Vec<u32>,
    mask: u64,
    tick_cycles: u64,
    max_expirations: u32,
    max_visits: u32,
    /// The first tick not yet fully processed.
    current: u64,
    /// Where processing of bucket `current` resumes; NIL means from its head.
    cursor: u32,
    len: usize,
}

impl TimerWheel {
    /// Allocates all arrays now. `start_tsc` is the TSC reading at start.
    pub fn new(config: TimerWheelConfig, start_tsc: u64) -> Result<Self, TimerWheelError> {
        let bad = |what| Err(TimerWheelError::Config { what });
        if config.slots == 0 || config.slots == u32::MAX {
            return bad("slots must be within 1..u32::MAX");
        }
        if !config.buckets.is_power_of_two() || config.buckets > 1 << 24 {
            return bad("buckets must be a power of two up to 2^24");
        }
        if config.tick_cycles == 0 {
            return bad("tick_cycles must be at least 1");
        }
        if config.max_expirations == 0 || config.max_visits == 0 {
            return bad("max_expirations and max_visits must be at least 1");
        }
        let n = config.slots as usize;
        let b = config.buckets as usize;
        Ok(Self {
            due: vec![UNSCHEDULED; n],
            next: vec![NIL; n],
            prev: vec![NIL; n],
            head: vec![NIL; b],
            tail: vec![NIL; b],
            mask: u64::from(config.buckets) - 1,
            tick_cycles: config.tick_cycles,
            max_expirations: config.max_expirations,
            max_visits: config.max_visits,
            current: start_tsc / config.tick_cycles,
            cursor: NIL,
            len: 0,
        })
    }

    fn check(&self, slot: PendingSlot) -> Result<usize, TimerWheelError> {
        if (slot.0 as usize) < self.due.len() {
            Ok(slot.0 as usize)
        } else {
            Err(TimerWheelError::SlotOutOfRange {
                slot: slot.0,
                capacity: self.due.len() as u32,
            })
        }
    }

    /// Arms `slot` to fire once at or after TSC `deadline`. A slot already
    /// armed is moved to the new deadline (one timer per slot).
    pub fn schedule(&mut self, slot: PendingSlot, deadline: u64) -> Result<(), TimerWheelError> {
        let s = self.check(slot)?;
        if self.due[s] != UNSCHEDULED {
            self.unlink(s);
        }
        // A deadline in an already processed tick goes to the current one,
        // which is processed as soon as it is wholly in the past.
        let due = (deadline / self.tick_cycles).max(self.current);
        self.due[s] = due;
        // Append at the tail: a partly processed bucket is scanned head to
        // tail, so the new timer cannot end up behind the cursor.
        let b = (due & self.mask) as usize;
        let t = self.tail[b];
        self.prev[s] = t;
        self.next[s] = NIL;
        if t == NIL {
            self.head[b] = s as u32;
        } else {
            self.next[t as usize] = s as u32;
        }
        self.tail[b] = s as u32;
        self.len += 1;
        Ok(())
    }

    /// Disarms `slot`; returns whether it was armed. A cancelled timer never
    /// fires.
    pub fn cancel(&mut self, slot: PendingSlot) -> Result<bool, TimerWheelError> {
        let s = self.check(slot)?;
        if self.due[s] == UNSCHEDULED {
            return Ok(false);
        }
        self.unlink(s);
        Ok(true)
    }

    fn unlink(&mut self, s: usize) {
        let b = (self.due[s] & self.mask) as usize;
        let (p, n) = (self.prev[s], self.next[s]);
        if self.cursor == s as u32 {
            // Resume after the cancelled node. If it was the last one the
            // cursor becomes NIL, "from the head": that only revisits timers
            // of later rotations, which are passed over again.
            self.cursor = n;
        }
        if p == NIL {
            self.head[b] = n;
        } else {
            self.next[p as usize] = n;
        }
        if n == NIL {
            self.tail[b] = p;
        } else {
            self.prev[n as usize] = p;
        }
        self.due[s] = UNSCHEDULED;
        self.next[s] = NIL;
        self.prev[s] = NIL;
        debug_assert!(self.len > 0);
        self.len -= 1;
    }

    /// Whether `slot` is armed.
    pub fn is_scheduled(&self, slot: PendingSlot) -> bool {
        self.due
            .get(slot.0 as usize)
            .is_some_and(|&d| d != UNSCHEDULED)
    }

    /// Fires timers whose deadline has passed by TSC `now`, calling
    /// `on_expiry(slot)` for each (the slot is disarmed first). Bounded by the
    /// configured budgets; see [`Expired::caught_up`].
    pub fn expire(&mut self, now: u64, mut on_expiry: impl FnMut(PendingSlot)) -> Expired {
        let now_tick = now / self.tick_cycles;
        if self.len == 0 {
            // Nothing armed: skip the empty buckets in one step.
            self.current = self.current.max(now_tick);
            self.cursor = NIL;
            return Expired {
                fired: 0,
                caught_up: true,
            };
        }
        let mut fired = 0u32;
        let mut visits = 0u32;
        while self.current < now_tick {
            let b = (self.current & self.mask) as usize;
            let mut node = if self.cursor == NIL {
                self.head[b]
            } else {
                self.cursor
            };
            while node != NIL {
                if fired >= self.max_expirations || visits >= self.max_visits {
                    self.cursor = node;
                    return Expired {
                        fired,
                        caught_up: false,
                    };
                }
                visits += 1;
                let s = node as usize;
                node = self.next[s];
                if self.due[s] <= self.current {
                    self.cursor = node;
                    self.unlink(s);
                    fired += 1;
                    on_expiry(PendingSlot(s as u32));
                }
            }
            self.cursor = NIL;
            self.current += 1;
            visits += 1;
            if visits >= self.max_visits && self.current < now_tick {
                return Expired {
                    fired,
                    caught_up: false,
                };
            }
        }
        Expired {
            fired,
            caught_up: true,
        }
    }

    /// Armed timers.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held by the wheel's arrays.
    pub fn memory_bytes(&self) -> usize {
        self.due.len() * 16 + self.head.len() * 8
    }
}
