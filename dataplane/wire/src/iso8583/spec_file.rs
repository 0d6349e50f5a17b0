//! Specs as TOML files, so an operator can describe a network's variant without a rebuild.
//!
//! ```toml
//! name = "acme"
//! mti = "ascii"            # ascii | bcd
//! bitmap = "binary"        # binary | ascii_hex
//!
//! [fields]
//! 2 = { encoding = "ascii", length = "LL", max_len = 19, numeric = true }
//! 35 = { encoding = "bcd", length = "LL", max_len = 37, prefix = "bcd" }
//! 55 = { encoding = "binary", length = "LLL", max_len = 255 }
//! ```
//!
//! `encoding` is ascii | binary | bcd, `length` fixed | LL | LLL | LLLL, `prefix` (how a
//! length prefix is written) ascii (default) | bcd, `numeric` defaults to false. Fields not
//! listed are undefined: a message carrying one is rejected. `wire/specs/` holds the two
//! built-ins in this form.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::encode::is_data_field;
use super::spec::{
    BitmapEncoding, Encoding, FieldSpec, LengthType, MtiEncoding, PrefixEncoding, Spec,
};

/// Why a spec file was refused. Each message names the field and the fix.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read spec file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("spec file is not a valid Clearway spec: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("field key {key:?} is not a data field number 2-128 (1 and 65 are bitmap bits the codec handles)")]
    BadFieldKey { key: String },
    #[error("field {field}: max_len {max_len} is out of range: {why}")]
    BadMaxLen {
        field: u8,
        max_len: u16,
        why: &'static str,
    },
    #[error("field {field}: `numeric` applies to ASCII fields only (BCD is always digits, binary never is)")]
    NumericNotAscii { field: u8 },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    name: String,
    mti: MtiEncoding,
    bitmap: BitmapEncoding,
    fields: BTreeMap<String, FieldEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldEntry {
    encoding: Encoding,
    length: LengthType,
    max_len: u16,
    #[serde(default)]
    numeric: bool,
    #[serde(default)]
    prefix: PrefixEncoding,
}

/// Largest fixed field; keeps every message well inside a 16-bit frame length.
const MAX_FIXED_LEN: u16 = 9999;

impl Spec {
    /// Parses and validates a spec from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Spec, SpecError> {
        let file: SpecFile = toml::from_str(text)?;
        let mut fields: [Option<FieldSpec>; 129] = [None; 129];
        for (key, entry) in file.fields {
            let n = key
                .parse::<u8>()
                .ok()
                .filter(|&n| is_data_field(n))
                .ok_or_else(|| SpecError::BadFieldKey { key: key.clone() })?;
            fields[n as usize] = Some(validate(n, entry)?);
        }
        Ok(Spec::assemble(
            file.name.into(),
            file.mti,
            file.bitmap,
            fields,
        ))
    }

    /// Reads and validates a spec file.
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// This spec as a TOML file that [`Spec::from_toml_str`] reads back to an equal spec.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Clearway ISO 8583 spec; format in wire/src/iso8583/spec_file.rs."
        );
        // TOML's own string quoting: Rust's `{:?}` escapes (`\u{c}`) are
        // not TOML (found by the iso8583_spec_toml fuzz target).
        let name = toml::Value::String(self.name().to_string());
        let _ = writeln!(out, "name = {name}");
        let _ = writeln!(out, "mti = \"{}\"", mti_name(self.mti));
        let _ = writeln!(out, "bitmap = \"{}\"", bitmap_name(self.bitmap));
        let _ = writeln!(out, "\n[fields]");
        for n in 2..=128u8 {
            let Some(f) = self.field(n) else { continue };
            let _ = write!(
                out,
                "{n} = {{ encoding = \"{}\", length = \"{}\", max_len = {}",
                encoding_name(f.encoding),
                length_name(f.length),
                f.max_len
            );
            if f.numeric {
                out.push_str(", numeric = true");
            }
            if f.prefix == PrefixEncoding::Bcd {
                out.push_str(", prefix = \"bcd\"");
            }
            out.push_str(" }\n");
        }
        out
    }
}

fn validate(n: u8, e: FieldEntry) -> Result<FieldSpec, SpecError> {
    let bad = |why| SpecError::BadMaxLen {
        field: n,
        max_len: e.max_len,
        why,
    };
    if e.max_len == 0 {
        return Err(bad("a field holds at least one unit"));
    }
    match e.length {
        LengthType::Fixed if e.max_len > MAX_FIXED_LEN => {
            return Err(bad("fixed fields are at most 9999 units"))
        }
        LengthType::Fixed => {}
        l if e.max_len > l.max_value() => {
            return Err(bad(
                "larger than the length prefix can state (LL 99, LLL 999, LLLL 9999)",
            ))
        }
        _ => {}
    }
    if e.numeric && e.encoding != Encoding::Ascii {
        return Err(SpecError::NumericNotAscii { field: n });
    }
    Ok(FieldSpec {
        encoding: e.encoding,
        length: e.length,
        prefix: e.prefix,
        max_len: e.max_len,
        numeric: e.numeric,
    })
}

