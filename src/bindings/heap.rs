//! One pass over the objects that can hold stale versions, fixing all of them.
//!
//! Two kinds of repair need to find objects nothing points to by name:
//! - instances whose class was replaced (or that were created, during re-execution, as
//!   instances of a class version that is then discarded) move to the canonical class;
//! - function objects made from an old nested code object (closures returned by a
//!   factory, a decorator's inner function) get the new code.
//!
//! Objects created while a module re-executes are found cheaply: the cyclic GC is paused
//! for the run, so they are all still in the youngest generation afterwards. Anything
//! else can be anywhere, so those repairs walk the whole heap, once for all of them.

use ahash::{AHashMap, AHashSet};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyFunction, PyList, PyTuple, PyType};

use super::events::Warning;
use super::journal::Journal;

/// Where the objects created by a run can be found afterwards.
#[derive(Clone, Copy)]
pub struct Young {
    /// A collection ran during the run (the code called `gc.collect()`), so survivors
    /// may have been promoted: only the whole heap is sure to contain them.
    pub promoted: bool,
}

/// The objects in the youngest GC generation now, and their addresses: taken before a
/// run, they tell apart what the run created from what was merely young already. The
/// list keeps them alive, so no object the run creates can take one of these addresses.
pub fn young_objects(py: Python<'_>) -> PyResult<(Bound<'_, PyAny>, AHashSet<usize>)> {
    let objects = py.import("gc")?.getattr("get_objects")?.call1((0,))?;
    let addresses = objects
        .try_iter()?
        .filter_map(|o| o.ok().map(|o| o.as_ptr() as usize))
        .collect();
    Ok((objects, addresses))
}

/// The repairs one reload needs, applied together by `run`.
pub struct HeapPass<'py> {
    class_moves: Vec<(Bound<'py, PyType>, Bound<'py, PyType>)>,
    code_updates: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    /// Some repair may concern an object that is not young.
    whole_heap: bool,
}

impl<'py> HeapPass<'py> {
    pub fn new() -> HeapPass<'py> {
        HeapPass {
            class_moves: Vec::new(),
            code_updates: Vec::new(),
            whole_heap: false,
        }
    }

    /// Instances of a class created by the run move to the class that stays canonical.
    pub fn move_young_instances(&mut self, from: Bound<'py, PyType>, to: Bound<'py, PyType>) {
        self.class_moves.push((from, to));
    }

    /// Instances of a replaced class (which may be old) move to its replacement.
    pub fn move_all_instances(&mut self, from: Bound<'py, PyType>, to: Bound<'py, PyType>) {
        self.class_moves.push((from, to));
        self.whole_heap = true;
    }

    /// Every function running code object `old` is given code object `new`.
    pub fn update_code(&mut self, old: Bound<'py, PyAny>, new: Bound<'py, PyAny>) {
        self.code_updates.push((old, new));
        self.whole_heap = true;
    }

    /// Does every repair in one pass; returns one warning per class whose instances
    /// could not all be moved and per code object that could not be swapped.
    pub fn run(
        &mut self,
        py: Python<'py>,
        young: Young,
        journal: &mut Journal<'py>,
    ) -> PyResult<Vec<Warning>> {
        if self.class_moves.is_empty() && self.code_updates.is_empty() {
            return Ok(Vec::new());
        }
        let objects = candidates(py, young.promoted || self.whole_heap)?;
        let classes = index_by_address(self.class_moves.iter().map(|(from, _)| from.as_any()));
        let codes = index_by_address(self.code_updates.iter().map(|(old, _)| old));
        // One warning per class and per function, however many objects failed.
        let mut failures: AHashMap<(&'static str, String), String> = AHashMap::new();
        // How many instances of each class did move: the message about a replaced class
        // says what happened to its instances, and only what did.
        let mut moved: AHashMap<String, usize> = AHashMap::new();
        for object in objects.iter() {
            if let Some(&i) = classes.get(&type_address(&object)) {
                journal.save_instance_class(&object);
                let name = qualname(self.class_moves[i].0.as_any());
                if let Err(err) = set_class(&object, &self.class_moves[i].1) {
                    failures
                        .entry(("instances_kept", name))
                        .or_insert_with(|| err.to_string());
                } else {
                    *moved.entry(name).or_default() += 1;
                }
            } else if !codes.is_empty() && object.is_instance_of::<PyFunction>() {
                let code = object.getattr(pyo3::intern!(py, "__code__"))?;
                if let Some(&i) = codes.get(&(code.as_ptr() as usize)) {
                    journal.save_function(&object)?;
                    if let Err(err) = set_code(py, &object, &self.code_updates[i].1) {
                        failures
                            .entry(("code_kept", qualname(&object)))
                            .or_insert_with(|| err.to_string());
                    }
                }
            }
        }
        let mut warnings: Vec<Warning> = failures
            .into_iter()
            .map(|((kind, subject), detail)| Warning::new(kind, subject, detail))
            .chain(
                moved
                    .into_iter()
                    .map(|(name, n)| Warning::new("instances_moved", name, n.to_string())),
            )
            .collect();
        warnings.sort_by(|a, b| a.subject.cmp(&b.subject));
        Ok(warnings)
    }
}

