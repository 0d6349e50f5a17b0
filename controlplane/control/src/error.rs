//! Why the control plane refused a change, mapped one-to-one onto HTTP.

use crate::sources::{ChangeLogError, MoneyError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ControlError {
    /// Malformed input (400).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A CSV import line that cannot be used (400).
    #[error("line {line}: {message}; fix the file and import it again (nothing was changed)")]
    ImportLine { line: usize, message: String },
    /// Unknown participant (404).
    #[error("participant {id:?} not found; list them with `clearctl participants list`")]
    UnknownParticipant { id: String },
    /// Unknown route (404).
    #[error("no route for prefix {prefix:?}; list them with `clearctl routes list`")]
    UnknownRoute { prefix: String },
    /// The change contradicts the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// Not journaled, so not applied (503).
    #[error(transparent)]
    Journal(#[from] ChangeLogError),
    /// The route state file could not be written (500).
    #[error(
        "cannot write the route table to {path}: {source}; check the disk, nothing was changed"
    )]
    StateFile {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Money(#[from] MoneyError),
}
