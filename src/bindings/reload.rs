//! Reloading one module inside a transaction: the changed statements and bodies a plan
//! names, or the whole module, then the patching that keeps old objects canonical.

use std::borrow::Cow;
use std::time::Instant;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyModule};

use super::errors::as_internal;
use super::events::{Ran, Warning};
use super::partial::{self, Fallback};
use super::patch::changed_names;
use super::transaction::Transaction;
use crate::outline::Plan;

/// Keys kept across a whole re-execution: what the import system set up, which the
/// module's code does not recreate.
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

/// What a successful reload did.
pub struct Reloaded {
    pub ran: Ran,
    /// Names whose value is new or different after the reload (not a patched object).
    pub rebound: Vec<String>,
    /// For the rebound names that existed before: their value before the reload.
    pub previous: Py<PyDict>,
    /// The whole namespace before the reload (what star imports of it bound).
    pub before: Py<PyDict>,
    pub warnings: Vec<Warning>,
    pub ms: f64,
    /// Functions and classes of the module that its new version no longer defines, by
    /// qualified name (for the graveyard).
    pub departed: Vec<(String, Py<PyAny>)>,
    /// Qualified names of earlier departed objects that are canonical again.
    pub revived: Vec<String>,
}

/// Why a reload changed nothing.
pub enum Failure {
    /// The module's code failed to compile or raised (anything, `SystemExit` and
    /// `KeyboardInterrupt` included), or the user interrupted the reload.
    User(PyErr),
    /// A bug of ours: an `InternalError`.
    Internal(PyErr),
}

/// Reloads `module` from `source` (the exact bytes read from `path`): what `plan` says,
/// or the whole module when there is no plan or it says so. All or nothing: on failure
/// the module and every object the reload touched are as they were.
pub fn reload<'py>(
    module: &Bound<'py, PyModule>,
    source: &[u8],
    path: &str,
    plan: Option<&Plan>,
    revenants: Vec<(String, Bound<'py, PyAny>)>,
) -> Result<Reloaded, Failure> {
    let py = module.py();
    let start = Instant::now();
    let mut tx = Transaction::begin(module).map_err(|e| internal_failure(py, e))?;
    tx.canon.revenants = revenants;
    let result = run(&mut tx, source, path, plan);
    refresh_linecache(py, path);
    match result {
        Ok((ran, rebound, previous)) => {
            tx.canon.after_commit();
            let warnings = std::mem::take(&mut tx.canon.warnings);
            let revived = std::mem::take(&mut tx.canon.revived);
            let departed = departed(&tx).map_err(|e| internal_failure(py, e))?;
            let before = tx.before.clone().unbind();
            tx.commit();
            Ok(Reloaded {
                ran,
                rebound,
                previous,
                before,
                warnings,
                ms: start.elapsed().as_secs_f64() * 1e3,
                departed,
                revived,
            })
        }
        Err(err) => {
            let users = tx.is_users(&err);
            if let Err(restore) = tx.rollback() {
                return Err(internal_failure(py, restore));
            }
            if users {
                Err(Failure::User(err))
            } else {
                Err(internal_failure(py, err))
            }
        }
    }
}

/// The functions and classes defined by the module that its namespace no longer holds.
fn departed(tx: &Transaction<'_>) -> PyResult<Vec<(String, Py<PyAny>)>> {
    let mut gone = Vec::new();
    for (name, value) in tx.before.iter() {
        if tx.namespace.contains(&name)? || !tx.canon.defines(&value)? {
            continue;
        }
        gone.push((
            value
                .getattr(intern!(value.py(), "__qualname__"))?
                .extract()?,
            value.unbind(),
        ));
    }
    Ok(gone)
}

fn internal_failure(py: Python<'_>, err: PyErr) -> Failure {
    Failure::Internal(as_internal(py, "the reload failed", err))
}

type Done = (Ran, Vec<String>, Py<PyDict>);

