//! Running a Python callable on the main thread at its next safe point, from any
//! thread: `Py_AddPendingCall`. The interpreter runs pending calls between bytecodes of
//! the main thread, where it also runs signal handlers, so the callable never runs in
//! the middle of another piece of C code or concurrently with the main thread's code.

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::ffi;
use pyo3::prelude::*;

/// Schedules `callable()` on the main thread. Returns False when the interpreter's
/// queue of pending calls is full (the caller tries again later).
///
/// What the callable raises is raised in the main thread where it was interrupted, as
/// if raised by the code running there (its traceback starts there, without the
/// callable's frames); callers that must not disturb the program catch everything
/// themselves.
#[pyfunction]
pub fn call_on_main_thread(callable: Py<PyAny>) -> bool {
    let arg = callable.into_ptr().cast::<c_void>();
    // SAFETY: `arg` is an owned reference, taken back by `run_pending` (or just below
    // when the call could not be scheduled). The caller holds the GIL.
    let scheduled = unsafe { ffi::Py_AddPendingCall(Some(run_pending), arg) } == 0;
    if !scheduled {
        // SAFETY: the reference was not handed to the interpreter: drop it here.
        unsafe { ffi::Py_DECREF(arg.cast::<ffi::PyObject>()) };
    }
    scheduled
}

/// The pending call: runs on the main thread with the GIL held. Never unwinds.
extern "C" fn run_pending(arg: *mut c_void) -> c_int {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        Python::attach(|py| {
            // SAFETY: `arg` is the owned reference `call_on_main_thread` gave away.
            let callable = unsafe { Bound::from_owned_ptr(py, arg.cast::<ffi::PyObject>()) };
            match callable.call0() {
                Ok(_) => 0,
                Err(err) => {
                    raise_here(py, err);
                    -1
                }
            }
        })
    }));
    // A panic here is a bug of ours: it must not take the program down or raise in it.
    outcome.unwrap_or(0)
}

/// Sets `err` as the exception being raised, with no traceback of its own: the frames
/// it propagates through from here (the interrupted code's) make its traceback.
fn raise_here(py: Python<'_>, err: PyErr) {
    let value = err.into_value(py);
    let _ = value.bind(py).setattr("__traceback__", py.None());
    PyErr::from_value(value.into_bound(py).into_any()).restore(py);
}
