//! Interop with pyiso8583 4.x, the independent reference implementation.
//!
//! - The built-in specs match pyiso8583's `specs.default` / `specs.default_ascii` in every
//!   attribute of every field.
//! - 10,000 random messages per spec encoded by pyiso8583 decode in Clearway to the same
//!   values and re-encode to the same bytes.
//! - 10,000 random messages per spec encoded by Clearway decode in pyiso8583 to the same
//!   values.
//!
//! Python comes from `CLEARWAY_PYTHON`, else `<repo>/.venv/bin/python`. Without it (or
//! without pyiso8583) the test fails: run `make test`, which creates the virtualenv.
//! Each direction is one Python process over all messages, so the test takes seconds.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use wire::iso8583::{
    encode, BitmapEncoding, Encoding, FieldValues, LengthType, Message, MtiEncoding,
    PrefixEncoding, Spec, DEFAULT, DEFAULT_ASCII,
};

const MESSAGES_PER_SPEC: usize = 10_000;

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

fn python() -> PathBuf {
    let python = std::env::var_os("CLEARWAY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    let probe = Command::new(&python)
        .args(["-c", "import iso8583"])
        .output();
    match probe {
        Ok(out) if out.status.success() => python,
        _ => panic!(
            "pyiso8583 is not available at {}: run `make test` (it creates .venv with \
             pyiso8583), or set CLEARWAY_PYTHON to a python that has pyiso8583 4.x",
            python.display()
        ),
    }
}

/// Runs one interop script with `input` on stdin and returns its stdout lines.
fn run_script(script: &str, args: &[String], input: Vec<u8>) -> Vec<String> {
    let mut child = Command::new(python())
        .arg(interop_dir().join(script))
        .args(args)
        .current_dir(interop_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python starts");
    let mut stdin = child.stdin.take().unwrap();
    // Feed stdin from a thread so a full stdout pipe cannot deadlock us.
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| l.expect("utf-8 line from python"))
        .collect();
    feeder.join().unwrap().expect("python reads stdin");
    let status = child.wait().unwrap();
    assert!(status.success(), "{script} failed: {status}");
    lines
}

fn numeric_fields(spec: &Spec) -> String {
    (2..=128u8)
        .filter(|&n| spec.field(n).is_some_and(|f| f.numeric))
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// A field value in the JSON form both sides share: text, or lowercase hex for binary.
fn json_value(spec: &Spec, n: u8, wire: &[u8]) -> String {
    match spec.field(n).map(|f| f.encoding) {
        Some(Encoding::Binary) => hex(wire),
        _ => String::from_utf8(wire.to_vec()).unwrap(),
    }
}

#[test]
fn builtin_specs_match_pyiso8583_field_for_field() {
    let dump = run_script("pyiso_spec_dump.py", &[], Vec::new());
    let dump: Value = serde_json::from_str(&dump[0]).unwrap();
    assert!(
        dump["version"].as_str().unwrap().starts_with("4."),
        "pyiso8583 4.x expected: {dump:?}"
    );
    for spec in [&DEFAULT, &DEFAULT_ASCII] {
        let py = &dump["specs"][spec.name()];
        assert_eq!(
            py["h"]["max_len"], 0,
            "neither built-in has a message header"
        );
        assert_eq!(
            (&py["t"]["data_enc"], &py["t"]["max_len"]),
            (&Value::from("ascii"), &Value::from(4))
        );
        assert_eq!(spec.mti_encoding(), MtiEncoding::Ascii);
        for bitmap in ["p", "1"] {
            let expected = match spec.bitmap_encoding() {
                BitmapEncoding::Binary => ("b", 8),
                BitmapEncoding::AsciiHex => ("ascii", 16),
            };
            assert_eq!(
                py[bitmap]["data_enc"],
                expected.0,
                "{} bitmap {bitmap}",
                spec.name()
            );
            assert_eq!(
                py[bitmap]["max_len"],
                expected.1,
                "{} bitmap {bitmap}",
                spec.name()
            );
        }
        for n in 2..=128u8 {
            let py_field = &py[n.to_string()];
            let Some(field) = spec.field(n) else {
                // pyiso8583 treats bit 65 as the tertiary bitmap, whatever its entry says;
                // Clearway rejects it. Every other field must be defined.
                assert_eq!(n, 65, "{} field {n} is missing", spec.name());
                continue;
            };
            let described = serde_json::json!({
                "data_enc": match field.encoding { Encoding::Binary => "b", Encoding::Ascii => "ascii", Encoding::Bcd => "bcd" },
                "len_enc": match field.prefix { PrefixEncoding::Ascii => "ascii", PrefixEncoding::Bcd => "bcd" },
                "len_type": field.length.digits(),
                "max_len": field.max_len,
            });
            assert_eq!(py_field, &described, "{} field {n}", spec.name());
            assert_ne!(field.length, LengthType::LLLL, "no built-in field is LLLL");
        }
    }
}

fn pyiso8583_messages_decode_and_reencode_identically(spec: &Spec, seed: u64) {
    let args = [
        spec.name().to_owned(),
        MESSAGES_PER_SPEC.to_string(),
        seed.to_string(),
        numeric_fields(spec),
    ];
    let lines = run_script("pyiso_generate.py", &args, Vec::new());
    assert_eq!(lines.len(), MESSAGES_PER_SPEC);
    let mut out = vec![0u8; u16::MAX as usize];
    for (i, line) in lines.iter().enumerate() {
        let doc: Value = serde_json::from_str(line).unwrap();
        let bytes = unhex(doc["hex"].as_str().unwrap());
        let msg = Message::decode(&bytes, spec)
            .unwrap_or_else(|e| panic!("{} message {i} refused: {e}\n{line}", spec.name()));
        assert_eq!(
            msg.mti(),
            doc["mti"].as_str().unwrap().as_bytes(),
            "message {i}"
        );
        let ours: BTreeMap<String, String> = msg
            .data_fields()
            .map(|(n, wire)| (n.to_string(), json_value(spec, n, wire)))
            .collect();
        let theirs: BTreeMap<String, String> = doc["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(ours, theirs, "{} message {i}", spec.name());

        let mut values = FieldValues::new();
        for (n, wire) in msg.data_fields() {
            values.set(n, wire).unwrap();
        }
        let len = encode(spec, msg.mti(), &values, &mut out).unwrap();
        assert_eq!(
            &out[..len],
            &bytes[..],
            "{} message {i} re-encoded differently",
            spec.name()
        );
    }
}

#[test]
fn pyiso8583_messages_decode_and_reencode_identically_default() {
    pyiso8583_messages_decode_and_reencode_identically(&DEFAULT, 8583);
}

#[test]
fn pyiso8583_messages_decode_and_reencode_identically_default_ascii() {
    pyiso8583_messages_decode_and_reencode_identically(&DEFAULT_ASCII, 1987);
}

/// xorshift64*: a seeded generator so failures reproduce; no dependency needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A random value for field `n`: digits for numeric fields, any 7-bit character for
/// text, any byte for binary; variable fields are often empty or at their maximum.
fn random_value(rng: &mut Rng, spec: &Spec, n: u8) -> Vec<u8> {
    let field = spec.field(n).unwrap();
    let max = field.max_len as u64;
    let len = match field.length {
        LengthType::Fixed => max,
        _ if rng.chance(15) => 0,
        _ if rng.chance(12) => max,
        _ => rng.below(max.min(64) + 1),
    };
    (0..len)
        .map(|_| match field.encoding {
            Encoding::Binary => rng.next() as u8,
            Encoding::Ascii if field.numeric => b'0' + rng.below(10) as u8,
            _ => rng.below(128) as u8,
        })
        .collect()
}

fn clearway_messages_decode_identically_in_pyiso8583(spec: &Spec, seed: u64) {
    let mut rng = Rng(seed);
    let mut out = vec![0u8; u16::MAX as usize];
    let mut input = Vec::new();
    let mut expected = Vec::with_capacity(MESSAGES_PER_SPEC);
    for _ in 0..MESSAGES_PER_SPEC {
        let mti: Vec<u8> = (0..4).map(|_| b'0' + rng.below(10) as u8).collect();
        let density = [2, 8, 20, 40][rng.below(4) as usize];
        let with_secondary = rng.chance(50);
        let mut owned = Vec::new();
        for n in (2..=128u8).filter(|&n| n != 65 && (n < 65 || with_secondary)) {
            if rng.chance(density) {
                owned.push((n, random_value(&mut rng, spec, n)));
            }
        }
        let mut values = FieldValues::new();
        for (n, value) in &owned {
            values.set(*n, value).unwrap();
        }
        let len = encode(spec, &mti, &values, &mut out).unwrap();
        input.extend_from_slice(hex(&out[..len]).as_bytes());
        input.push(b'\n');
        let fields: BTreeMap<String, String> = owned
            .iter()
            .map(|(n, v)| (n.to_string(), json_value(spec, *n, v)))
            .collect();
        expected.push((String::from_utf8(mti).unwrap(), fields));
    }
    let lines = run_script("pyiso_decode.py", &[spec.name().to_owned()], input);
    assert_eq!(lines.len(), MESSAGES_PER_SPEC);
    for (i, (line, (mti, fields))) in lines.iter().zip(&expected).enumerate() {
        let doc: Value = serde_json::from_str(line).unwrap();
        assert!(
            doc.get("error").is_none(),
            "{} message {i}: pyiso8583 refused it: {line}",
            spec.name()
        );
        assert_eq!(doc["mti"].as_str(), Some(mti.as_str()), "message {i}");
        let theirs: BTreeMap<String, String> = doc["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(&theirs, fields, "{} message {i}", spec.name());
    }
}

#[test]
fn clearway_messages_decode_identically_in_pyiso8583_default() {
    clearway_messages_decode_identically_in_pyiso8583(&DEFAULT, 0x8583_1987);
}

#[test]
fn clearway_messages_decode_identically_in_pyiso8583_default_ascii() {
    clearway_messages_decode_identically_in_pyiso8583(&DEFAULT_ASCII, 0x1987_8583);
}
