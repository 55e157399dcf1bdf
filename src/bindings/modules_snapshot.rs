//! Telling cheaply whether `sys.modules` changed since the last look.

use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The keys and values `sys.modules` held, in order. Holding them keeps the objects
/// alive, so an address seen again is the same object, never a new one at an old
/// address; the snapshot is replaced at the next sync that sees a difference.
#[derive(Default)]
pub struct ModulesSnapshot {
    items: Vec<(Py<PyAny>, Py<PyAny>)>,
    /// The dict last found to hold `items` (kept alive, so its address stays its own),
    /// and its version tag then.
    seen: Option<(Py<PyAny>, u64)>,
}

impl ModulesSnapshot {
    /// Records what `items` holds, a copy of `modules` taken after `tag` was read from
    /// it (see `tag`).
    pub fn take(
        items: &Bound<'_, PyDict>,
        modules: &Bound<'_, PyDict>,
        tag: Option<u64>,
    ) -> ModulesSnapshot {
        let items = items
            .iter()
            .map(|(k, v)| (k.unbind(), v.unbind()))
            .collect();
        let mut snapshot = ModulesSnapshot { items, seen: None };
        snapshot.remember(modules, tag);
        snapshot
    }

    /// `modules`' version tag, to read before copying it: a change made after the read
    /// moves the tag, so the copy is never taken for a later state than it saw.
    pub fn tag(modules: &Bound<'_, PyDict>) -> Option<u64> {
        version_tag(modules)
    }

    /// Whether `modules` holds exactly the recorded keys and values, in order. Where the
    /// interpreter versions its dicts, an unmodified dict costs one comparison; otherwise
    /// (or after a change that left the same items) a walk of pointer comparisons, with
    /// no allocation or reference counting.
    pub fn unchanged(&mut self, modules: &Bound<'_, PyDict>) -> bool {
        let tag = version_tag(modules);
        if let (Some((dict, seen)), Some(tag)) = (&self.seen, tag) {
            if dict.as_ptr() == modules.as_ptr() && *seen == tag {
                return true;
            }
        }
        if !self.same_items(modules) {
            return false;
        }
        self.remember(modules, tag);
        true
    }

    fn remember(&mut self, modules: &Bound<'_, PyDict>, tag: Option<u64>) {
        self.seen = tag.map(|tag| (modules.clone().into_any().unbind(), tag));
    }

    fn same_items(&self, modules: &Bound<'_, PyDict>) -> bool {
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

/// The head of CPython's dict object up to 3.13: `ma_version_tag` (PEP 509) takes a new,
/// never reused value at every change of any dict, so an equal tag on the same dict
/// means nothing was added, removed or replaced.
#[repr(C)]
struct DictHead {
    ob_base: ffi::PyObject,
    ma_used: ffi::Py_ssize_t,
    ma_version_tag: u64,
}

/// `dict`'s version tag, on the interpreters that keep one (CPython 3.14 reuses the
/// field for something else: there, and for dict subclasses, None).
fn version_tag(dict: &Bound<'_, PyDict>) -> Option<u64> {
    static VERSIONED: OnceLock<bool> = OnceLock::new();
    let versioned = *VERSIONED.get_or_init(|| dict.py().version_info() < (3, 14));
    if !versioned || !dict.is_exact_instance_of::<PyDict>() {
        return None;
    }
    // SAFETY: an exact dict of CPython <= 3.13 starts with `DictHead`'s fields.
    Some(unsafe { (*dict.as_ptr().cast::<DictHead>()).ma_version_tag })
}
