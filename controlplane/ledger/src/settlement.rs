//! Settlement of a closed window: its netting, the settlement records that
//! move reserve balances by each net, and the files for the participants.
//!
//! Files (all end with a checksum line over every byte before it):
//! - `window-EEEEEEEEEE-net.csv`: `participant,currency,debit,credit,net,count`
//! - `window-EEEEEEEEEE-net.jsonl`: one JSON object per row, same fields
//! - `window-EEEEEEEEEE-bilateral.csv`: `currency,payer,payee,gross,count`
//! - `window-EEEEEEEEEE-detail.csv`: one line per transaction movement
//!
//! The content depends only on the window's entries and its cutoff time, so
//! re-running settlement for a closed window produces byte-identical files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use journal::money::{MoneyRecord, Settlement};
use thiserror::Error;

use crate::ledger::Ledger;
use crate::netting::{net, NettingResult};
use crate::types::Epoch;

/// Why a window could not be settled or its files written.
#[derive(Debug, Error)]
pub enum SettleError {
    #[error("window {epoch} is still open (open window {open}); cut off first")]
    WindowOpen { epoch: Epoch, open: Epoch },
    #[error("participant {participant} currency {currency} in window {epoch}: {what} of {value} does not fit the settlement record's 64 bits; split the window")]
    Overflow {
        epoch: Epoch,
        participant: u32,
        currency: u16,
        what: &'static str,
        value: u128,
    },
    #[error("writing settlement file {path}: {source}; check the settlement directory's space and permissions, then re-run (the files are reproducible)")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A file's name and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Everything settling one window produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRun {
    pub netting: NettingResult,
    /// One per (participant, currency); journal them, then apply them.
    pub records: Vec<Settlement>,
    pub files: Vec<SettlementFile>,
}

impl SettlementRun {
    /// The records as journal records.
    pub fn journal_records(&self) -> impl Iterator<Item = MoneyRecord<'static>> + '_ {
        self.records.iter().map(|s| MoneyRecord::Settlement(*s))
    }

