//! `Tracker`: the module table as Python sees it, fed from `sys.modules` and told by the
//! detector which files may have changed.

use std::path::PathBuf;
use std::time::Instant;

use ahash::{AHashMap, AHashSet};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::detector::{Detector, Mode};
use crate::module_table::{self, ModuleTable};

use super::module_source;
use super::modules_snapshot::ModulesSnapshot;
use super::partial::ReloadPlan;

/// Follows the modules of `sys.modules` and tells which ones changed on disk.
#[pyclass(module = "fastautoreload._native")]
pub struct Tracker {
    table: ModuleTable,
    detector: Detector,
    /// Modules with no source to reload (C extensions, builtins, namespace packages),
    /// by object identity, so they are looked at once rather than every cell.
    ignored: AHashMap<String, usize>,
    snapshot: ModulesSnapshot,
    /// How long the last `changed` call took, in microseconds.
    last_check_us: u128,
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
    /// `poll`: detect changes by polling only, never by file events.
    #[new]
    #[pyo3(signature = (library_roots = Vec::new(), poll = false))]
    fn new(py: Python<'_>, library_roots: Vec<PathBuf>, poll: bool) -> Tracker {
        Tracker {
            table: ModuleTable::with_library_roots(library_roots),
            detector: py.detach(|| Detector::new(poll)),
            ignored: AHashMap::new(),
            snapshot: ModulesSnapshot::default(),
            last_check_us: 0,
        }
    }

    /// Brings the table in line with `modules` (normally `sys.modules`): new modules are
    /// watched and their current content read as their baseline, gone ones dropped.
    /// When `modules` holds what it held last time, this is a walk of pointer checks.
    fn sync(&mut self, py: Python<'_>, modules: &Bound<'_, PyDict>) -> PyResult<()> {
        if self.snapshot.unchanged(modules) {
            return Ok(());
        }
        for (name, module) in modules.iter() {
            let Ok(name) = name.extract::<String>() else {
                continue;
            };
            let id = module.as_ptr() as usize;
            if self.table.knows(&name, id) || self.ignored.get(&name) == Some(&id) {
                continue;
            }
            match module_source(&module) {
                Some(path) => {
                    self.ignored.remove(&name);
                    self.detector.watch(&path);
                    self.table.track(&name, path, id);
                }
                None => {
                    self.ignored.insert(name, id);
                }
            }
        }
        let live: AHashSet<String> = modules
            .keys()
            .iter()
            .filter_map(|k| k.extract().ok())
            .collect();
        self.table.retain(|name| live.contains(name));
        self.ignored.retain(|name, _| live.contains(name));
        self.snapshot = ModulesSnapshot::take(modules);
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
    ) -> Vec<Change> {
        let start = Instant::now();
        let skip: AHashSet<String> = skip.into_iter().collect();
        let (table, detector) = (&mut self.table, &mut self.detector);
        let mut changes = py.detach(|| {
            let candidates = detector.candidates();
            table.changes(only.as_deref(), &skip, &candidates)
        });
        if changes.len() > 1 {
            let names: Vec<String> = changes.iter().map(|c| c.name.clone()).collect();
            let order = self.table.reload_order(&names);
            changes.sort_by_key(|c| order.iter().position(|n| *n == c.name));
        }
        self.last_check_us = start.elapsed().as_micros();
        changes.into_iter().map(|c| to_python(py, c)).collect()
    }

    /// The module's file as it is now, to reload whether or not it changed; None if the
    /// module is not tracked or its file cannot be read.
    fn current(&self, py: Python<'_>, name: &str) -> Option<Change> {
        let table = &self.table;
        py.detach(|| table.current(name)).map(|c| to_python(py, c))
    }

    /// How to reload `change` running only what changed (and the statements binding
    /// `stale` names, imports of values that changed elsewhere), or None when there is
    /// nothing to compare with (the module then runs whole).
    #[pyo3(signature = (change, stale = Vec::new()))]
    fn plan(&self, change: &Change, stale: Vec<String>) -> Option<ReloadPlan> {
        self.table
            .plan(&change.inner, &stale)
            .map(|plan| ReloadPlan { plan })
    }

    /// How to run again, in module `change.name` (whose source did not change, or
    /// changed since it last loaded), the statements binding `names` (imports of values
    /// that changed elsewhere) and what depends on them.
    fn plan_rerun(&self, change: &Change, names: Vec<String>) -> Option<ReloadPlan> {
        self.table
            .plan_rerun(&change.inner, &names)
            .map(|plan| ReloadPlan { plan })
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

    /// Messages about detection (a fallback to polling and why), each given once.
    fn take_notes(&mut self) -> Vec<String> {
        self.detector.take_notes()
    }

    /// What detection costs and how it works right now.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = PyDict::new(py);
        stats.set_item("modules_tracked", self.table.len())?;
        stats.set_item("modules_without_source", self.ignored.len())?;
        let mode = match self.detector.mode() {
            Mode::Events => "file events".to_owned(),
            Mode::Polling(reason) => format!("polling ({reason})"),
        };
        stats.set_item("detection", mode)?;
        stats.set_item("directories_watched", self.detector.watched_dirs())?;
        stats.set_item("directories_polled", self.detector.polled_dirs())?;
        stats.set_item("last_check_us", self.last_check_us)?;
        Ok(stats)
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
