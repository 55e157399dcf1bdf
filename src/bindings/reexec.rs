//! Re-executing a module's new source into its own namespace, all or nothing.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyModule};

use super::heap;
use super::partial::{self, Fallback, ReloadPlan};
use super::patch::{self, Outcome};

/// Keys kept across a re-execution: what the import system set up, which the module's
/// code does not recreate.
const KEPT_KEYS: [&str; 8] = [
    "__name__",
    "__loader__",
    "__spec__",
    "__file__",
    "__cached__",
    "__package__",
    "__path__",
    "__builtins__",
];

/// What a successful reload did, for the Python side to report and act on.
#[pyclass(module = "fastautoreload._native", frozen)]
pub struct ReloadResult {
    /// Names whose value is new or different after the reload (not a patched object).
    #[pyo3(get)]
    rebound: Vec<String>,
    /// For the rebound names that existed before: their value before the reload.
    #[pyo3(get)]
    previous: Py<PyDict>,
    /// Objects that were patched in place.
    #[pyo3(get)]
    patched: usize,
    /// One line per thing that could not be carried over, for the user to read.
    #[pyo3(get)]
    warnings: Vec<String>,
    /// What ran: "whole module", or the plan's summary ("2 statements, ...").
    #[pyo3(get)]
    summary: String,
}

/// Reloads `module` from `source` (the exact bytes read from `path`).
///
/// With a `plan` (from `Tracker.plan`), only what changed runs: changed statements,
/// patched function bodies. Without one, or when the plan says so, the whole module
/// is compiled and run in its own namespace, so functions defined there keep the same
/// globals. If compiling or running raises, the namespace is put back exactly as it
/// was and the exception propagates. Otherwise the functions and classes that existed
/// before are patched to behave as the new ones and stay what the module's names
/// point to.
#[pyfunction]
#[pyo3(signature = (module, source, path, plan = None))]
pub fn reload_module(
    py: Python<'_>,
    module: &Bound<'_, PyModule>,
    source: &Bound<'_, PyBytes>,
    path: &str,
    plan: Option<PyRef<'_, ReloadPlan>>,
) -> PyResult<ReloadResult> {
    let namespace = module.dict();
    let before = namespace.copy()?;
    let mut whole = None;
    if let Some(plan) = plan.as_ref().filter(|p| p.plan.full.is_none()) {
        let outcome = partial::run_plan(py, module, source, path, &plan.plan, &before);
        refresh_linecache(py, path)?;
        match outcome? {
            Ok(outcome) => return result(py, outcome, &before, plan.plan.summary()),
            Err(Fallback(reason)) => whole = Some(reason),
        }
    }
    let outcome = reload_whole(py, module, source, path, &before)?;
    let summary = whole.map_or_else(
        || "whole module".to_owned(),
        |r| format!("whole module: {r}"),
    );
    result(py, outcome, &before, summary)
}

fn reload_whole<'py>(
    py: Python<'py>,
    module: &Bound<'py, PyModule>,
    source: &Bound<'py, PyBytes>,
    path: &str,
    before: &Bound<'py, PyDict>,
) -> PyResult<Outcome> {
    let code = py
        .import("builtins")?
        .getattr("compile")?
        .call1((source, path, "exec", 0, true))?;
    let namespace = module.dict();
    let young_before = heap::young_addresses(py)?;
    let run = heap::with_young_objects(py, || execute(py, &code, &namespace))?;
    refresh_linecache(py, path)?;
    let young = match run {
        Ok(young) => young,
        Err(err) => {
            namespace.clear();
            namespace.update(before.as_mapping())?;
            return Err(err);
        }
    };
    let name: String = module.name()?.extract()?;
    keep_submodules(py, &name, before, &namespace)?;
    patch::adopt_namespace(py, &name, before, &namespace, young, young_before)
}

fn result(
    py: Python<'_>,
    outcome: Outcome,
    before: &Bound<'_, PyDict>,
    summary: String,
) -> PyResult<ReloadResult> {
    let previous = PyDict::new(py);
    for name in &outcome.rebound {
        if let Some(value) = before.get_item(name)? {
            previous.set_item(name, value)?;
        }
    }
    Ok(ReloadResult {
        previous: previous.unbind(),
        rebound: outcome.rebound,
        patched: outcome.patched,
        warnings: outcome.warnings,
        summary,
    })
}

fn execute(py: Python<'_>, code: &Bound<'_, PyAny>, namespace: &Bound<'_, PyDict>) -> PyResult<()> {
    let kept = PyDict::new(py);
    for key in KEPT_KEYS {
        if let Some(value) = namespace.get_item(key)? {
            kept.set_item(key, value)?;
        }
    }
    namespace.clear();
    namespace.update(kept.as_mapping())?;
    // A module without a docstring must not keep the old one.
    namespace.set_item("__doc__", py.None())?;
    py.import("builtins")?
        .getattr("exec")?
        .call1((code, namespace))?;
    Ok(())
}

/// A package's submodules are attributes the import system set, not its code: they
/// stay, as they do with `importlib.reload`.
fn keep_submodules(
    py: Python<'_>,
    package: &str,
    before: &Bound<'_, PyDict>,
    namespace: &Bound<'_, PyDict>,
) -> PyResult<()> {
    let modules = py.import("sys")?.getattr("modules")?;
    for (key, value) in before.iter() {
        if namespace.contains(&key)? || !value.is_instance_of::<PyModule>() {
            continue;
        }
        let full = format!("{package}.{key}");
        if modules.get_item(&full).is_ok_and(|m| m.is(&value)) {
            namespace.set_item(key, value)?;
        }
    }
    Ok(())
}

/// Tracebacks read source lines through `linecache`; drop its copy of the old file.
fn refresh_linecache(py: Python<'_>, path: &str) -> PyResult<()> {
    py.import("linecache")?
        .getattr("checkcache")?
        .call1((path,))?;
    Ok(())
}
