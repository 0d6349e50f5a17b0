//! Frame header: 2-byte big-endian length before each ISO 8583 message.
//!
//! A UDP payload holds one or more frames back to back; [`Frames`] walks them without
//! copying. A TCP byte stream is cut into the same frames by [`StreamFramer`], which owns
//! one buffer allocated at connection set-up and never grows it.
//!
//! A zero length is an error, not an empty frame: no ISO 8583 message is empty, and a
//! peer sending zeros is out of step. Once a frame is bad the rest of the payload or
//! stream cannot be trusted (the next header's position is unknown), so both stop there.

/// Bytes of the length header before each message.
pub const HEADER_LEN: usize = 2;

/// A framing failure; `offset` is where the bad frame's header starts (in the payload, or
/// in the whole stream for [`StreamFramer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("offset {offset}: {available} byte(s) left, too few for a 2-byte frame header; the payload was cut short")]
    TruncatedHeader { offset: usize, available: usize },
    #[error("offset {offset}: frame announces {len} bytes but only {available} follow; the payload was cut short or the header lies")]
    TruncatedBody {
        offset: usize,
        len: usize,
        available: usize,
    },
    #[error("offset {offset}: frame length is 0; an ISO 8583 message is never empty, so the peer is out of step")]
    ZeroLength { offset: usize },
    #[error("offset {offset}: frame announces {len} bytes, more than the configured maximum {max}; raise the maximum or fix the peer")]
    Oversize {
        offset: usize,
        len: usize,
        max: usize,
    },
    #[error("output buffer holds {capacity} bytes, the frame needs {needed}")]
    BufferTooSmall { needed: usize, capacity: usize },
}

impl FrameError {
    /// Stable snake_case name for logs and counters.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::TruncatedHeader { .. } => "truncated_header",
            Self::TruncatedBody { .. } => "truncated_body",
            Self::ZeroLength { .. } => "zero_length",
            Self::Oversize { .. } => "oversize",
            Self::BufferTooSmall { .. } => "buffer_too_small",
        }
    }
}

/// Reads a frame header: the message length it announces.
#[inline]
pub fn read_header(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [hi, lo, ..] => Some(u16::from_be_bytes([*hi, *lo]) as usize),
        _ => None,
    }
}

/// Writes the header for a `len`-byte message into `out[..2]`; use it after building a
/// message in place at `out[2..]`.
pub fn write_header(out: &mut [u8], len: usize) -> Result<(), FrameError> {
    let header: u16 = match u16::try_from(len) {
        Ok(l) if l > 0 => l,
        _ if len == 0 => return Err(FrameError::ZeroLength { offset: 0 }),
        _ => {
            return Err(FrameError::Oversize {
                offset: 0,
                len,
                max: u16::MAX as usize,
            })
        }
    };
    let capacity = out.len();
    let slot = out
        .get_mut(..HEADER_LEN)
        .ok_or(FrameError::BufferTooSmall {
            needed: HEADER_LEN,
            capacity,
        })?;
    slot.copy_from_slice(&header.to_be_bytes());
    Ok(())
}

/// Writes header + `message` into `out`; returns the bytes written.
pub fn write_frame(out: &mut [u8], message: &[u8]) -> Result<usize, FrameError> {
    let needed = HEADER_LEN + message.len();
    if out.len() < needed {
        return Err(FrameError::BufferTooSmall {
            needed,
            capacity: out.len(),
        });
    }
    write_header(out, message.len())?;
    out[HEADER_LEN..needed].copy_from_slice(message);
    Ok(needed)
}

/// Checks the header at `offset` against what is buffered; `Ok(None)` means "need more".
#[inline]
fn check_frame(avail: &[u8], offset: usize, max_len: usize) -> Result<Option<usize>, FrameError> {
    let Some(len) = read_header(avail) else {
        return Ok(None);
    };
    if len == 0 {
        return Err(FrameError::ZeroLength { offset });
    }
    if len > max_len {
        return Err(FrameError::Oversize {
            offset,
            len,
            max: max_len,
        });
    }
    if avail.len() < HEADER_LEN + len {
        return Ok(None);
    }
    Ok(Some(len))
}

/// The frames of one datagram payload, in order; borrowed, never copied.
///
/// Yields `Err` once for the first bad frame and then ends.
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    payload: &'a [u8],
    pos: usize,
    max_len: usize,
    done: bool,
}