fn run<'py>(
    tx: &mut Transaction<'py>,
    source: &[u8],
    path: &str,
    plan: Option<&Plan>,
) -> PyResult<Done> {
    let py = tx.namespace.py();
    let mut ran = Ran {
        whole: true,
        ..Ran::default()
    };
    let partial_plan = plan.filter(|p| p.full.is_none());
    if let Some(plan) = partial_plan {
        tx.step("decode")?;
        match decode(py, source)? {
            Some(text) => match partial::run_plan(tx, &text, path, plan)? {
                Ok(()) => ran = ran_partially(plan),
                Err(Fallback(reason)) => ran.whole_reason = Some(reason),
            },
            None => ran.whole_reason = Some("the source could not be decoded".into()),
        }
    } else {
        ran.whole_reason = plan.and_then(|p| p.full.clone());
    }
    if ran.whole {
        run_whole(tx, source, path)?;
    }
    tx.step("heap")?;
    let young = tx.young()?;
    tx.canon.repair_heap(young)?;
    let rebound = changed_names(&tx.before, &tx.namespace)?;
    let previous = PyDict::new(py);
    for name in &rebound {
        if let Some(value) = tx.before.get_item(name)? {
            previous.set_item(name, value)?;
        }
    }
    tx.step("commit")?;
    Ok((ran, rebound, previous.unbind()))
}

fn ran_partially(plan: &Plan) -> Ran {
    Ran {
        whole: false,
        whole_reason: None,
        statements: plan.run.len(),
        functions: plan.bodies.len(),
        removed: plan.delete.len(),
    }
}

/// The whole module, compiled from the exact bytes (so CPython applies its own BOM and
/// coding-cookie rules) and run in its own namespace, so that functions defined there
/// keep the same globals.
fn run_whole<'py>(tx: &mut Transaction<'py>, source: &[u8], path: &str) -> PyResult<()> {
    let py = tx.namespace.py();
    let builtins = py.import("builtins")?;
    tx.step("compile")?;
    let code =
        builtins
            .getattr("compile")?
            .call1((PyBytes::new(py, source), path, "exec", 0, true))?;
    tx.step("exec")?;
    tx.canon.ran_statements = true;
    let namespace = tx.namespace.clone();
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
    builtins
        .getattr(intern!(builtins.py(), "exec"))?
        .call1((code, &namespace))?;
    tx.step("keep_submodules")?;
    keep_submodules(py, &tx.canon.module_name, &tx.before, &namespace)?;
    tx.step("adopt")?;
    tx.canon.adopt(&tx.before.clone(), &namespace)
}

/// The source as text, decoded as CPython decodes a source file (BOM, coding cookie);
/// None when it cannot be (the whole module then compiles from the bytes, and CPython
/// reports the problem in its own words).
fn decode<'a>(py: Python<'_>, source: &'a [u8]) -> PyResult<Option<Cow<'a, str>>> {
    let plain = !source.starts_with(b"\xef\xbb\xbf") && !declares_coding(source);
    if plain {
        return Ok(std::str::from_utf8(source).ok().map(Cow::Borrowed));
    }
    let readline = py
        .import("io")?
        .getattr("BytesIO")?
        .call1((PyBytes::new(py, source),))?
        .getattr("readline")?;
    let detected = py
        .import("tokenize")?
        .getattr("detect_encoding")?
        .call1((readline,));
    let Ok(detected) = detected else {
        return Ok(None);
    };
    let encoding = detected.get_item(0)?;
    let text = PyBytes::new(py, source).call_method1("decode", (encoding,));
    Ok(text
        .ok()
        .and_then(|t| t.extract::<String>().ok())
        .map(Cow::Owned))
}

/// Whether one of the first two lines may hold a coding declaration (PEP 263).
fn declares_coding(source: &[u8]) -> bool {
    let head: Vec<&[u8]> = source.splitn(3, |&b| b == b'\n').take(2).collect();
    head.iter()
        .any(|line| line.windows(6).any(|w| w == b"coding"))
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
fn refresh_linecache(py: Python<'_>, path: &str) {
    let refreshed = py.import("linecache").and_then(|linecache| {
        linecache
            .getattr(intern!(linecache.py(), "checkcache"))?
            .call1((path,))
    });
    // A stale line in a later traceback is all that is lost if this fails.
    drop(refreshed);
}
