//! Running only what a plan says: changed statements, patched function bodies, removed
//! names, moved line numbers, as steps of the reload's transaction. The fragments come
//! from `outline::fragment`, at the real file's line numbers.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::errors::internal;
use super::line_shift::shift_lines;
use super::patch::Canon;
use super::transaction::Transaction;
use crate::outline::fragment::Source;
use crate::outline::{BodyPatch, Plan};

/// A function body that is about to be patched: the old function, found before anything
/// changes (so a plan that cannot be followed falls back with nothing changed).
struct Located<'py, 'p> {
    patch: &'p BodyPatch,
    old: Bound<'py, PyAny>,
    /// A method compiled inside its class (see `outline::fragment`).
    in_class: bool,
}

/// Why a plan could not be carried out as planned (the caller runs the whole module).
pub struct Fallback(pub String);

/// Carries out `plan` inside `tx`, from `text` (the module's new source, decoded).
/// `Ok(Err(..))` says the plan cannot be followed (a function to patch was not found)
/// and nothing changed; errors leave the rollback to the transaction.
pub fn run_plan<'py>(
    tx: &mut Transaction<'py>,
    text: &str,
    path: &str,
    plan: &Plan,
) -> PyResult<Result<(), Fallback>> {
    let py = tx.namespace.py();
    let source = Source::new(text);
    if !source.fits(plan) {
        return Ok(Err(Fallback("the plan does not match the file".into())));
    }
    // Compile everything first: a syntax error changes nothing.
    tx.step("compile")?;
    let run_code = source
        .run_fragment(plan)
        .map(|fragment| compile(py, &fragment, path))
        .transpose()?;
    let bodies_code = source
        .bodies_fragment(plan)
        .map(|fragment| compile(py, &fragment, path))
        .transpose()?;
    let mut located = Vec::new();
    for patch in &plan.bodies {
        let found = find_function(
            &tx.namespace,
            patch.class.as_deref(),
            &patch.name,
            patch.old_first_line,
        )?;
        let Some(old) = found else {
            let reason = format!("function {} was not found", patch.name);
            return Ok(Err(Fallback(reason)));
        };
        let in_class = source.in_class(patch);
        located.push(Located {
            patch,
            old,
            in_class,
        });
    }
    if let Some(code) = &bodies_code {
        tx.step("patch_bodies")?;
        patch_bodies(py, code, &tx.namespace.clone(), &mut tx.canon, &located)?;
    }
    if let Some(code) = &run_code {
        tx.step("exec")?;
        tx.canon.ran_statements = true;
        // What a star import run again no longer binds goes first, so that its readers
        // (run again) see it gone, as they would in a fresh import.
        for gone in &plan.unbind {
            if tx.namespace.contains(gone)? {
                tx.namespace.del_item(gone)?;
            }
        }
        py.import("builtins")?
            .getattr("exec")?
            .call1((code, &tx.namespace))?;
    }
    tx.step("delete")?;
    for gone in &plan.delete {
        if tx.namespace.contains(gone)? {
            tx.namespace.del_item(gone)?;
        }
    }
    tx.step("adopt")?;
    tx.canon.adopt(&tx.before.clone(), &tx.namespace.clone())?;
    tx.step("shift_lines")?;
    shift_lines(py, &tx.namespace, &plan.shifts, &mut tx.canon.journal)?;
    Ok(Ok(()))
}

/// Patches each located function with its new code, taken from the compiled fragment
/// without running it: the definition's head did not change, so defaults, annotations,
/// decorators and the function's `__dict__` stay as they are (evaluating them again,
/// outside their class, could even fail). Only the code, its closure (`__class__` for
/// `super()`) and the docstring are new.
fn patch_bodies<'py>(
    py: Python<'py>,
    code: &Bound<'py, PyAny>,
    namespace: &Bound<'py, PyDict>,
    canon: &mut Canon<'py>,
    located: &[Located<'py, '_>],
) -> PyResult<()> {
    let types = py.import("types")?;
    for l in located {
        let patch = l.patch;
        let class = match &patch.class {
            Some(name) => Some(namespace.get_item(name)?.ok_or_else(|| missing(name))?),
            None => None,
        };
        let scope = patch.class.as_deref().filter(|_| l.in_class);
        let new_code = find_code(code, scope, &patch.name, patch.first_line)?
            .ok_or_else(|| missing(&patch.name))?;
        let mut cells = Vec::new();
        for free in new_code
            .getattr(intern!(new_code.py(), "co_freevars"))?
            .try_iter()?
        {
            let free: String = free?.extract()?;
            match (&class, free.as_str()) {
                (Some(class), "__class__") => cells.push(
                    types
                        .getattr(intern!(types.py(), "CellType"))?
                        .call1((class,))?,
                ),
                _ => return Err(missing(&free)),
            }
        }
        let closure = if cells.is_empty() {
            py.None().into_bound(py)
        } else {
            PyTuple::new(py, cells)?.into_any()
        };
        let old = &l.old;
        let new = types.getattr(intern!(types.py(), "FunctionType"))?.call1((
            &new_code,
            namespace,
            &patch.name,
            old.getattr(intern!(old.py(), "__defaults__"))?,
            closure,
        ))?;
        for attr in [
            "__kwdefaults__",
            "__annotations__",
            "__dict__",
            "__qualname__",
            "__module__",
        ] {
            new.setattr(attr, old.getattr(attr)?)?;
        }
        if let Ok(params) = old.getattr(intern!(old.py(), "__type_params__")) {
            new.setattr(intern!(new.py(), "__type_params__"), params)?;
        }
        canon.pair(&new, old);
        canon.patch_function(old, &new)?;
        stale_caches(namespace, patch, canon)?;
    }
    Ok(())
}

