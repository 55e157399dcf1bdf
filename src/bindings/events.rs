//! What a check did, as plain data: the Python side turns these into the words users
//! read (`fastautoreload/messages.py`); nothing here is meant to be shown as it is.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// Something the patcher could not carry over, as `(kind, subject, detail)`:
/// - `replaced`: class `subject` was replaced, not patched; `detail` says why
///   (`metaclass`, `slots`, `layout`, or `bases: <error>`);
/// - `instances_kept`: instances of class `subject` keep the old class; `detail` is the error;
/// - `instances_moved`: `detail` instances of class `subject` moved to its replacement;
/// - `code_kept`: function `subject` (a closure made before) keeps its old code;
/// - `not_updated`: `subject` (an object or `Class.member`) could not be updated.
#[derive(Debug, Clone)]
pub struct Warning {
    pub kind: &'static str,
    pub subject: String,
    pub detail: String,
}

impl Warning {
    pub fn new(kind: &'static str, subject: String, detail: String) -> Warning {
        Warning {
            kind,
            subject,
            detail,
        }
    }

    fn as_tuple(&self) -> (String, String, String) {
        (
            self.kind.to_owned(),
            self.subject.clone(),
            self.detail.clone(),
        )
    }
}

/// What ran for one reload.
#[derive(Debug, Clone, Default)]
pub struct Ran {
    /// The whole module ran (then the counts below are zero).
    pub whole: bool,
    /// Why the whole module ran when a plan was possible, for `--stats` and debugging.
    pub whole_reason: Option<String>,
    pub statements: usize,
    pub functions: usize,
    pub removed: usize,
}

/// One thing that happened during a check.
#[pyclass(module = "fastautoreload._native", frozen, get_all)]
pub struct Event {
    /// `reloaded`, `failed` or `note`.
    pub kind: &'static str,
    pub module: String,
    pub path: String,
    /// Reloaded: the whole module ran (else only the statements and bodies counted).
    pub whole: bool,
    pub whole_reason: Option<String>,
    pub statements: usize,
    pub functions: usize,
    pub removed: usize,
    /// Reloaded only because it imports values that changed in this module.
    pub because_of: Option<String>,
    /// Names whose value is new or different after the reload (not a patched object).
    pub rebound: Vec<String>,
    /// For the rebound names that existed before: their value before the reload.
    pub previous: Option<Py<PyDict>>,
    /// `(kind, subject, detail)` triples, see `Warning`.
    pub warnings: Vec<(String, String, String)>,
    /// Failed: the exception (with its traceback).
    pub error: Option<Py<PyAny>>,
    /// Failed because of a bug of ours (an `InternalError`), not the module's code.
    pub internal: bool,
    /// How long the reload took, in milliseconds.
    pub ms: f64,
    /// A note: how changes are detected (a fallback to polling and why).
    pub note: Option<String>,
    /// Reloaded: the exact bytes the module was compiled from (for hosts that send them
    /// on, such as the workers of a cluster).
    pub source: Option<Py<PyBytes>>,
}

#[pymethods]
impl Event {
    fn __repr__(&self) -> String {
        format!("<Event {} {}>", self.kind, self.module)
    }
}

/// The facts about one module an event is about.
pub struct Subject {
    pub module: String,
    pub path: String,
    pub because_of: Option<String>,
}

impl Event {
    fn blank(kind: &'static str, subject: Subject) -> Event {
        Event {
            kind,
            module: subject.module,
            path: subject.path,
            whole: false,
            whole_reason: None,
            statements: 0,
            functions: 0,
            removed: 0,
            because_of: subject.because_of,
            rebound: Vec::new(),
            previous: None,
            warnings: Vec::new(),
            error: None,
            internal: false,
            ms: 0.0,
            note: None,
            source: None,
        }
    }

    /// The same event, with the bytes its module was compiled from.
    pub fn with_source(self, py: Python<'_>, source: &[u8]) -> Event {
        Event {
            source: Some(PyBytes::new(py, source).unbind()),
            ..self
        }
    }

    pub fn reloaded(
        subject: Subject,
        ran: Ran,
        rebound: Vec<String>,
        previous: Py<PyDict>,
        warnings: &[Warning],
        ms: f64,
    ) -> Event {
        Event {
            whole: ran.whole,
            whole_reason: ran.whole_reason,
            statements: ran.statements,
            functions: ran.functions,
            removed: ran.removed,
            rebound,
            previous: Some(previous),
            warnings: warnings.iter().map(Warning::as_tuple).collect(),
            ms,
            ..Event::blank("reloaded", subject)
        }
    }

    pub fn failed(py: Python<'_>, subject: Subject, error: PyErr, internal: bool) -> Event {
        Event {
            error: Some(error.into_value(py).into_any()),
            internal,
            ..Event::blank("failed", subject)
        }
    }

    pub fn note(note: String) -> Event {
        let subject = Subject {
            module: String::new(),
            path: String::new(),
            because_of: None,
        };
        Event {
            note: Some(note),
            ..Event::blank("note", subject)
        }
    }
}
