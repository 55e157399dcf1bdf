//! Finding instances of a class version and moving them to another, in one pass.
//!
//! Objects created while a module re-executes are found cheaply: the cyclic GC is
//! paused for the run, so they are all still in the youngest generation afterwards.
//! Instances of classes that had to be replaced can be anywhere, so moving those walks
//! the whole heap, once for all of them.

use ahash::AHashMap;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyType};

/// Where the objects created by a run can be found afterwards.
#[derive(Clone, Copy)]
pub struct Young {
    /// A collection ran during the run (the code called `gc.collect()`), so survivors
    /// may have been promoted: only the whole heap is sure to contain them.
    promoted: bool,
}

/// Runs `f` with the cyclic GC paused. The outer result is about the GC plumbing, the
/// inner one is `f`'s.
pub fn with_young_objects(
    py: Python<'_>,
    f: impl FnOnce() -> PyResult<()>,
) -> PyResult<PyResult<Young>> {
    let gc = py.import("gc")?;
    let was_enabled: bool = gc.getattr("isenabled")?.call0()?.extract()?;
    let before = collections(&gc)?;
    gc.getattr("disable")?.call0()?;
    let result = f();
    if was_enabled {
        gc.getattr("enable")?.call0()?;
    }
    let promoted = collections(&gc)? != before;
    Ok(result.map(|()| Young { promoted }))
}

fn collections(gc: &Bound<'_, PyModule>) -> PyResult<u64> {
    let mut total = 0;
    for generation in gc.getattr("get_stats")?.call0()?.try_iter()? {
        total += generation?.get_item("collections")?.extract::<u64>()?;
    }
    Ok(total)
}

/// Moves instances from one class to another: `(from, to)` pairs.
pub struct Moves<'py> {
    pairs: Vec<(Bound<'py, PyType>, Bound<'py, PyType>)>,
    /// The pairs whose `from` instances may be anywhere (replaced classes), not only
    /// among the young objects.
    anywhere: bool,
}

impl<'py> Moves<'py> {
    pub fn new() -> Moves<'py> {
        Moves {
            pairs: Vec::new(),
            anywhere: false,
        }
    }

    /// Instances of a class created by the run move to the class that stays canonical.
    pub fn young(&mut self, from: Bound<'py, PyType>, to: Bound<'py, PyType>) {
        self.pairs.push((from, to));
    }

    /// Instances of a replaced class (which may be old) move to its replacement.
    pub fn anywhere(&mut self, from: Bound<'py, PyType>, to: Bound<'py, PyType>) {
        self.pairs.push((from, to));
        self.anywhere = true;
    }

    /// Does every move in one pass over the objects that can hold them; returns one
    /// warning per class whose instances could not all be moved.
    pub fn apply(self, py: Python<'py>, young: Young) -> PyResult<Vec<String>> {
        if self.pairs.is_empty() {
            return Ok(Vec::new());
        }
        let objects = candidates(py, young.promoted || self.anywhere)?;
        let targets: AHashMap<usize, usize> = self
            .pairs
            .iter()
            .enumerate()
            .map(|(i, (from, _))| (from.as_ptr() as usize, i))
            .collect();
        let mut failures: AHashMap<usize, String> = AHashMap::new();
        let class_attr = pyo3::intern!(py, "__class__");
        for object in objects.iter() {
            // SAFETY: `object` is a live reference; reading its type pointer is always valid.
            let type_ptr = unsafe { ffi::Py_TYPE(object.as_ptr()) } as usize;
            let Some(&i) = targets.get(&type_ptr) else {
                continue;
            };
            let to = &self.pairs[i].1;
            // SAFETY: all three pointers are live for the duration of the call.
            let status = unsafe {
                ffi::PyObject_GenericSetAttr(object.as_ptr(), class_attr.as_ptr(), to.as_ptr())
            };
            if status != 0 {
                let err = PyErr::fetch(py);
                failures.entry(i).or_insert_with(|| err.to_string());
            }
        }
        let mut warnings = Vec::new();
        for (i, err) in failures {
            let name = self.pairs[i]
                .0
                .qualname()
                .map(|q| q.to_string())
                .unwrap_or_default();
            warnings.push(format!(
                "existing instances of {name} keep the old class ({err})"
            ));
        }
        Ok(warnings)
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
