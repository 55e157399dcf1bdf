//! The PyO3 layer: the `fastautoreload._native` module.
//!
//! `tracker` is what Python holds: the module table fed from `sys.modules`, and `check`,
//! the one call per cell that runs a whole batch (`check.rs`). Each module reloads in a
//! `transaction` (`reload.rs`: the whole module, or a plan through `partial.rs` and
//! `line_shift.rs`); `patch` keeps the old objects canonical, recording what it changes
//! in the `journal`; `heap` moves instances and updates closures in one pass; `events`
//! is what a check returns; `errors` holds our `InternalError` and the panic boundary.
//! For programs, which have no cell hook: `change_signal` is what a thread waits on to
//! learn that a check may find something, and `main_thread` runs the check where it
//! belongs, on the main thread at a safe point.

mod attrs;
mod change_signal;
mod check;
mod errors;
mod events;
mod graveyard;
mod heap;
mod journal;
mod line_shift;
mod main_thread;
mod modules_snapshot;
mod partial;
mod patch;
mod reload;
mod stale;
mod star;
mod tracker;
mod transaction;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyModule, PyString};

use crate::source_path as paths;

/// The source path of a module, or None when fastautoreload would not reload it.
pub(crate) fn module_source(module: &Bound<'_, PyAny>) -> Option<std::path::PathBuf> {
    module_source_as(module, None)
}

/// `module_source`, for a module `sys.modules` holds under `key`, when known: a
/// module whose file is named for that key (`a/b.py` or `a/b/__init__.py` for `a.b`)
/// does not borrow another module's file, and its spec need not be read (thousands of
/// modules are looked at on loading).
pub(crate) fn module_source_as(
    module: &Bound<'_, PyAny>,
    key: Option<&str>,
) -> Option<std::path::PathBuf> {
    let py = module.py();
    let file = attribute(module, intern!(py, "__file__"))?;
    let path = paths::source_for(file.cast::<PyString>().ok()?.to_str().ok()?)?;
    if let Some(name) = attribute(module, intern!(py, "__name__")) {
        match name.cast::<PyString>().map(|n| n.to_str()) {
            Ok(Ok(name)) if paths::is_reserved_name(name) => return None,
            Ok(Ok(_)) => {}
            _ => return None,
        }
    }
    let named_for_key = key.is_some_and(|key| paths::is_named_for(&path, key));
    if !named_for_key && borrows_its_file(module) {
        return None;
    }
    Some(path)
}

/// Whether a module's `__file__` names a file it was not loaded from: its import system
/// spec says it has no location of its own, and its loader cannot name a file (toolz's
/// `tlz` modules copy `toolz`'s namespace and `__file__`; running `toolz/__init__.py`
/// as `tlz` would make a second set of toolz's classes). A module made by hand, with no
/// spec or no loader, is taken at its `__file__`'s word, as IPython does.
fn borrows_its_file(module: &Bound<'_, PyAny>) -> bool {
    let py = module.py();
    let Some(spec) = attribute(module, intern!(py, "__spec__")) else {
        return false;
    };
    let absent = |value: PyResult<Bound<'_, PyAny>>| value.map_or(true, |v| v.is_none());
    if spec.is_none() || !absent(spec.getattr(intern!(py, "origin"))) {
        return false;
    }
    let located = spec
        .getattr(intern!(py, "has_location"))
        .and_then(|v| v.is_truthy())
        .unwrap_or(false);
    let Ok(loader) = spec.getattr(intern!(py, "loader")) else {
        return false;
    };
    !located && !loader.is_none() && !loader.hasattr(intern!(py, "get_filename")).unwrap_or(true)
}

/// `module.<name>`: for a real module, read from its namespace first (thousands of
/// modules are looked at on loading); otherwise, or when not there, `getattr`.
fn attribute<'py>(
    module: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> Option<Bound<'py, PyAny>> {
    match module.cast::<PyModule>() {
        Ok(real) => {
            let found = real.dict().get_item(name).ok().flatten();
            found.or_else(|| attrs::optional(module, name))
        }
        Err(_) => attrs::optional(module, name),
    }
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

/// Reloads `module` whole from `source` (the exact bytes of `path`), keeping its
/// objects' identity: `superreload`. Returns the `reloaded` event; raises what the
/// module's code raised (the module left as it was), or an `InternalError`.
#[pyfunction]
fn reload_module(
    py: Python<'_>,
    module: &Bound<'_, PyModule>,
    source: &[u8],
    path: &str,
) -> PyResult<events::Event> {
    errors::boundary(
        || match reload::reload(module, source, path, None, Vec::new()) {
            Ok(done) => {
                let subject = events::Subject {
                    module: module.name()?.extract()?,
                    path: path.to_owned(),
                    because_of: None,
                };
                let previous = done.previous.clone_ref(py);
                let event = events::Event::reloaded(
                    subject,
                    done.ran,
                    done.rebound,
                    previous,
                    &done.warnings,
                    done.ms,
                );
                Ok(event.with_source(py, source))
            }
            Err(reload::Failure::User(err) | reload::Failure::Internal(err)) => Err(err),
        },
    )
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tracker::Tracker>()?;
    m.add_class::<events::Event>()?;
    m.add_class::<change_signal::ChangeSignal>()?;
    m.add("InternalError", m.py().get_type::<errors::InternalError>())?;
    m.add_function(wrap_pyfunction!(reload_module, m)?)?;
    m.add_function(wrap_pyfunction!(patch::update_object, m)?)?;
    m.add_function(wrap_pyfunction!(source_path, m)?)?;
    m.add_function(wrap_pyfunction!(main_thread::call_on_main_thread, m)?)?;
    m.add_function(wrap_pyfunction!(filename_and_mtime, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_inject_fault, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_hold_baselines, m)?)?;
    Ok(())
}
