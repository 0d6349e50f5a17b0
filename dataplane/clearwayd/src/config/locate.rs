//! Where a key of clearway.toml is written: a path of keys and array
//! indices mapped to a line number, from the spans `toml_edit` keeps while
//! parsing. The checks say *what* is wrong at which path; this module says
//! *where* the operator wrote it, so every error names its line.

use std::fmt;
use std::ops::Range;

use toml_edit::{ImDocument, Item, Value};

/// One step into the document: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Key(&'static str),
    Index(usize),
}

/// A path into the document, such as `participants[2].sources`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Step>);

impl KeyPath {
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// This path one key deeper.
    pub fn key(&self, key: &'static str) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key));
        KeyPath(steps)
    }

    /// This path one array element deeper.
    pub fn index(&self, index: usize) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Index(index));
        KeyPath(steps)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) if i == 0 => write!(f, "{k}")?,
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Line numbers (1-based) of paths in one configuration text.
pub struct Locator<'t> {
    text: &'t str,
    doc: Option<ImDocument<&'t str>>,
}

impl<'t> Locator<'t> {
    /// A text that does not parse locates nothing (its syntax error has
    /// its own position).
    pub fn new(text: &'t str) -> Self {
        Locator {
            text,
            doc: ImDocument::parse(text).ok(),
        }
    }

    /// The line where `path` is written, or where the nearest enclosing
    /// table or array is when `path` itself is not in the text (a default
    /// value, a missing key). `None` only for the document root.
    pub fn line(&self, path: &KeyPath) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let span = deepest_span(doc.as_item(), &path.0)?;
        Some(line_of(self.text, span.start))
    }
}

/// 1-based line of a byte offset (offsets past the end count as the last line).
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Walks `steps` as far as the document goes and returns the span of the
/// deepest element that has one. A key's own span wins over its value's so
/// that `sources = [` (and not the line of the first element) is named.
fn deepest_span(root: &Item, steps: &[Step]) -> Option<Range<usize>> {
    let mut best = None;
    let mut node = Node::Item(root);
    for step in steps {
        let next = match (node, *step) {
            (Node::Item(item), Step::Key(k)) => match item {
                Item::Table(t) => t
                    .get_key_value(k)
                    .map(|(key, it)| (key.span(), Node::Item(it))),
                Item::Value(Value::InlineTable(t)) => t
                    .get_key_value(k)
                    .map(|(key, it)| (key.span(), Node::Item(it))),
                _ => None,
            },
            (Node::Item(item), Step::Index(n)) => match item {
                Item::ArrayOfTables(a) => a.get(n).map(|t| (t.span(), Node::Table(t))),
                Item::Value(Value::Array(a)) => a.get(n).map(|v| (v.span(), Node::Value(v))),
                _ => None,
            },
            (Node::Table(t), Step::Key(k)) => t
                .get_key_value(k)
                .map(|(key, it)| (key.span(), Node::Item(it))),
            (Node::Value(v), Step::Key(k)) => match v {
                Value::InlineTable(t) => t
                    .get_key_value(k)
                    .map(|(key, it)| (key.span(), Node::Item(it))),
                _ => None,
            },
            (Node::Value(v), Step::Index(n)) => match v {
                Value::Array(a) => a.get(n).map(|v| (v.span(), Node::Value(v))),
                _ => None,
            },
            (Node::Table(_), Step::Index(_)) => None,
        };
        let Some((span, child)) = next else { break };
        let own = match child {
            Node::Item(it) => it.span(),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        };
        if let Some(s) = span.or(own) {
            best = Some(s);
        }
        node = child;
    }
    best
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a toml_edit::Table),
    Value(&'a Value),
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
[dataplane.eal]
worker_lcores = [1, 2]

[[dataplane.ports]]
name = \"a\"

[[dataplane.ports]]
name = \"b\"
device = \"net_null1\"

[[routes]]
prefix = \"47\"
participant = \"x\"

[forward]
pairs = [
  [\"a\", \"b\"],
  [\"b\", \"a\"],
]
inline = { deep = 1 }
";

    fn line(path: KeyPath) -> Option<usize> {
        Locator::new(TEXT).line(&path)
    }

    #[test]
    fn keys_in_tables_and_arrays_of_tables_have_their_own_line() {
        let ports = KeyPath::root().key("dataplane").key("ports");
        assert_eq!(line(ports.index(1).key("device")), Some(9));
        assert_eq!(line(ports.index(1).key("name")), Some(8));
        assert_eq!(
            line(
                KeyPath::root()
                    .key("dataplane")
                    .key("eal")
                    .key("worker_lcores")
            ),
            Some(2)
        );
        assert_eq!(
            line(KeyPath::root().key("routes").index(0).key("participant")),
            Some(13)
        );
    }

    #[test]
    fn array_elements_and_inline_tables_are_located() {
        let pairs = KeyPath::root().key("forward").key("pairs");
        assert_eq!(line(pairs.clone()), Some(16));
        assert_eq!(line(pairs.index(1)), Some(18));
        assert_eq!(
            line(KeyPath::root().key("forward").key("inline").key("deep")),
            Some(20)
        );
    }

    #[test]
    fn a_missing_key_falls_back_to_its_table() {
        let port0 = KeyPath::root().key("dataplane").key("ports").index(0);
        assert_eq!(line(port0.key("device")), Some(4));
        assert_eq!(line(KeyPath::root()), None);
    }

    #[test]
    fn the_path_reads_like_the_toml() {
        let p = KeyPath::root().key("participants").index(2).key("sources");
        assert_eq!(p.to_string(), "participants[2].sources");
    }
}
