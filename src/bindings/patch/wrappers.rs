//! Callables other than plain functions that a module binds at top level or in a class:
//! `lru_cache`/`cache` wrappers and other objects with `__wrapped__`, and
//! `functools.partial`. They keep their identity like functions do.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFunction, PyTuple};

use super::Canon;

impl<'py> Canon<'py> {
    /// Whether `old` can be patched in place from `new`: two versions of one function,
    /// two wrappers of the same kind around versions of one function, or two partials.
    pub(super) fn pairs_as_callable(
        &mut self,
        old: &Bound<'py, PyAny>,
        new: &Bound<'py, PyAny>,
    ) -> PyResult<bool> {
        if self.claimed_by_another(old, new) {
            return Ok(false);
        }
        if old.is_instance_of::<PyFunction>() || new.is_instance_of::<PyFunction>() {
            return self.same_definition(old, new);
        }
        if !old.get_type().is(new.get_type()) {
            return Ok(false);
        }
        if old.get_type().is(&self.kinds.partial) {
            // A partial has no module of its own: it is a new version only if this run
            // made it (not one imported from elsewhere) around a version of the same
            // function.
            let (old_func, new_func) = (
                old.getattr(intern!(old.py(), "func"))?,
                new.getattr(intern!(new.py(), "func"))?,
            );
            let same_func = self.translate(&new_func).is(&old_func)
                || self.pairs_as_callable(&old_func, &new_func)?;
            return Ok(same_func && self.created_by_run(new)?);
        }
        match (
            old.getattr(intern!(old.py(), "__wrapped__")),
            new.getattr(intern!(new.py(), "__wrapped__")),
        ) {
            (Ok(old_inner), Ok(new_inner)) => Ok(
                self.same_origin(old, new)? && self.pairs_as_callable(&old_inner, &new_inner)?
            ),
            _ => Ok(false),
        }
    }

    /// Patches a pair accepted by `pairs_as_callable`.
    pub(super) fn patch_callable(
        &mut self,
        old: &Bound<'py, PyAny>,
        new: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        if old.is_instance_of::<PyFunction>() {
            return self.patch_function(old, new);
        }
        if old.get_type().is(&self.kinds.partial) {
            return self.patch_partial(old, new);
        }
        self.patch_wrapper(old, new)
    }

    /// A wrapper object keeps its identity; the function it wraps is patched, its cache
    /// (if any) is cleared once the reload commits, since it holds the old code's results.
    fn patch_wrapper(&mut self, old: &Bound<'py, PyAny>, new: &Bound<'py, PyAny>) -> PyResult<()> {
        let (old_inner, new_inner) = (
            old.getattr(intern!(old.py(), "__wrapped__"))?,
            new.getattr(intern!(new.py(), "__wrapped__"))?,
        );
        if !old_inner.is(&new_inner) && !self.claimed_by_another(&old_inner, &new_inner) {
            self.pair(&new_inner, &old_inner);
            self.patch_callable(&old_inner, &new_inner)?;
        }
        if let Ok(dict) = new.getattr(intern!(new.py(), "__dict__")) {
            self.journal.save_attr(old, "__dict__")?;
            old.setattr(
                "__dict__",
                self.translate_dict(&dict.cast_into::<PyDict>()?)?,
            )?;
        }
        if old.hasattr(intern!(old.py(), "cache_clear"))? {
            self.stale_caches.push(old.clone());
        }
        self.patched += 1;
        Ok(())
    }

    /// A partial keeps its identity and takes the new function, arguments and keywords.
    fn patch_partial(&mut self, old: &Bound<'py, PyAny>, new: &Bound<'py, PyAny>) -> PyResult<()> {
        let state = PyTuple::new(
            self.py,
            [
                self.translate(&new.getattr(intern!(new.py(), "func"))?),
                new.getattr(intern!(new.py(), "args"))?,
                new.getattr(intern!(new.py(), "keywords"))?,
                new.getattr(intern!(new.py(), "__dict__"))?,
            ],
        )?;
        self.journal.save_state(old)?;
        old.call_method1("__setstate__", (state,))?;
        self.patched += 1;
        Ok(())
    }
}
