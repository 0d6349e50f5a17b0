//! Big-endian field access at fixed offsets.
//!
//! Callers index only after a view's `check_len`, so these slice indexes
//! are in bounds; on an unchecked view they panic like any slice index.

pub(crate) fn read16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([buf[at], buf[at + 1]])
}

pub(crate) fn write16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

pub(crate) fn read32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

pub(crate) fn read6(buf: &[u8], at: usize) -> [u8; 6] {
    let mut out = [0u8; 6];
    out.copy_from_slice(&buf[at..at + 6]);
    out
}