/// An object's `__qualname__`, or an empty string.
pub fn qualname(object: &Bound<'_, PyAny>) -> String {
    object
        .getattr("__qualname__")
        .map(|q| q.to_string())
        .unwrap_or_default()
}

fn index_by_address<'a, 'py: 'a>(
    items: impl Iterator<Item = &'a Bound<'py, PyAny>>,
) -> AHashMap<usize, usize> {
    items
        .enumerate()
        .map(|(i, item)| (item.as_ptr() as usize, i))
        .collect()
}

fn type_address(object: &Bound<'_, PyAny>) -> usize {
    // SAFETY: `object` is a live reference; reading its type pointer is always valid.
    unsafe { ffi::Py_TYPE(object.as_ptr()) as usize }
}

/// `object.__setattr__(obj, "__class__", to)`: bypasses a class's own `__setattr__`
/// (frozen dataclasses refuse every assignment through it).
pub fn set_class(object: &Bound<'_, PyAny>, to: &Bound<'_, PyType>) -> PyResult<()> {
    let py = object.py();
    let name = pyo3::intern!(py, "__class__");
    // SAFETY: all three pointers are live for the duration of the call.
    let status =
        unsafe { ffi::PyObject_GenericSetAttr(object.as_ptr(), name.as_ptr(), to.as_ptr()) };
    if status == 0 {
        Ok(())
    } else {
        Err(PyErr::fetch(py))
    }
}

/// Gives a function new code; when the free variables differ, its closure is rebuilt
/// with the cells matched by name (new names get empty cells).
pub fn set_code(
    py: Python<'_>,
    function: &Bound<'_, PyAny>,
    code: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let old_names = function
        .getattr(intern!(function.py(), "__code__"))?
        .getattr("co_freevars")?;
    let new_names = code.getattr(intern!(code.py(), "co_freevars"))?;
    // A closure made before the edit has no value for a variable the new code captures:
    // it keeps its old code rather than fail when called.
    for name in new_names.try_iter()? {
        if !old_names.contains(name?)? {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "the new code captures a variable this closure does not have",
            ));
        }
    }
    if !old_names.eq(&new_names)? {
        let closure = closure_by_name(
            py,
            function,
            &old_names.cast_into()?,
            &new_names.cast_into()?,
        )?;
        set_closure(function, &closure)?;
    }
    function.setattr(intern!(function.py(), "__code__"), code)
}

fn closure_by_name<'py>(
    py: Python<'py>,
    function: &Bound<'py, PyAny>,
    old_names: &Bound<'py, PyTuple>,
    new_names: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    if new_names.is_empty() {
        return Ok(py.None().into_bound(py));
    }
    let closure = function.getattr(intern!(function.py(), "__closure__"))?;
    let cell_type = py.import("types")?.getattr("CellType")?;
    let mut cells = Vec::with_capacity(new_names.len());
    for name in new_names.iter() {
        let position = old_names
            .iter()
            .position(|old| old.eq(&name).unwrap_or(false));
        cells.push(match position {
            Some(i) => closure.get_item(i)?,
            None => cell_type.call0()?,
        });
    }
    Ok(PyTuple::new(py, cells)?.into_any())
}

/// Sets a function's closure through the C API (Python code cannot).
pub fn set_closure(function: &Bound<'_, PyAny>, closure: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: `function` is a function object; `closure` is None or a tuple of cells.
    if unsafe { ffi::PyFunction_SetClosure(function.as_ptr(), closure.as_ptr()) } == 0 {
        Ok(())
    } else {
        Err(PyErr::fetch(function.py()))
    }
}

fn candidates(py: Python<'_>, whole_heap: bool) -> PyResult<Bound<'_, PyList>> {
    let get_objects = py.import("gc")?.getattr("get_objects")?;
    let objects = if whole_heap {
        get_objects.call0()?
    } else {
        get_objects.call1((0,))?
    };
    Ok(objects.cast_into::<PyList>()?)
}
