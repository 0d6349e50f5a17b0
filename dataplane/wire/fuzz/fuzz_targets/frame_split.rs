//! Frame splitting over arbitrary bytes: the datagram iterator and the stream framer.
//!
//! The first two bytes choose the maximum frame length and the stream chunk size; the
//! rest is the payload. Invariants checked (a violation aborts the run):
//! - nothing panics, whatever the bytes;
//! - every frame is non-empty, within the maximum, and inside the payload;
//! - the stream framer fed in chunks yields exactly the frames (and the first error)
//!   that the datagram iterator finds in the whole payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::frame::{Frames, StreamFramer, HEADER_LEN};

fuzz_target!(|bytes: &[u8]| {
    let [max_seed, chunk_seed, payload @ ..] = bytes else {
        return;
    };
    let max = 1 + u16::from(*max_seed) * 4;
    let chunk = 1 + usize::from(*chunk_seed);

    let mut datagram = Vec::new();
    let mut datagram_error = None;
    let mut covered = 0;
    for frame in Frames::new(payload, max) {
        match frame {
            Ok(message) => {
                assert!(!message.is_empty() && message.len() <= usize::from(max));
                covered += HEADER_LEN + message.len();
                datagram.push(message.to_vec());
            }
            Err(e) => datagram_error = Some(e),
        }
    }
    assert!(covered <= payload.len());

    let mut framer = StreamFramer::new(max);
    let mut stream = Vec::new();
    let mut stream_error = None;
    'feed: for piece in payload.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            let taken = framer.push(rest);
            rest = &rest[taken..];
            while let Some(frame) = framer.next_frame() {
                match frame {
                    Ok(message) => stream.push(message.to_vec()),
                    Err(e) => {
                        stream_error = Some(e);
                        break 'feed;
                    }
                }
            }
            if taken == 0 {
                break 'feed;
            }
        }
    }
    assert_eq!(stream, datagram, "stream and datagram framing disagree");
    match (datagram_error, stream_error) {
        // A datagram ending mid-frame is a stream still waiting for bytes.
        (Some(_), None) => assert!(framer.finish().is_err()),
        (d, s) => assert_eq!(d, s),
    }
});
