//! Patching a function in place: code, closure, defaults, annotations, doc, dict, and
//! the functions made from code nested in it.

use ahash::AHashSet;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFunction, PyString, PyTuple};

use super::Canon;
use crate::bindings::attrs::{function_attribute, interned, optional};
use crate::bindings::heap;

/// Function attributes copied from the new version as they are (the closure, code and
/// `__dict__` are handled separately).
fn copied_attrs(py: Python<'_>) -> [&Bound<'_, PyString>; 5] {
    interned!(
        py,
        [
            "__defaults__",
            "__kwdefaults__",
            "__doc__",
            "__annotations__",
            "__type_params__",
        ]
    )
}

impl<'py> Canon<'py> {
    /// Gives `old` the code, closure, defaults, annotations, doc and dict of `new`.
    pub(crate) fn patch_function(
        &mut self,
        old: &Bound<'py, PyAny>,
        new: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        self.journal.save_function(old)?;
        self.patch_wrapped(old, new)?;
        self.adopt_function(new, &mut AHashSet::new())?;
        let (old_code, new_code) = (
            old.getattr(intern!(old.py(), "__code__"))?,
            new.getattr(intern!(new.py(), "__code__"))?,
        );
        self.update_nested_code(&old_code, &new_code)?;
        // The closure goes first: setting `__code__` checks that the number of free
        // variables matches the closure already in place.
        heap::set_closure(old, &new.getattr(intern!(new.py(), "__closure__"))?)?;
        old.setattr(intern!(old.py(), "__code__"), new_code)?;
        for attr in copied_attrs(new.py()) {
            if let Some(value) = function_attribute(new, attr) {
                old.setattr(attr, value)?;
            }
        }
        let dict = new
            .getattr(intern!(new.py(), "__dict__"))?
            .cast_into::<PyDict>()?;
        old.setattr(intern!(old.py(), "__dict__"), self.translate_dict(&dict)?)?;
        self.patched += 1;
        Ok(())
    }

    /// `functools.wraps` chains: the function a wrapper wraps is patched too, so that
    /// anything holding the old inner function (a registry, `__wrapped__`) sees the new
    /// body, and the new wrapper's closure is pointed at the old inner function.
    fn patch_wrapped(&mut self, old: &Bound<'py, PyAny>, new: &Bound<'py, PyAny>) -> PyResult<()> {
        let wrapped = |f: &Bound<'py, PyAny>| {
            optional(f, intern!(f.py(), "__dict__"))?
                .cast_into::<PyDict>()
                .ok()?
                .get_item(intern!(f.py(), "__wrapped__"))
                .ok()
                .flatten()
        };
        let (Some(old_inner), Some(new_inner)) = (wrapped(old), wrapped(new)) else {
            return Ok(());
        };
        if old_inner.is(&new_inner) || self.canonical(&new_inner).is_some() {
            return Ok(());
        }
        if self.pairs_as_callable(&old_inner, &new_inner)? {
            self.pair(&new_inner, &old_inner);
            self.patch_callable(&old_inner, &new_inner)?;
        }
        Ok(())
    }

    /// Schedules the functions made from code nested in `old` (closures a factory
    /// returned, a decorator's inner function) to get the matching code from `new`.
    /// Nested code is matched by name, in order; comprehensions are skipped since no
    /// function object outlives them.
    fn update_nested_code(
        &mut self,
        old: &Bound<'py, PyAny>,
        new: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        let new_nested = nested_code(new)?;
        for (name, old_code) in nested_code(old)? {
            let Some((_, new_code)) = new_nested.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            let new_code = new_code.clone();
            if !old_code.eq(&new_code)? {
                self.update_nested_code(&old_code, &new_code)?;
                self.heap.update_code(old_code, new_code);
            }
        }
        Ok(())
    }

    /// Points the closure cells of `function` (and of the functions it captured) that
    /// hold a new object at the canonical old one, so that `super()`'s `__class__` cell
    /// and decorators' captured functions refer to what the module now exposes.
    pub(super) fn adopt_function(
        &mut self,
        function: &Bound<'py, PyAny>,
        seen: &mut AHashSet<usize>,
    ) -> PyResult<()> {
        if !seen.insert(function.as_ptr() as usize) {
            return Ok(());
        }
        let closure = function.getattr(intern!(function.py(), "__closure__"))?;
        let Ok(cells) = closure.cast::<PyTuple>() else {
            return Ok(());
        };
        for cell in cells.iter() {
            let Ok(content) = cell.getattr(intern!(cell.py(), "cell_contents")) else {
                continue;
            };
            if let Some(old) = self.canonical(&content).cloned() {
                self.journal.save_cell(&cell);
                cell.setattr(intern!(cell.py(), "cell_contents"), old)?;
            } else if content.is_instance_of::<PyFunction>() {
                self.adopt_function(&content, seen)?;
            }
        }
        Ok(())
    }
}

/// The code objects in `code`'s constants that can become long-lived functions, with
/// their names: named functions only, and only names that occur once (lambdas, or two
/// `def`s of one name, cannot be told apart reliably, so they are left alone).
fn nested_code<'py>(code: &Bound<'py, PyAny>) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let code_type = code.get_type();
    let mut nested = Vec::new();
    for constant in code.getattr(intern!(code.py(), "co_consts"))?.try_iter()? {
        let constant = constant?;
        if !constant.get_type().is(&code_type) {
            continue;
        }
        let name: String = constant
            .getattr(intern!(constant.py(), "co_name"))?
            .extract()?;
        if !name.starts_with('<') {
            nested.push((name, constant));
        }
    }
    let unique = |name: &String| nested.iter().filter(|(n, _)| n == name).count() == 1;
    let keep: Vec<bool> = nested.iter().map(|(n, _)| unique(n)).collect();
    let mut flags = keep.into_iter();
    nested.retain(|_| flags.next().unwrap_or(false));
    Ok(nested)
}
