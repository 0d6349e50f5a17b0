//! Per-lcore IPv4 → MAC table: static entries for configured next hops,
//! learnt entries from ARP and from the source of every accepted packet.
//!
//! Fixed size, open addressing with a short bounded probe; when a probe
//! window is full a learnt entry in it is overwritten (static ones never
//! are), so the table never grows and a flood of new senders can only evict
//! learnt entries, which are learnt again from the next packet.

use std::net::Ipv4Addr;

/// Entries per lcore (power of two).
pub const CAPACITY: usize = 1024;
/// Slots looked at per lookup or insert.
const PROBE: usize = 8;

#[derive(Clone, Copy, Default)]
struct Entry {
    ip: u32,
    mac: [u8; 6],
    used: bool,
    fixed: bool,
}

/// See the module documentation.
pub struct ArpTable {
    slots: Box<[Entry; CAPACITY]>,
}

impl Default for ArpTable {
    fn default() -> Self {
        Self::new()
    }
}

impl ArpTable {
    pub fn new() -> ArpTable {
        ArpTable {
            slots: Box::new([Entry::default(); CAPACITY]),
        }
    }

    #[inline(always)]
    fn home(ip: u32) -> usize {
        // Fibonacci hashing spreads consecutive addresses.
        (ip.wrapping_mul(0x9E37_79B9) >> 22) as usize & (CAPACITY - 1)
    }

    /// The MAC for `ip`, if known.
    #[inline]
    pub fn lookup(&self, ip: Ipv4Addr) -> Option<[u8; 6]> {
        let ip = u32::from(ip);
        let home = Self::home(ip);
        (0..PROBE)
            .map(|i| &self.slots[(home + i) & (CAPACITY - 1)])
            .find(|e| e.used && e.ip == ip)
            .map(|e| e.mac)
    }

    /// Learns `ip` at `mac` (from traffic); never overrides a static entry.
    #[inline]
    pub fn learn(&mut self, ip: Ipv4Addr, mac: [u8; 6]) {
        self.put(u32::from(ip), mac, false);
    }

    /// Configures `ip` at `mac` for good (next hops from the configuration).
    pub fn set_static(&mut self, ip: Ipv4Addr, mac: [u8; 6]) {
        self.put(u32::from(ip), mac, true);
    }

    fn put(&mut self, ip: u32, mac: [u8; 6], fixed: bool) {
        let home = Self::home(ip);
        let mut victim = None;
        for i in 0..PROBE {
            let at = (home + i) & (CAPACITY - 1);
            let e = &mut self.slots[at];
            if e.used && e.ip == ip {
                if !e.fixed || fixed {
                    e.mac = mac;
                    e.fixed |= fixed;
                }
                return;
            }
            if !e.used {
                victim = victim.or(Some(at));
            } else if !e.fixed && victim.is_none() {
                victim = Some(at);
            }
        }
        // Prefer the first free slot; else the first learnt one.
        let free = (0..PROBE)
            .map(|i| (home + i) & (CAPACITY - 1))
            .find(|&at| !self.slots[at].used);
        if let Some(at) = free.or(victim) {
            self.slots[at] = Entry {
                ip,
                mac,
                used: true,
                fixed,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_looks_up_and_static_entries_win() {
        let mut t = ArpTable::new();
        let ip = Ipv4Addr::new(10, 0, 0, 7);
        assert_eq!(t.lookup(ip), None);
        t.learn(ip, [1; 6]);
        assert_eq!(t.lookup(ip), Some([1; 6]));
        t.set_static(ip, [2; 6]);
        t.learn(ip, [3; 6]);
        assert_eq!(
            t.lookup(ip),
            Some([2; 6]),
            "traffic never overrides configuration"
        );
    }

    #[test]
    fn a_flood_of_senders_never_evicts_static_entries() {
        let mut t = ArpTable::new();
        let hop = Ipv4Addr::new(192, 0, 2, 1);
        t.set_static(hop, [9; 6]);
        for i in 0..100_000u32 {
            t.learn(Ipv4Addr::from(0x0A00_0000 + i), [i as u8; 6]);
        }
        assert_eq!(t.lookup(hop), Some([9; 6]));
        let recent = Ipv4Addr::from(0x0A00_0000 + 99_999);
        assert_eq!(
            t.lookup(recent),
            Some([(99_999u32) as u8; 6]),
            "the newest is learnt"
        );
    }
}
