//! Our own error type, the boundary no panic crosses, and the test-only fault hook.
//!
//! Errors raised by the user's module code (a `SyntaxError`, anything its top level
//! raises, `SystemExit` and `KeyboardInterrupt` included) are the user's and travel as
//! they are. Everything else that goes wrong in here is a bug of ours: it becomes an
//! `InternalError`, so the Python side can tell the two apart and word them differently.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use pyo3::prelude::*;

pyo3::create_exception!(
    fastautoreload._native,
    InternalError,
    pyo3::exceptions::PyException,
    "A bug in fastautoreload itself (not in the module being reloaded)."
);

/// An `InternalError` with `message`.
pub fn internal(message: impl Into<String>) -> PyErr {
    InternalError::new_err(message.into())
}

/// `err` as an `InternalError` that keeps the original as its cause.
pub fn as_internal(py: Python<'_>, what: &str, err: PyErr) -> PyErr {
    if err.is_instance_of::<InternalError>(py) {
        return err;
    }
    let wrapped = internal(format!("{what}: {err}"));
    wrapped.set_cause(py, Some(err));
    wrapped
}

/// Runs `f`, turning a Rust panic into an `InternalError` instead of letting PyO3 raise
/// a `PanicException` (a `BaseException`) into the user's session.
pub fn boundary<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(internal(format!("panic in the native core: {message}")))
        }
    }
}

/// The transaction step that tests asked to fail, if any (see `inject_fault`).
static FAULT: Mutex<Option<String>> = Mutex::new(None);

/// Raises an `InternalError` if a test asked step `step` to fail.
pub fn check_fault(step: &str) -> PyResult<()> {
    let wanted = FAULT.lock().map(|f| f.as_deref() == Some(step));
    if wanted.unwrap_or(false) {
        return Err(internal(format!("fault injected at step '{step}'")));
    }
    Ok(())
}

/// Test-only: make the named transaction step raise an `InternalError` in every reload
/// from now on (`None` stops it). The steps are listed in `transaction::STEPS`.
#[pyfunction]
#[pyo3(signature = (step = None))]
pub fn _inject_fault(step: Option<String>) -> PyResult<()> {
    if let Some(step) = &step {
        if !super::transaction::STEPS.contains(&step.as_str()) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown step {step:?}; steps: {:?}",
                super::transaction::STEPS
            )));
        }
    }
    if let Ok(mut fault) = FAULT.lock() {
        *fault = step;
    }
    Ok(())
}

/// Test-only: hold (True) or release (False) the background threads that read baselines,
/// so tests can edit files before those threads reach them.
#[pyfunction]
pub fn _hold_baselines(hold: bool) {
    crate::baselines::hold(hold);
}
