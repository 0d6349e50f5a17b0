//! Framing robustness: any bytes, any split of a stream, never a panic or a lost frame.

use proptest::prelude::*;
use wire::frame::{write_frame, FrameError, Frames, StreamFramer, HEADER_LEN};

const MAX: u16 = 512;

fn framed(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        let mut frame = vec![0u8; HEADER_LEN + m.len()];
        write_frame(&mut frame, m).unwrap();
        out.extend_from_slice(&frame);
    }
    out
}

fn messages() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 1..=MAX as usize),
        0..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_payloads_never_panic_and_frames_lie_inside_the_payload(
        payload in proptest::collection::vec(any::<u8>(), 0..700),
        max in 1u16..1000,
    ) {
        reliability::count_input!("frame", "arbitrary_payloads_never_panic_and_frames_lie_inside_the_payload", 512);
        let mut covered = 0;
        let mut errors = 0;
        for frame in Frames::new(&payload, max) {
            match frame {
                Ok(message) => {
                    prop_assert!(!message.is_empty() && message.len() <= max as usize);
                    covered += HEADER_LEN + message.len();
                }
                Err(_) => errors += 1,
            }
        }
        prop_assert!(errors <= 1);
        prop_assert!(covered <= payload.len());
        prop_assert!(errors == 1 || covered == payload.len());
    }

    #[test]
    fn framed_messages_come_back_in_order(msgs in messages()) {
        reliability::count_input!("frame", "framed_messages_come_back_in_order", 512);
        let payload = framed(&msgs);
        let back: Vec<Vec<u8>> = Frames::new(&payload, MAX).map(|f| f.unwrap().to_vec()).collect();
        prop_assert_eq!(back, msgs);
    }

    #[test]
    fn a_stream_split_anywhere_yields_the_same_frames(
        msgs in messages(),
        cuts in proptest::collection::vec(1usize..200, 0..50),
    ) {
        reliability::count_input!("frame", "a_stream_split_anywhere_yields_the_same_frames", 512);
        let stream = framed(&msgs);
        let mut framer = StreamFramer::new(MAX);
        let mut back = Vec::new();
        let mut rest = &stream[..];
        let mut cut = cuts.iter().cycle();
        while !rest.is_empty() {
            let chunk = &rest[..(*cut.next().unwrap_or(&usize::MAX)).min(rest.len())];
            let taken = framer.push(chunk);
            rest = &rest[taken..];
            while let Some(frame) = framer.next_frame() {
                back.push(frame.unwrap().to_vec());
            }
        }
        prop_assert_eq!(back, msgs);
        prop_assert_eq!(framer.finish(), Ok(()));
    }

    #[test]
    fn a_stream_of_arbitrary_bytes_never_panics_and_errors_stick(
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
        chunk in 1usize..300,
    ) {
        reliability::count_input!("frame", "a_stream_of_arbitrary_bytes_never_panics_and_errors_stick", 512);
        let mut framer = StreamFramer::new(MAX);
        let mut first_error: Option<FrameError> = None;
        for piece in bytes.chunks(chunk) {
            let mut rest = piece;
            loop {
                let taken = framer.push(rest);
                rest = &rest[taken..];
                while let Some(frame) = framer.next_frame() {
                    if let Err(e) = frame {
                        prop_assert!(first_error.is_none() || first_error == Some(e));
                        first_error = Some(e);
                        break;
                    }
                }
                if rest.is_empty() || first_error.is_some() {
                    break;
                }
            }
            if first_error.is_some() {
                break;
            }
        }
        if let Some(e) = first_error {
            prop_assert_eq!(framer.finish(), Err(e));
        }
    }
}
