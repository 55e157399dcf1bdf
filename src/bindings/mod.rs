//! The PyO3 layer: the `fastautoreload._native` module.
//!
//! `tracker` exposes the module table to Python; `reexec` runs a module's new source
//! transactionally; `patch` makes the objects that existed before a reload behave as the
//! new ones; `heap` moves instances between class versions in one pass.

mod heap;
mod modules_snapshot;
mod partial;
mod patch;
mod reexec;
mod tracker;

use pyo3::prelude::*;

use crate::source_path as paths;

/// The source path of a module, or None when fastautoreload would not reload it.
pub(crate) fn module_source(module: &Bound<'_, PyAny>) -> Option<std::path::PathBuf> {
    let file = module.getattr("__file__").ok()?;
    let file: String = file.extract().ok()?;
    if let Ok(name) = module.getattr("__name__") {
        match name.extract::<String>() {
            Ok(name) if paths::is_reserved_name(&name) => return None,
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    paths::source_for(&file)
}

/// `module`'s source file, or None (same rules as the reloader's module table).
#[pyfunction]
fn source_path(module: &Bound<'_, PyAny>) -> Option<String> {
    module_source(module).map(|p| p.to_string_lossy().into_owned())
}

/// `(source path, mtime)` as IPython's `ModuleReloader.filename_and_mtime` returns it,
/// or `(None, None)` when the module is not reloadable or its file cannot be stat'ed.
#[pyfunction]
fn filename_and_mtime(module: &Bound<'_, PyAny>) -> (Option<String>, Option<f64>) {
    let Some(path) = module_source(module) else {
        return (None, None);
    };
    match crate::fingerprint::StatKey::of(&path) {
        Ok(stat) => (
            Some(path.to_string_lossy().into_owned()),
            Some(stat.mtime_seconds()),
        ),
        Err(_) => (None, None),
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tracker::Tracker>()?;
    m.add_class::<tracker::Change>()?;
    m.add_class::<reexec::ReloadResult>()?;
    m.add_class::<partial::ReloadPlan>()?;
    m.add_function(wrap_pyfunction!(reexec::reload_module, m)?)?;
    m.add_function(wrap_pyfunction!(patch::update_object, m)?)?;
    m.add_function(wrap_pyfunction!(source_path, m)?)?;
    m.add_function(wrap_pyfunction!(filename_and_mtime, m)?)?;
    Ok(())
}
