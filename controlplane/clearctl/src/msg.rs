//! `clearctl msg decode|encode`: ISO 8583 messages as hex lines and JSON lines.
//!
//! decode: stdin has one message per line as hex (no frame header); stdout gets one JSON
//! object per line, `{"mti":"0200","fields":{"2":"4761...","3":"000000"}}`, keys in
//! ascending field order, bitmaps not listed, text fields as text, binary fields as
//! lowercase hex, BCD fields as their digits.
//! encode: the inverse, JSON lines in, lowercase hex lines out.
//! A line that fails prints `{"error":{"kind":..,"field":N,"offset":K,"message":..}}` in
//! its place and the next line is processed; the exit status is 1 if any line failed.
//! Output line i always answers input line i.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use wire::iso8583::{
    encode, is_data_field, unpack_bcd, Encoding, Error as IsoError, FieldValues, Message, Spec,
};

#[derive(Debug, Subcommand)]
pub enum MsgCommand {
    /// Hex lines (one message each, no frame header) in, JSON lines out.
    Decode(SpecArg),
    /// JSON lines in, hex lines out.
    Encode(SpecArg),
}

#[derive(Debug, Args)]
pub struct SpecArg {
    /// Built-in spec name (default, default_ascii) or path of a TOML spec file.
    #[arg(long, default_value = "default")]
    spec: String,
}

/// Turns one input line into one output line.
type LineConverter = fn(&Spec, &str) -> Result<String, LineError>;

/// Runs a `msg` subcommand over stdin/stdout; the exit code says whether any line failed.
pub fn run(cmd: MsgCommand) -> anyhow::Result<ExitCode> {
    let (arg, direction): (&SpecArg, LineConverter) = match &cmd {
        MsgCommand::Decode(arg) => (arg, decode_line),
        MsgCommand::Encode(arg) => (arg, encode_line),
    };
    let spec = load_spec(&arg.spec)?;
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let failed = process(stdin, &mut stdout, |line| direction(&spec, line))?;
    stdout.flush().context("writing stdout")?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn load_spec(name: &str) -> anyhow::Result<Spec> {
    if let Some(spec) = Spec::builtin(name) {
        return Ok(spec.clone());
    }
    Spec::load(Path::new(name)).with_context(|| {
        format!("--spec {name:?} is neither a built-in (default, default_ascii) nor a loadable spec file")
    })
}

/// Applies `convert` to every input line; returns whether any line failed.
fn process(
    input: impl BufRead,
    out: &mut impl Write,
    convert: impl Fn(&str) -> Result<String, LineError>,
) -> anyhow::Result<bool> {
    let mut failed = false;
    for line in input.lines() {
        let line = line.context("reading stdin")?;
        let answer = convert(line.trim_end_matches(['\r', '\n'])).unwrap_or_else(|e| {
            failed = true;
            e.to_json()
        });
        writeln!(out, "{answer}").context("writing stdout")?;
    }
    Ok(failed)
}

/// One line's failure, printed as the error object.
#[derive(Debug, PartialEq, Eq)]
struct LineError {
    kind: &'static str,
    field: u8,
    offset: usize,
    message: String,
}

impl LineError {
    fn new(kind: &'static str, field: u8, offset: usize, message: impl Into<String>) -> Self {
        Self {
            kind,
            field,
            offset,
            message: message.into(),
        }
    }

    fn to_json(&self) -> String {
        format!(
            "{{\"error\":{{\"kind\":{},\"field\":{},\"offset\":{},\"message\":{}}}}}",
            json_str(self.kind),
            self.field,
            self.offset,
            json_str(&self.message)
        )
    }
}

impl From<IsoError> for LineError {
    fn from(e: IsoError) -> Self {
        Self::new(e.kind.code(), e.field, e.offset, e.kind.to_string())
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn decode_line(spec: &Spec, line: &str) -> Result<String, LineError> {
    let bytes = from_hex(line.trim()).map_err(|i| {
        LineError::new(
            "bad_hex",
            0,
            i / 2,
            format!("character {i} of the line is not part of a hex byte"),
        )
    })?;
    let msg = Message::decode(&bytes, spec)?;
    let mti = msg.mti_digits();
    let mut out = String::with_capacity(bytes.len() * 2 + 32);
    out.push_str("{\"mti\":");
    out.push_str(&json_str(std::str::from_utf8(&mti).unwrap_or("????")));
    out.push_str(",\"fields\":{");
    for (i, (n, wire)) in msg.data_fields().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("\"{n}\":"));
        let encoding = spec.field(n).map(|f| f.encoding);
        let text = match encoding {
            Some(Encoding::Binary) => to_hex(wire),
            Some(Encoding::Bcd) => {
                let digits = msg.bcd_digits(n).unwrap_or(0);
                let mut buf = vec![0u8; digits];
                String::from_utf8_lossy(unpack_bcd(wire, digits, &mut buf)).into_owned()
            }
            // Decode checked ASCII fields byte by byte, so this is lossless.
            _ => String::from_utf8_lossy(wire).into_owned(),
        };
        out.push_str(&json_str(&text));
    }
    out.push_str("}}");
    Ok(out)
}

fn encode_line(spec: &Spec, line: &str) -> Result<String, LineError> {
    let doc: serde_json::Value = serde_json::from_str(line).map_err(|e| {
        LineError::new(
            "bad_json",
            0,
            e.column().saturating_sub(1),
            format!("not a JSON object: {e}"),
        )
    })?;
    let shape = |what: &str| LineError::new("bad_json", 0, 0, format!("expected {what}"));
    let mti = doc
        .get("mti")
        .and_then(|m| m.as_str())
        .ok_or_else(|| shape("\"mti\" as a string of four digits"))?;
    let fields = doc
        .get("fields")
        .and_then(|f| f.as_object())
        .ok_or_else(|| shape("\"fields\" as an object of field number to string"))?;

    let mut owned: Vec<(u8, Vec<u8>)> = Vec::with_capacity(fields.len());
    for (key, value) in fields {
        let n =
            key.parse::<u8>()
                .ok()
                .filter(|&n| is_data_field(n))
                .ok_or_else(|| {
                    LineError::new(
                "bad_field_number",
                key.parse::<u8>().unwrap_or(0),
                0,
                format!("field key {key:?} is not a data field 2-128 (1 and 65 are bitmap bits)"),
            )
                })?;
        let text = value
            .as_str()
            .ok_or_else(|| LineError::new("bad_json", n, 0, "field values are JSON strings"))?;
        let bytes = match spec.field(n).map(|f| f.encoding) {
            Some(Encoding::Binary) => from_hex(text).map_err(|i| {
                LineError::new(
                    "bad_hex",
                    n,
                    i,
                    format!("character {i} of the value is not part of a hex byte"),
                )
            })?,
            _ => text.as_bytes().to_vec(),
        };
        owned.push((n, bytes));
    }
    let mut values = FieldValues::new();
    for (n, bytes) in &owned {
        values.set(*n, bytes)?;
    }
    let mut out = vec![0u8; u16::MAX as usize];
    let len = encode(spec, mti.as_bytes(), &values, &mut out)?;
    Ok(to_hex(&out[..len]))
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xF) as usize] as char);
    }
    s
}

