//! Reading the next segment while the current one is replayed.
//!
//! Recovery is a sequential scan: read a segment (a 64 MiB copy out of the
//! page cache or off the disk), check and apply its records, next. On a
//! machine with a second core the read of segment n+1 can happen while
//! segment n is applied, which takes the copy (and any disk wait) off the
//! replay's critical path. The reader thread works at most one segment
//! ahead (a bounded channel), and three buffers circulate between the two
//! threads, so memory stays at three segments whatever the journal's size.
//! The reader also walks each segment's records with their CRC32Cs
//! ([`valid_prefix`]), so the replaying thread knows which records are
//! already verified and computes no CRC for them; the first record that
//! fails (a torn tail, corruption) is decoded again, CRC and all, by the
//! replaying thread, which reports it exactly as without the read-ahead.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

use crate::record::valid_prefix;

/// A segment's bytes and the length of its run of valid records.
type SegmentRead = io::Result<(Vec<u8>, usize)>;

/// The main thread's end: segments in the order given, one at a time.
pub(crate) struct SegmentReader {
    full: Receiver<SegmentRead>,
    empty: Sender<Vec<u8>>,
    current: Vec<u8>,
}

impl SegmentReader {
    /// The bytes of the next segment and how many of them, from the start,
    /// are records whose CRC the reader verified (the previous segment's
    /// buffer goes back to the reader for reuse). `None` once every segment
    /// was handed out.
    pub(crate) fn next_segment(&mut self) -> Option<io::Result<(&[u8], usize)>> {
        let done = std::mem::take(&mut self.current);
        if done.capacity() > 0 {
            // The reader may have finished already: then nobody needs it.
            let _ = self.empty.send(done);
        }
        match self.full.recv() {
            Ok(Ok((buf, verified))) => {
                self.current = buf;
                Some(Ok((&self.current, verified)))
            }
            Ok(Err(e)) => Some(Err(e)),
            Err(_) => None,
        }
    }
}

/// Runs `body` with a reader over `paths`, read one ahead on a scoped
/// thread. When `body` returns (also early, on an error) the reader's
/// channel closes, the thread stops after its current read, and it is
/// joined before this returns.
pub(crate) fn with_read_ahead<R>(
    paths: Vec<PathBuf>,
    body: impl FnOnce(&mut SegmentReader) -> R,
) -> R {
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = mpsc::sync_channel(1);
        let (empty_tx, empty_rx) = mpsc::channel();
        scope.spawn(move || read_all(paths, full_tx, empty_rx));
        let mut reader = SegmentReader {
            full: full_rx,
            empty: empty_tx,
            current: Vec::new(),
        };
        body(&mut reader)
    })
}

fn read_all(paths: Vec<PathBuf>, full: SyncSender<SegmentRead>, empty: Receiver<Vec<u8>>) {
    for path in paths {
        let mut buf = empty.try_recv().unwrap_or_default();
        buf.clear();
        let read = File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map(|_| {
                let verified = valid_prefix(&buf);
                (buf, verified)
            });
        let failed = read.is_err();
        // A closed channel means the replay stopped: stop reading too.
        if full.send(read).is_err() || failed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_arrive_in_order_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (i, text) in ["first", "second", "third"].iter().enumerate() {
            let p = dir.path().join(format!("{i}.wal"));
            std::fs::write(&p, text).unwrap();
            paths.push(p);
        }
        paths.push(dir.path().join("missing.wal"));
        paths.push(dir.path().join("0.wal"));
        let got = with_read_ahead(paths, |r| {
            let mut got = Vec::new();
            while let Some(seg) = r.next_segment() {
                match seg {
                    Ok((bytes, verified)) => {
                        assert_eq!(verified, 0, "text is no record");
                        got.push(String::from_utf8(bytes.to_vec()).unwrap())
                    }
                    Err(e) => {
                        got.push(format!("error: {:?}", e.kind()));
                        break;
                    }
                }
            }
            got
        });
        assert_eq!(got, ["first", "second", "third", "error: NotFound"]);
    }

    #[test]
    fn stopping_early_does_not_hang() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..8)
            .map(|i| {
                let p = dir.path().join(format!("{i}.wal"));
                std::fs::write(&p, vec![i as u8; 4096]).unwrap();
                p
            })
            .collect();
        let first = with_read_ahead(paths, |r| r.next_segment().unwrap().unwrap().0[0]);
        assert_eq!(first, 0);
    }
}