    /// Writes every file into `dir` (temp file + rename, so a crash leaves
    /// either the old or the new file, never half of one).
    pub fn write_files(&self, dir: &Path) -> Result<Vec<PathBuf>, SettleError> {
        let mut written = Vec::with_capacity(self.files.len());
        for f in &self.files {
            let path = dir.join(&f.name);
            let tmp = dir.join(format!(".{}.tmp", f.name));
            std::fs::write(&tmp, &f.bytes)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|source| SettleError::Io {
                    path: path.clone(),
                    source,
                })?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Nets closed window `epoch` of `ledger` and renders its files.
pub fn settle(ledger: &Ledger, epoch: Epoch) -> Result<SettlementRun, SettleError> {
    let open = ledger.open_epoch();
    if epoch >= open {
        return Err(SettleError::WindowOpen { epoch, open });
    }
    let window = ledger.window(epoch);
    let entries = window.map_or(&[][..], |w| &w.entries[..]);
    let closed_at = window.and_then(|w| w.closed_at_ms).unwrap_or(0);
    let netting = net(epoch, entries);
    let mut records = Vec::with_capacity(netting.rows.len());
    for r in &netting.rows {
        let fit = |what, value: u128| {
            u64::try_from(value).map_err(|_| SettleError::Overflow {
                epoch,
                participant: r.participant,
                currency: r.currency,
                what,
                value,
            })
        };
        records.push(Settlement {
            epoch,
            participant: r.participant,
            currency: r.currency,
            debit: fit("debit", r.debit)?,
            credit: fit("credit", r.credit)?,
            count: r.count,
        });
    }
    let stem = format!("window-{epoch:010}");
    let files = vec![
        SettlementFile {
            name: format!("{stem}-net.csv"),
            bytes: net_csv(&netting, closed_at),
        },
        SettlementFile {
            name: format!("{stem}-net.jsonl"),
            bytes: net_jsonl(&netting, closed_at),
        },
        SettlementFile {
            name: format!("{stem}-bilateral.csv"),
            bytes: bilateral_csv(&netting, closed_at),
        },
        SettlementFile {
            name: format!("{stem}-detail.csv"),
            bytes: detail_csv(epoch, entries, closed_at),
        },
    ];
    Ok(SettlementRun {
        netting,
        records,
        files,
    })
}

/// The checksum line's prefix in CSV files.
pub const CSV_CHECKSUM_PREFIX: &str = "# crc32c ";

fn seal_csv(mut body: String) -> Vec<u8> {
    let crc = crc32c::crc32c(body.as_bytes());
    let _ = writeln!(body, "{CSV_CHECKSUM_PREFIX}{crc:08x}");
    body.into_bytes()
}

fn seal_jsonl(mut body: String) -> Vec<u8> {
    let crc = crc32c::crc32c(body.as_bytes());
    let _ = writeln!(body, "{{\"crc32c\":\"{crc:08x}\"}}");
    body.into_bytes()
}

/// Why a file's checksum line does not hold.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChecksumError {
    #[error("the file has no checksum line as its last line")]
    Missing,
    #[error("checksum line says {stated:08x} but the content above it has {computed:08x}; the file is damaged or was edited")]
    Mismatch { stated: u32, computed: u32 },
}

/// Checks the last line of a settlement file (CSV or JSON lines) against
/// the bytes before it.
pub fn verify_checksum(bytes: &[u8]) -> Result<(), ChecksumError> {
    let body_end = bytes[..bytes.len().saturating_sub(1)]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let last = std::str::from_utf8(&bytes[body_end..]).map_err(|_| ChecksumError::Missing)?;
    let hex = last
        .trim_end()
        .strip_prefix(CSV_CHECKSUM_PREFIX)
        .or_else(|| {
            last.trim_end()
                .strip_prefix("{\"crc32c\":\"")
                .and_then(|s| s.strip_suffix("\"}"))
        })
        .ok_or(ChecksumError::Missing)?;
    let stated = u32::from_str_radix(hex, 16).map_err(|_| ChecksumError::Missing)?;
    let computed = crc32c::crc32c(&bytes[..body_end]);
    if stated != computed {
        return Err(ChecksumError::Mismatch { stated, computed });
    }
    Ok(())
}

fn net_csv(n: &NettingResult, closed_at: u64) -> Vec<u8> {
    let mut s = String::with_capacity(64 + n.rows.len() * 48);
    let _ = writeln!(
        s,
        "# clearway settlement window {} closed_at_unix_ms {closed_at} transactions {}",
        n.epoch, n.transactions
    );
    s.push_str("participant,currency,debit,credit,net,count\n");
    for r in &n.rows {
        let _ = writeln!(
            s,
            "{},{:03},{},{},{},{}",
            r.participant,
            r.currency,
            r.debit,
            r.credit,
            r.net(),
            r.count
        );
    }
    seal_csv(s)
}

fn net_jsonl(n: &NettingResult, closed_at: u64) -> Vec<u8> {
    let mut s = String::with_capacity(96 + n.rows.len() * 96);
    let _ = writeln!(
        s,
        "{{\"window\":{},\"closed_at_unix_ms\":{closed_at},\"transactions\":{}}}",
        n.epoch, n.transactions
    );
    for r in &n.rows {
        // Amounts are strings: JSON numbers beyond 2^53 lose precision in
        // most readers, and money must not.
        let _ = writeln!(
            s,
            "{{\"participant\":{},\"currency\":\"{:03}\",\"debit\":\"{}\",\"credit\":\"{}\",\"net\":\"{}\",\"count\":{}}}",
            r.participant,
            r.currency,
            r.debit,
            r.credit,
            r.net(),
            r.count
        );
    }
    seal_jsonl(s)
}

fn bilateral_csv(n: &NettingResult, closed_at: u64) -> Vec<u8> {
    let mut s = String::with_capacity(64 + n.bilateral.len() * 40);
    let _ = writeln!(
        s,
        "# clearway bilateral matrix window {} closed_at_unix_ms {closed_at}",
        n.epoch
    );
    s.push_str("currency,payer,payee,gross,count\n");
    for b in &n.bilateral {
        let _ = writeln!(
            s,
            "{:03},{},{},{},{}",
            b.currency, b.payer, b.payee, b.gross, b.count
        );
    }
    seal_csv(s)
}

fn detail_csv(epoch: Epoch, entries: &[crate::netting::ClearingEntry], closed_at: u64) -> Vec<u8> {
    let mut s = String::with_capacity(64 + entries.len() * 80);
    let _ = writeln!(
        s,
        "# clearway settlement detail window {epoch} closed_at_unix_ms {closed_at} transactions {}",
        entries.len()
    );
    s.push_str("originator,stan,transmission,rrn,kind,payer,payee,currency,amount\n");
    for e in entries {
        let _ = write!(s, "{},{:06},", e.key.originator, e.key.stan);
        push_text(&mut s, &e.key.transmission);
        s.push(',');
        push_text(&mut s, &e.key.rrn);
        let _ = writeln!(
            s,
            ",{},{},{},{:03},{}",
            e.kind.name(),
            e.payer,
            e.payee,
            e.currency,
            e.amount
        );
    }
    seal_csv(s)
}

/// Field 7 and 37 as text when they are plain printable characters (the
/// normal case), else as `0x` hex so the CSV stays parseable.
fn push_text(s: &mut String, bytes: &[u8]) {
    let plain = bytes
        .iter()
        .all(|&b| b.is_ascii_graphic() && b != b',' && b != b'"' && b != b'#');
    if plain {
        bytes.iter().for_each(|&b| s.push(b as char));
    } else {
        s.push_str("0x");
        bytes.iter().for_each(|b| {
            let _ = write!(s, "{b:02x}");
        });
    }
}
