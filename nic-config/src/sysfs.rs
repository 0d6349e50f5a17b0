//! Reading (and, for binding, writing) `/proc`, `/sys` and `/dev` under a root directory.
//!
//! Production passes `/`; tests build a fake tree in a temporary directory and pass that, so every
//! host fact goes through [`Root`] and nothing in this crate opens an absolute path directly.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A filesystem root under which `/proc`, `/sys` and `/dev` are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root(PathBuf);

impl Root {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Root(path.into())
    }

    /// The root as given (`/` in production).
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// True when this is the real host, where running commands such as `ip` is meaningful.
    pub fn is_host(&self) -> bool {
        self.0 == Path::new("/")
    }

    /// `abs` (written as an absolute host path) re-anchored under this root.
    pub fn join(&self, abs: &str) -> PathBuf {
        self.0.join(abs.trim_start_matches('/'))
    }

    /// The file's contents, trimmed; `None` when it does not exist or cannot be read, which for
    /// sysfs simply means "this kernel or device does not expose that fact".
    pub fn read(&self, abs: &str) -> Option<String> {
        std::fs::read_to_string(self.join(abs))
            .ok()
            .map(|s| s.trim().to_owned())
    }

    pub fn exists(&self, abs: &str) -> bool {
        self.join(abs).exists()
    }

    /// Names of the entries of a directory, sorted; empty when it is missing.
    pub fn list(&self, abs: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.join(abs)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The last path component a symlink points to (`.../drivers/vfio-pci` → `vfio-pci`).
    pub fn link_name(&self, abs: &str) -> Option<String> {
        let target = std::fs::read_link(self.join(abs)).ok()?;
        target.file_name().map(|n| n.to_string_lossy().into_owned())
    }

    /// Writes `value` to an existing sysfs attribute. Sysfs attributes always exist before they
    /// are written, so a missing file is reported rather than silently created in a fake tree.
    pub fn write(&self, abs: &str, value: &str) -> io::Result<()> {
        let path = self.join(abs);
        if !path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} does not exist", path.display()),
            ));
        }
        // Sysfs takes one write per attribute; a short write_all is a single write(2).
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)?;
        file.write_all(value.as_bytes())
    }
}

/// Parses the kernel's CPU list format (`0-3,8,10-11`); `None` on anything malformed.
pub fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let text = text.trim();
    let mut cpus = Vec::new();
    if text.is_empty() {
        return Some(cpus);
    }
    for part in text.split(',') {
        let part = part.trim();
        // `nohz_full=1-7:2`-style strides are not used by sysfs; reject rather than guess.
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if b < a || b - a > 65_536 {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

/// Formats CPUs in the kernel's list format, collapsing runs: `[0,1,2,5]` → `0-2,5`.
pub fn format_cpu_list(cpus: &[u32]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_round_trip() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11\n"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list(""), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("a"), None);
        assert_eq!(format_cpu_list(&[5, 0, 1, 2, 8, 9]), "0-2,5,8-9");
        assert_eq!(format_cpu_list(&[]), "");
    }

    #[test]
    fn paths_are_anchored_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path());
        std::fs::create_dir_all(dir.path().join("sys/x")).unwrap();
        std::fs::write(dir.path().join("sys/x/attr"), "42\n").unwrap();
        assert_eq!(root.read("/sys/x/attr").as_deref(), Some("42"));
        assert_eq!(root.read("/sys/x/missing"), None);
        assert_eq!(root.list("/sys/x"), vec!["attr".to_string()]);
        root.write("/sys/x/attr", "7").unwrap();
        assert_eq!(root.read("/sys/x/attr").as_deref(), Some("7"));
        assert!(
            root.write("/sys/x/new", "1").is_err(),
            "sysfs attributes are never created"
        );
        assert!(!root.is_host());
    }
}
