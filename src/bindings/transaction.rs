//! The guard every reload runs inside: all of it happens, or none of it.
//!
//! `begin` copies the module's namespace and pauses the cyclic GC (so the objects the run
//! creates stay in the youngest generation, where the patchers find them). The work then
//! goes through named steps; the patchers record what they change outside the namespace
//! in the `Canon`'s journal. `commit` keeps the result. Anything else (an error at any
//! step, a Ctrl-C, a panic unwinding, the guard simply dropped) puts the namespace and
//! every object the journal names back as they were, and the GC back as it was.

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};

use super::errors::{check_fault, InternalError};
use super::heap::{self, Young};
use super::patch::Canon;

/// Every step a reload goes through, in order (a reload uses those it needs). Tests can
/// make any of them fail (`_native._inject_fault`).
pub const STEPS: [&str; 10] = [
    "decode",
    "compile",
    "patch_bodies",
    "exec",
    "delete",
    "keep_submodules",
    "adopt",
    "shift_lines",
    "heap",
    "commit",
];

/// Steps whose errors are the user's: compiling and running their module's code.
const USER_STEPS: [&str; 3] = ["decode", "compile", "exec"];

pub struct Transaction<'py> {
    pub namespace: Bound<'py, PyDict>,
    /// The namespace as it was before the reload.
    pub before: Bound<'py, PyDict>,
    /// Which new objects stand for which old ones, and the journal of what was patched.
    pub canon: Canon<'py>,
    gc: GcPause<'py>,
    step: &'static str,
    finished: bool,
}

impl<'py> Transaction<'py> {
    pub fn begin(module: &Bound<'py, PyModule>) -> PyResult<Transaction<'py>> {
        let py = module.py();
        let namespace = module.dict();
        let before = namespace.copy()?;
        let name: String = module.name()?.extract()?;
        let mut canon = Canon::new(py, &name)?;
        let (objects, addresses) = heap::young_objects(py)?;
        canon.set_young_before(objects, addresses);
        Ok(Transaction {
            namespace,
            before,
            canon,
            gc: GcPause::start(py)?,
            step: "begin",
            finished: false,
        })
    }

    /// Enters step `name`. A test may have asked it to fail; a Ctrl-C pressed while the
    /// native code ran abandons the reload here, before anything else changes.
    pub fn step(&mut self, name: &'static str) -> PyResult<()> {
        self.step = name;
        check_fault(name)?;
        self.namespace.py().check_signals()
    }

    /// Whether `err`, raised in the current step, is the user's: their code failed to
    /// compile or raised, or they interrupted the reload.
    pub fn is_users(&self, err: &PyErr) -> bool {
        let py = self.namespace.py();
        if err.is_instance_of::<InternalError>(py) {
            return false;
        }
        USER_STEPS.contains(&self.step) || err.is_instance_of::<PyKeyboardInterrupt>(py)
    }

    /// Where the objects created by the run are now.
    pub fn young(&self) -> PyResult<Young> {
        Ok(Young {
            promoted: self.gc.collected()?,
        })
    }

    /// Keeps everything the reload did.
    pub fn commit(mut self) {
        self.finished = true;
    }

    /// Puts the namespace and every journaled object back as they were.
    pub fn rollback(&mut self) -> PyResult<()> {
        self.finished = true;
        let py = self.namespace.py();
        let journal = self.canon.journal.restore(py);
        self.namespace.clear();
        self.namespace.update(self.before.as_mapping())?;
        journal
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Nothing to report to here; the caller that dropped the guard is failing.
            let _ = self.rollback();
        }
    }
}

/// The cyclic GC, paused until the guard is dropped (then on again if it was on).
struct GcPause<'py> {
    gc: Bound<'py, PyModule>,
    was_enabled: bool,
    collections_before: u64,
}

impl<'py> GcPause<'py> {
    fn start(py: Python<'py>) -> PyResult<GcPause<'py>> {
        let gc = py.import("gc")?;
        let was_enabled: bool = gc
            .getattr(intern!(gc.py(), "isenabled"))?
            .call0()?
            .extract()?;
        let collections_before = collections(&gc)?;
        gc.getattr(intern!(gc.py(), "disable"))?.call0()?;
        Ok(GcPause {
            gc,
            was_enabled,
            collections_before,
        })
    }

    /// Whether a collection ran meanwhile (the module's code called `gc.collect()`), so
    /// that objects the run created may have left the youngest generation.
    fn collected(&self) -> PyResult<bool> {
        Ok(collections(&self.gc)? != self.collections_before)
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if self.was_enabled {
            let _ = self
                .gc
                .getattr(intern!(self.gc.py(), "enable"))
                .and_then(|enable| enable.call0());
        }
    }
}

fn collections(gc: &Bound<'_, PyModule>) -> PyResult<u64> {
    let mut total = 0;
    for generation in gc
        .getattr(intern!(gc.py(), "get_stats"))?
        .call0()?
        .try_iter()?
    {
        total += generation?.get_item("collections")?.extract::<u64>()?;
    }
    Ok(total)
}