/// The code object compiled for the definition of `name` starting at `first_line`, in
/// `class` if it is a method.
fn find_code<'py>(
    module_code: &Bound<'py, PyAny>,
    class: Option<&str>,
    name: &str,
    first_line: u32,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let code_type = module_code.get_type();
    let children = |code: &Bound<'py, PyAny>| -> PyResult<Vec<Bound<'py, PyAny>>> {
        let mut found = Vec::new();
        for constant in code.getattr(intern!(code.py(), "co_consts"))?.try_iter()? {
            let constant = constant?;
            if constant.get_type().is(&code_type) {
                found.push(constant);
            }
        }
        Ok(found)
    };
    let named = |code: &Bound<'py, PyAny>, wanted: &str| -> bool {
        code.getattr(intern!(code.py(), "co_name"))
            .is_ok_and(|n| n.eq(wanted).unwrap_or(false))
    };
    let scopes = match class {
        Some(class) => children(module_code)?
            .into_iter()
            .filter(|c| named(c, class))
            .collect(),
        None => vec![module_code.clone()],
    };
    for scope in scopes {
        for code in children(&scope)? {
            let line: u32 = code
                .getattr(intern!(code.py(), "co_firstlineno"))?
                .extract()?;
            if named(&code, name) && line == first_line {
                return Ok(Some(code));
            }
        }
    }
    Ok(None)
}

/// A cache in front of a patched function (`lru_cache`, `cache`) holds results of the
/// old code: it is cleared once the reload commits.
fn stale_caches<'py>(
    namespace: &Bound<'py, PyDict>,
    patch: &BodyPatch,
    canon: &mut Canon<'py>,
) -> PyResult<()> {
    let root = match &patch.class {
        Some(class) => namespace.get_item(class)?.and_then(|c| {
            c.getattr(intern!(c.py(), "__dict__"))
                .ok()?
                .get_item(&patch.name)
                .ok()
        }),
        None => namespace.get_item(&patch.name)?,
    };
    let mut item = root;
    for _ in 0..8 {
        let Some(current) = item else { break };
        if current.hasattr(intern!(current.py(), "cache_clear"))? {
            canon.stale_caches.push(current.clone());
        }
        item = current
            .getattr("__wrapped__")
            .ok()
            .or_else(|| current.getattr(intern!(current.py(), "__func__")).ok());
    }
    Ok(())
}

fn missing(name: &str) -> PyErr {
    internal(format!("cannot patch {name} from its new source"))
}

fn compile<'py>(py: Python<'py>, text: &str, path: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("builtins")?
        .getattr("compile")?
        .call1((text, path, "exec", 0, true))
}

/// The function object that the statement starting at `first_line` made: reached from
/// the module (or class) name, through classmethods, properties, `__wrapped__` and
/// decorator closures.
pub(super) fn find_function<'py>(
    namespace: &Bound<'py, PyDict>,
    class: Option<&str>,
    name: &str,
    first_line: u32,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    find_function_where(namespace, class, name, |code_name, line| {
        line == first_line && code_name == name
    })
}

/// The first function reached from `name` (as `find_function` walks) whose code's name
/// and first line `wanted` accepts.
pub(super) fn find_function_where<'py>(
    namespace: &Bound<'py, PyDict>,
    class: Option<&str>,
    name: &str,
    wanted: impl Fn(&str, u32) -> bool,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let root = match class {
        Some(class) => match namespace.get_item(class)? {
            Some(class) => class
                .getattr(intern!(class.py(), "__dict__"))?
                .get_item(name)
                .ok(),
            None => None,
        },
        None => namespace.get_item(name)?,
    };
    let Some(root) = root else { return Ok(None) };
    let mut pending = vec![(root, 0)];
    let mut seen = 0;
    while let Some((item, depth)) = pending.pop() {
        seen += 1;
        if seen > 64 {
            break;
        }
        if let Ok(code) = item.getattr(intern!(item.py(), "__code__")) {
            let line: u32 = code
                .getattr(intern!(code.py(), "co_firstlineno"))?
                .extract()?;
            let code_name: String = code.getattr(intern!(code.py(), "co_name"))?.extract()?;
            if wanted(&code_name, line) && item.is_instance_of::<pyo3::types::PyFunction>() {
                return Ok(Some(item));
            }
        }
        if depth >= 4 {
            continue;
        }
        for attr in ["__func__", "fget", "fset", "fdel", "__wrapped__"] {
            if let Ok(inner) = item.getattr(attr) {
                if !inner.is_none() {
                    pending.push((inner, depth + 1));
                }
            }
        }
        if let Ok(cells) = item
            .getattr("__closure__")
            .and_then(|c| Ok(c.cast_into::<PyTuple>()?))
        {
            for cell in cells.iter() {
                if let Ok(content) = cell.getattr(intern!(cell.py(), "cell_contents")) {
                    pending.push((content, depth + 1));
                }
            }
        }
    }
    Ok(None)
}
