//! `Tracker`: the module table as Python sees it, fed from `sys.modules`.

use ahash::{AHashMap, AHashSet};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::fingerprint::{ContentHash, StatKey};
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

/// One changed module: its name, source path, and the exact bytes that were hashed.
#[pyclass(module = "fastautoreload._native", frozen)]
pub struct Change {
    #[pyo3(get)]
    name: String,
    #[pyo3(get)]
    path: String,
    #[pyo3(get)]
    source: Py<PyBytes>,
    content: ContentHash,
    stat: StatKey,
}

#[pymethods]
impl Change {
    /// The blake3 hash of `source`, in hex.
    #[getter]
    fn hash(&self) -> String {
        self.content.to_hex()
    }

    fn __repr__(&self) -> String {
        format!("<Change {} {}>", self.name, self.path)
    }
}

#[pymethods]
impl Tracker {
    #[new]
    fn new() -> Tracker {
        Tracker {
            table: ModuleTable::new(),
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

    /// The tracked modules whose content changed, in the order they were first seen.
    /// `only` restricts the check to those names; `skip` names are never checked.
    #[pyo3(signature = (only, skip))]
    fn changed(
        &mut self,
        py: Python<'_>,
        only: Option<Vec<String>>,
        skip: Vec<String>,
    ) -> PyResult<Vec<Change>> {
        let skip: AHashSet<String> = skip.into_iter().collect();
        let table = &mut self.table;
        let changes = py.detach(|| table.changes(only.as_deref(), &skip));
        Ok(changes.into_iter().map(|c| to_python(py, c)).collect())
    }

    /// Records that the module now runs the content of `change`.
    fn commit(&mut self, change: &Change) {
        self.table.commit(&change.name, change.stat, change.content);
    }

    /// Records that `change` failed to load: it is not retried until the file changes.
    fn fail(&mut self, change: &Change) {
        self.table.fail(&change.name, change.stat, change.content);
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

fn to_python(py: Python<'_>, change: module_table::Change) -> Change {
    Change {
        source: PyBytes::new(py, &change.bytes).unbind(),
        name: change.name,
        path: change.path.to_string_lossy().into_owned(),
        content: change.hash,
        stat: change.stat,
    }
}