impl<'a> Frames<'a> {
    /// Frames of `payload`, each message at most `max_len` bytes.
    pub fn new(payload: &'a [u8], max_len: u16) -> Self {
        Self {
            payload,
            pos: 0,
            max_len: max_len as usize,
            done: false,
        }
    }

    /// Offset of the next frame header in the payload.
    pub const fn offset(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<&'a [u8], FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos == self.payload.len() {
            return None;
        }
        let avail = self.payload.get(self.pos..).unwrap_or_default();
        let offset = self.pos;
        let result = match check_frame(avail, offset, self.max_len) {
            Ok(Some(len)) => {
                self.pos += HEADER_LEN + len;
                return Some(Ok(&avail[HEADER_LEN..HEADER_LEN + len]));
            }
            Ok(None) => match read_header(avail) {
                None => FrameError::TruncatedHeader {
                    offset,
                    available: avail.len(),
                },
                Some(len) => FrameError::TruncatedBody {
                    offset,
                    len,
                    available: avail.len() - HEADER_LEN,
                },
            },
            Err(e) => e,
        };
        self.done = true;
        Some(Err(result))
    }
}

impl core::iter::FusedIterator for Frames<'_> {}

/// Cuts a byte stream (TCP) into frames.
///
/// Feed received bytes with [`push`](Self::push), then take complete frames with
/// [`next_frame`](Self::next_frame) until it returns `None`. The buffer is allocated once
/// and holds two maximum-size frames, so a push after draining always makes progress.
/// After an error the stream is out of step for good: every later call returns the
/// same error and the connection should be closed.
#[derive(Debug)]
pub struct StreamFramer {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    max_len: usize,
    /// Stream offset of `buf[start]`, for error reports.
    stream_offset: usize,
    error: Option<FrameError>,
}

impl StreamFramer {
    /// A framer for messages of at most `max_len` bytes.
    pub fn new(max_len: u16) -> Self {
        let capacity = 2 * (HEADER_LEN + max_len as usize);
        Self {
            buf: vec![0; capacity].into_boxed_slice(),
            start: 0,
            end: 0,
            max_len: max_len as usize,
            stream_offset: 0,
            error: None,
        }
    }

    /// Buffers as much of `bytes` as fits and returns how many were taken. Take frames
    /// out and push the rest when it is less than `bytes.len()`. Takes nothing after an error.
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        if self.error.is_some() {
            return 0;
        }
        if self.buf.len() - self.end < bytes.len() && self.start > 0 {
            // Compact: move the unread tail to the front. At most one frame's worth moves.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let take = bytes.len().min(self.buf.len() - self.end);
        self.buf[self.end..self.end + take].copy_from_slice(&bytes[..take]);
        self.end += take;
        take
    }