fn mti_name(m: MtiEncoding) -> &'static str {
    match m {
        MtiEncoding::Ascii => "ascii",
        MtiEncoding::Bcd => "bcd",
    }
}

fn bitmap_name(b: BitmapEncoding) -> &'static str {
    match b {
        BitmapEncoding::Binary => "binary",
        BitmapEncoding::AsciiHex => "ascii_hex",
    }
}

fn encoding_name(e: Encoding) -> &'static str {
    match e {
        Encoding::Ascii => "ascii",
        Encoding::Binary => "binary",
        Encoding::Bcd => "bcd",
    }
}

fn length_name(l: LengthType) -> &'static str {
    match l {
        LengthType::Fixed => "fixed",
        LengthType::LL => "LL",
        LengthType::LLL => "LLL",
        LengthType::LLLL => "LLLL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::{DEFAULT, DEFAULT_ASCII};

    #[test]
    fn builtins_survive_a_round_trip_through_toml() {
        for spec in [&DEFAULT, &DEFAULT_ASCII] {
            assert_eq!(&Spec::from_toml_str(&spec.to_toml()).unwrap(), spec);
        }
    }

    /// Regenerate with `CLEARWAY_BLESS_SPECS=1 cargo test -p wire shipped_spec_files`.
    #[test]
    fn shipped_spec_files_are_exactly_the_builtins() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
        for spec in [&DEFAULT, &DEFAULT_ASCII] {
            let path = dir.join(format!("{}.toml", spec.name()));
            if std::env::var_os("CLEARWAY_BLESS_SPECS").is_some() {
                std::fs::write(&path, spec.to_toml()).unwrap();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                text,
                spec.to_toml(),
                "{} is stale; regenerate it",
                path.display()
            );
        }
    }

    #[test]
    fn a_name_with_control_characters_and_quotes_survives_the_round_trip() {
        let text = "name = \"\\\\a\\u000Cb\\\"c\\td\\u007F\"\nmti = \"ascii\"\nbitmap = \"binary\"\n[fields]\n";
        let spec = Spec::from_toml_str(text).unwrap();
        assert_eq!(spec.name(), "\\a\u{c}b\"c\td\u{7f}");
        let again = Spec::from_toml_str(&spec.to_toml()).unwrap();
        assert_eq!(again, spec);
    }

    #[test]
    fn a_network_variant_with_bcd_fields_loads() {
        let spec = Spec::from_toml_str(
            r#"
            name = "acme"
            mti = "bcd"
            bitmap = "binary"
            [fields]
            2 = { encoding = "bcd", length = "LL", max_len = 19, prefix = "bcd" }
            4 = { encoding = "ascii", length = "fixed", max_len = 12, numeric = true }
            "#,
        )
        .unwrap();
        assert_eq!(spec.name(), "acme");
        let pan = spec.field(2).unwrap();
        assert_eq!(
            (pan.encoding, pan.prefix, pan.prefix_len()),
            (Encoding::Bcd, PrefixEncoding::Bcd, 1)
        );
        assert!(spec.field(3).is_none());
    }

    #[test]
    fn mistakes_are_refused_with_the_field_named() {
        let with = |field: &str| {
            Spec::from_toml_str(&format!(
                "name = \"x\"\nmti = \"ascii\"\nbitmap = \"binary\"\n[fields]\n{field}\n"
            ))
        };
        assert!(matches!(
            with("65 = { encoding = \"binary\", length = \"fixed\", max_len = 8 }"),
            Err(SpecError::BadFieldKey { .. })
        ));
        assert!(matches!(
            with("2 = { encoding = \"ascii\", length = \"LL\", max_len = 100 }"),
            Err(SpecError::BadMaxLen { field: 2, .. })
        ));
        assert!(matches!(
            with("52 = { encoding = \"binary\", length = \"fixed\", max_len = 8, numeric = true }"),
            Err(SpecError::NumericNotAscii { field: 52 })
        ));
        assert!(matches!(
            with("2 = { encoding = \"ebcdic\", length = \"LL\", max_len = 19 }"),
            Err(SpecError::Toml(_))
        ));
    }
}
