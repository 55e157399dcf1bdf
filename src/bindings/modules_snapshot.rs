//! Telling cheaply whether `sys.modules` changed since the last look.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The keys and values `sys.modules` held, in order. Holding them keeps the objects
/// alive, so an address seen again is the same object, never a new one at an old
/// address; the snapshot is replaced at the next sync that sees a difference.
#[derive(Default)]
pub struct ModulesSnapshot {
    items: Vec<(Py<PyAny>, Py<PyAny>)>,
}

impl ModulesSnapshot {
    /// Records what `modules` holds now.
    pub fn take(modules: &Bound<'_, PyDict>) -> ModulesSnapshot {
        let items = modules
            .iter()
            .map(|(k, v)| (k.unbind(), v.unbind()))
            .collect();
        ModulesSnapshot { items }
    }

    /// Whether `modules` holds exactly the recorded keys and values, in order: a walk
    /// of pointer comparisons, with no allocation or reference counting.
    pub fn unchanged(&self, modules: &Bound<'_, PyDict>) -> bool {
        if modules.len() != self.items.len() {
            return false;
        }
        let mut position: ffi::Py_ssize_t = 0;
        let mut key: *mut ffi::PyObject = std::ptr::null_mut();
        let mut value: *mut ffi::PyObject = std::ptr::null_mut();
        for (old_key, old_value) in &self.items {
            // SAFETY: `modules` is a live dict; PyDict_Next hands out borrowed
            // references that are only compared, never stored.
            let more =
                unsafe { ffi::PyDict_Next(modules.as_ptr(), &mut position, &mut key, &mut value) };
            if more == 0 || key != old_key.as_ptr() || value != old_value.as_ptr() {
                return false;
            }
        }
        true
    }
}
