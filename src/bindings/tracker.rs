//! `Tracker`: the module table as Python sees it, fed from `sys.modules`.

use ahash::{AHashMap, AHashSet};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use std::path::PathBuf;

use crate::module_table::{self, ModuleTable};

use super::module_source;

/// Follows the modules of `sys.modules` and tells which ones changed on disk.
#[pyclass(module = "fastautoreload._native")]
pub struct Tracker {
    table: ModuleTable,
    /// Modules with no source to reload (C extensions, builtins, namespace packages),
    /// by object identity, so they are looked at once rather than every cell.
    ignored: AHashMap<String, usize>,
}

/// One module to reload: its name, source path, and the exact bytes that were hashed.
#[pyclass(module = "fastautoreload._native", frozen)]
pub struct Change {
    #[pyo3(get)]
    source: Py<PyBytes>,
    /// Everything but the bytes, which live in `source`.
    inner: module_table::Change,
}

#[pymethods]
impl Change {
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    #[getter]
    fn path(&self) -> String {
        self.inner.path.to_string_lossy().into_owned()
    }

    /// The blake3 hash of `source`, in hex.
    #[getter]
    fn hash(&self) -> String {
        self.inner.hash.to_hex()
    }

    fn __repr__(&self) -> String {
        format!("<Change {} {}>", self.inner.name, self.path())
    }
}

#[pymethods]
impl Tracker {
    /// `library_roots`: directories of installed code (the standard library,
    /// site-packages); modules under them count as library, not the user's own code.
    #[new]
    #[pyo3(signature = (library_roots = Vec::new()))]
    fn new(library_roots: Vec<PathBuf>) -> Tracker {
        Tracker {
            table: ModuleTable::with_library_roots(library_roots),
            ignored: AHashMap::new(),
        }
    }

    /// Brings the table in line with `modules` (normally `sys.modules`): new modules are
    /// added and their current content read as their baseline, gone ones dropped.
    fn sync(&mut self, py: Python<'_>, modules: &Bound<'_, PyDict>) -> PyResult<()> {
        let mut added = false;
        for (name, module) in modules
            .items()
            .iter()
            .filter_map(|item| item.extract().ok())
        {
            let (name, module): (String, Bound<PyAny>) = (name, module);
            let id = module.as_ptr() as usize;
            if self.table.knows(&name, id) || self.ignored.get(&name) == Some(&id) {
                continue;
            }
            added = true;
            match module_source(&module) {
                Some(path) => {
                    self.ignored.remove(&name);
                    self.table.track(&name, path, id);
                }
                None => {
                    self.ignored.insert(name, id);
                }
            }
        }
        // A module that left `sys.modules` leaves the counts unequal, unless another one
        // arrived in the same cell; either way this is the only time a sweep is needed.
        if added || self.table.len() + self.ignored.len() != modules.len() {
            let live = |name: &str| modules.contains(name).unwrap_or(false);
            self.table.retain(live);
            self.ignored.retain(|name, _| live(name));
        }
        let table = &mut self.table;
        py.detach(|| table.read_baselines());
        Ok(())
    }

    /// The tracked modules whose content changed, in reload order (dependencies first,
    /// import cycles in import order). `only` restricts the check to those names;
    /// `skip` names are never checked.
    #[pyo3(signature = (only, skip))]
    fn changed(
        &mut self,
        py: Python<'_>,
        only: Option<Vec<String>>,
        skip: Vec<String>,
    ) -> PyResult<Vec<Change>> {
        let skip: AHashSet<String> = skip.into_iter().collect();
        let table = &mut self.table;
        let mut changes = py.detach(|| table.changes(only.as_deref(), &skip));
        if changes.len() > 1 {
            let names: Vec<String> = changes.iter().map(|c| c.name.clone()).collect();
            let order = self.table.reload_order(&names);
            changes.sort_by_key(|c| order.iter().position(|n| *n == c.name));
        }
        Ok(changes.into_iter().map(|c| to_python(py, c)).collect())
    }

    /// The module's file as it is now, to reload whether or not it changed; None if the
    /// module is not tracked or its file cannot be read.
    fn current(&self, py: Python<'_>, name: &str) -> Option<Change> {
        let table = &self.table;
        py.detach(|| table.current(name)).map(|c| to_python(py, c))
    }

    /// `names` in reload order: dependencies first, import cycles in import order.
    fn order(&mut self, names: Vec<String>) -> Vec<String> {
        self.table.reload_order(&names)
    }

    /// The modules that bind names from `name` at import time (`from name import x as
    /// y`), each with its `(x, y)` pairs.
    fn binders_of(&mut self, name: &str) -> Vec<(String, Vec<(String, String)>)> {
        let graph = self.table.graph();
        graph
            .binders_of(name)
            .into_iter()
            .map(|(m, names)| (m.to_owned(), names.to_vec()))
            .collect()
    }

    /// Every tracked module that imports `name` at import time, directly or through
    /// others, nearest first.
    fn dependents(&mut self, name: &str) -> Vec<String> {
        self.table.graph().dependents(name)
    }

    /// Whether module `name` is installed code (standard library, site-packages).
    fn is_library(&self, name: &str) -> bool {
        self.table.is_library(name)
    }

    /// Records that the module now runs the content of `change`.
    fn commit(&mut self, change: &Change) {
        self.table.commit(&change.inner);
    }

    /// Records that `change` failed to load: it is not retried until the file changes.
    fn fail(&mut self, change: &Change) {
        let c = &change.inner;
        self.table.fail(&c.name, c.stat, c.hash);
    }

    /// The source path tracked for module `name`, if any.
    fn path_of(&self, name: &str) -> Option<String> {
        self.table
            .path_of(name)
            .map(|p| p.to_string_lossy().into_owned())
    }

    fn __len__(&self) -> usize {
        self.table.len()
    }
}

fn to_python(py: Python<'_>, mut change: module_table::Change) -> Change {
    let bytes = std::mem::take(&mut change.bytes);
    Change {
        source: PyBytes::new(py, &bytes).unbind(),
        inner: change,
    }
}