/// Hex (either case) to bytes; `Err` is the index of the first bad character.
fn from_hex(text: &str) -> Result<Vec<u8>, usize> {
    let digits = text.as_bytes();
    let nibble = |i: usize| -> Result<u8, usize> {
        match digits.get(i) {
            Some(c @ b'0'..=b'9') => Ok(c - b'0'),
            Some(c @ b'a'..=b'f') => Ok(c - b'a' + 10),
            Some(c @ b'A'..=b'F') => Ok(c - b'A' + 10),
            _ => Err(i),
        }
    };
    (0..digits.len().div_ceil(2))
        .map(|byte| Ok(nibble(2 * byte)? << 4 | nibble(2 * byte + 1)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::iso8583::{DEFAULT, DEFAULT_ASCII};

    #[test]
    fn hex_accepts_either_case_and_points_at_the_first_bad_character() {
        assert_eq!(from_hex("0aFf"), Ok(vec![0x0a, 0xff]));
        assert_eq!(from_hex("0g"), Err(1));
        assert_eq!(from_hex("abc"), Err(3));
        assert_eq!(to_hex(&[0xAB, 0x01]), "ab01");
    }

    #[test]
    fn decode_lists_fields_in_numeric_order_with_binary_fields_in_lower_case_hex() {
        let line = encode_line(
            &DEFAULT,
            r#"{"mti":"0200","fields":{"12":"123456","2":"4761","52":"ABCDEF0123456789"}}"#,
        )
        .unwrap();
        assert_eq!(
            decode_line(&DEFAULT, &line).unwrap(),
            r#"{"mti":"0200","fields":{"2":"4761","12":"123456","52":"abcdef0123456789"}}"#
        );
    }

    #[test]
    fn a_failed_line_reports_kind_field_offset_and_message() {
        let err = decode_line(&DEFAULT_ASCII, &to_hex(b"02004000000000000000XX")).unwrap_err();
        assert_eq!(
            (err.kind, err.field, err.offset),
            ("bad_length_prefix", 2, 20)
        );
        let json: serde_json::Value = serde_json::from_str(&err.to_json()).unwrap();
        assert_eq!(json["error"]["kind"], "bad_length_prefix");
        assert_eq!(
            json["error"]["message"],
            "length prefix must be decimal digits"
        );
    }

    #[test]
    fn processing_continues_after_a_bad_line_and_reports_failure() {
        let input = "30383030\nzz\n";
        let mut out = Vec::new();
        let failed = process(input.as_bytes(), &mut out, |l| {
            decode_line(&DEFAULT_ASCII, l)
        })
        .unwrap();
        assert!(failed);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.starts_with("{\"error\"")), "{text}");
    }

    #[test]
    fn encode_refuses_bitmap_keys_and_non_string_values() {
        let err = encode_line(&DEFAULT, r#"{"mti":"0800","fields":{"1":"00"}}"#).unwrap_err();
        assert_eq!((err.kind, err.field), ("bad_field_number", 1));
        let err = encode_line(&DEFAULT, r#"{"mti":"0800","fields":{"3":3}}"#).unwrap_err();
        assert_eq!((err.kind, err.field), ("bad_json", 3));
        let err = encode_line(&DEFAULT, r#"{"mti":"0800","fields":{"52":"xyz"}}"#).unwrap_err();
        assert_eq!((err.kind, err.field, err.offset), ("bad_hex", 52, 0));
        let err = encode_line(&DEFAULT, "not json").unwrap_err();
        assert_eq!(err.kind, "bad_json");
    }
}