    /// The next complete frame's message, `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<&[u8], FrameError>> {
        if let Some(e) = self.error {
            return Some(Err(e));
        }
        let avail = &self.buf[self.start..self.end];
        match check_frame(avail, self.stream_offset, self.max_len) {
            Ok(Some(len)) => {
                let body = self.start + HEADER_LEN;
                self.start = body + len;
                self.stream_offset += HEADER_LEN + len;
                Some(Ok(&self.buf[body..body + len]))
            }
            Ok(None) => None,
            Err(e) => {
                self.error = Some(e);
                Some(Err(e))
            }
        }
    }

    /// Bytes buffered that are not yet part of a returned frame.
    pub const fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Call at end of stream: an error if a partial frame is left over.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let avail = &self.buf[self.start..self.end];
        let offset = self.stream_offset;
        match read_header(avail) {
            _ if avail.is_empty() => Ok(()),
            None => Err(FrameError::TruncatedHeader {
                offset,
                available: avail.len(),
            }),
            Some(len) => Err(FrameError::TruncatedBody {
                offset,
                len,
                available: avail.len() - HEADER_LEN,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_with_two_frames_yields_both_messages() {
        let payload = [0, 3, b'a', b'b', b'c', 0, 1, b'z'];
        let frames: Vec<_> = Frames::new(&payload, 100).collect();
        assert_eq!(frames, vec![Ok(&b"abc"[..]), Ok(&b"z"[..])]);
    }

    #[test]
    fn each_kind_of_bad_frame_is_reported_once_with_its_offset() {
        let cases: [(&[u8], FrameError); 4] = [
            (
                &[0, 1, b'a', 7],
                FrameError::TruncatedHeader {
                    offset: 3,
                    available: 1,
                },
            ),
            (
                &[0, 5, b'a', b'b'],
                FrameError::TruncatedBody {
                    offset: 0,
                    len: 5,
                    available: 2,
                },
            ),
            (&[0, 0, 0, 1, b'a'], FrameError::ZeroLength { offset: 0 }),
            (
                &[0, 1, b'a', 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                FrameError::Oversize {
                    offset: 3,
                    len: 9,
                    max: 8,
                },
            ),
        ];
        for (payload, expected) in cases {
            let results: Vec<_> = Frames::new(payload, 8).filter_map(Result::err).collect();
            assert_eq!(results, vec![expected], "payload {payload:?}");
            assert_eq!(Frames::new(payload, 8).filter(Result::is_err).count(), 1);
        }
    }

    #[test]
    fn headers_are_big_endian_and_refuse_empty_or_huge_messages() {
        let mut out = [0u8; 6];
        assert_eq!(write_frame(&mut out, b"0800"), Ok(6));
        assert_eq!(out, [0, 4, b'0', b'8', b'0', b'0']);
        assert_eq!(read_header(&[0x01, 0x2C]), Some(300));
        assert_eq!(
            write_header(&mut out, 0),
            Err(FrameError::ZeroLength { offset: 0 })
        );
        assert!(matches!(
            write_header(&mut out, 70_000),
            Err(FrameError::Oversize { .. })
        ));
        assert!(matches!(
            write_frame(&mut out, b"12345"),
            Err(FrameError::BufferTooSmall { needed: 7, .. })
        ));
    }

    #[test]
    fn stream_framer_reassembles_frames_split_at_every_byte() {
        let stream = [0, 2, b'h', b'i', 0, 3, b'a', b'b', b'c'];
        let mut framer = StreamFramer::new(16);
        let mut got = Vec::new();
        for byte in stream {
            assert_eq!(framer.push(&[byte]), 1);
            while let Some(frame) = framer.next_frame() {
                got.push(frame.unwrap().to_vec());
            }
        }
        assert_eq!(got, vec![b"hi".to_vec(), b"abc".to_vec()]);
        assert_eq!(framer.finish(), Ok(()));
    }

    #[test]
    fn stream_framer_takes_only_what_fits_and_makes_progress_after_draining() {
        let mut framer = StreamFramer::new(4);
        let frame = [0, 4, 1, 2, 3, 4];
        let stream: Vec<u8> = frame.iter().copied().cycle().take(6 * 5).collect();
        let mut rest = &stream[..];
        let mut count = 0;
        while !rest.is_empty() {
            let taken = framer.push(rest);
            rest = &rest[taken..];
            while let Some(f) = framer.next_frame() {
                assert_eq!(f.unwrap(), &[1, 2, 3, 4]);
                count += 1;
            }
        }
        assert_eq!(count, 5);
        assert_eq!(framer.buffered(), 0);
    }

    #[test]
    fn stream_framer_stays_failed_after_a_bad_header() {
        let mut framer = StreamFramer::new(4);
        framer.push(&[0, 1, b'x', 0, 5, 1]);
        assert_eq!(framer.next_frame(), Some(Ok(&b"x"[..])));
        let oversize = FrameError::Oversize {
            offset: 3,
            len: 5,
            max: 4,
        };
        assert_eq!(framer.next_frame(), Some(Err(oversize)));
        assert_eq!(framer.push(&[0, 1, b'y']), 0);
        assert_eq!(framer.next_frame(), Some(Err(oversize)));
        assert_eq!(framer.finish(), Err(oversize));
    }

    #[test]
    fn stream_framer_reports_a_partial_frame_at_end_of_stream() {
        let mut framer = StreamFramer::new(16);
        framer.push(&[0, 5, 1, 2]);
        assert_eq!(framer.next_frame(), None);
        assert_eq!(
            framer.finish(),
            Err(FrameError::TruncatedBody {
                offset: 0,
                len: 5,
                available: 2
            })
        );
    }
}
