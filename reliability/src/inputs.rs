//! Decoder inputs tried by the bounded proptest twins of the fuzz targets,
//! for the summary's "inputs tried per decoder" lines.
//!
//! Each twin property ticks a counter once per generated input; when the
//! count reaches the property's configured case count (the run passed every
//! case), it drops one JSON file `{"decoder", "property", "inputs"}` into
//! `<rows_dir>/decoders/`. The summary adds the properties of a decoder up.
//! A failing property never reaches its count, so it writes nothing, and
//! the test failure itself says why.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::row::{rows_dir, RowError, DECODER_COUNTS_FILE};

/// Inputs one property fed to one decoder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecoderCount {
    pub decoder: String,
    /// The property (test) that tried them; absent in hand-written files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    pub inputs: u64,
}

/// A per-property counter; declare it `static` and [`InputCounter::tick`]
/// it at the top of the property's body.
pub struct InputCounter {
    decoder: &'static str,
    property: &'static str,
    cases: u64,
    seen: AtomicU64,
}

impl InputCounter {
    pub const fn new(decoder: &'static str, property: &'static str, cases: u32) -> InputCounter {
        InputCounter {
            decoder,
            property,
            cases: cases as u64,
            seen: AtomicU64::new(0),
        }
    }

    /// One more input; the one that completes the configured cases writes
    /// the count (a write error fails the test: the summary would miss it).
    pub fn tick(&self) {
        let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        if n == self.cases {
            if let Err(e) = write_count(self.decoder, self.property, n) {
                panic!("recording decoder inputs for the reliability summary: {e}");
            }
        }
    }
}

/// Writes `<rows_dir>/decoders/<decoder>--<property>.json`.
pub fn write_count(decoder: &str, property: &str, inputs: u64) -> Result<PathBuf, RowError> {
    let dir = rows_dir().join(DECODER_COUNTS_FILE);
    let count = DecoderCount {
        decoder: decoder.to_string(),
        property: Some(property.to_string()),
        inputs,
    };
    let path = dir.join(format!("{decoder}--{property}.json"));
    let text = serde_json::to_string(&count).expect("a decoder count serialises");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|source| RowError::Write {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

/// Ticks a per-call-site static counter: `reliability::count_input!("iso8583", "prop_name", CASES)`.
#[macro_export]
macro_rules! count_input {
    ($decoder:expr, $property:expr, $cases:expr) => {{
        static COUNTER: $crate::InputCounter =
            $crate::InputCounter::new($decoder, $property, $cases);
        COUNTER.tick();
    }};
}
