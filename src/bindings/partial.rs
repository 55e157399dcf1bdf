//! Running only what a plan says: changed statements, patched function bodies, removed
//! names, moved line numbers, as steps of the reload's transaction. The fragments come
//! from `outline::fragment`, at the real file's line numbers.

use ahash::AHashMap;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::attrs::{function_attribute, interned, optional, set_attribute, wrapper_links};
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
    let cell_type = types.getattr(intern!(py, "CellType"))?;
    let function_type = types.getattr(intern!(py, "FunctionType"))?;
    let index = CodeIndex::new(code)?;
    for l in located {
        let patch = l.patch;
        let class = match &patch.class {
            Some(name) => Some(namespace.get_item(name)?.ok_or_else(|| missing(name))?),
            None => None,
        };
        let scope = patch.class.as_deref().filter(|_| l.in_class);
        let new_code = index
            .get(scope, &patch.name, patch.first_line)
            .ok_or_else(|| missing(&patch.name))?;
        let mut cells = Vec::new();
        for free in new_code
            .getattr(intern!(new_code.py(), "co_freevars"))?
            .try_iter()?
        {
            let free: String = free?.extract()?;
            match (&class, free.as_str()) {
                (Some(class), "__class__") => cells.push(cell_type.call1((class,))?),
                _ => return Err(missing(&free)),
            }
        }
        let closure = if cells.is_empty() {
            py.None().into_bound(py)
        } else {
            PyTuple::new(py, cells)?.into_any()
        };
        let old = &l.old;
        let new = function_type.call1((
            new_code,
            namespace,
            &patch.name,
            old.getattr(intern!(old.py(), "__defaults__"))?,
            closure,
        ))?;
        let kept = interned!(
            py,
            [
                "__kwdefaults__",
                "__annotations__",
                "__dict__",
                "__qualname__",
                "__module__",
            ]
        );
        for attr in kept {
            new.setattr(attr, old.getattr(attr)?)?;
        }
        if let Some(params) = function_attribute(old, intern!(py, "__type_params__")) {
            new.setattr(intern!(new.py(), "__type_params__"), params)?;
        }
        canon.pair(&new, old);
        canon.patch_function(old, &new)?;
        stale_caches(namespace, patch, canon)?;
    }
    Ok(())
}

/// The code objects a compiled fragment defines, by where they are defined: functions at
/// the top (`None`) or in a block, and methods in the class scope they were compiled in.
/// Built once per fragment: looking each patched body up by a walk over the fragment's
/// constants made a reload of N methods cost N².
struct CodeIndex<'py> {
    by_place: AHashMap<(Option<String>, String, u32), Bound<'py, PyAny>>,
}

impl<'py> CodeIndex<'py> {
    fn new(module_code: &Bound<'py, PyAny>) -> PyResult<CodeIndex<'py>> {
        let mut by_place = AHashMap::new();
        for code in nested_code(module_code)? {
            let (name, line) = name_and_line(&code)?;
            for inner in nested_code(&code)? {
                let (inner_name, inner_line) = name_and_line(&inner)?;
                by_place
                    .entry((Some(name.clone()), inner_name, inner_line))
                    .or_insert(inner);
            }
            by_place.entry((None, name, line)).or_insert(code);
        }
        Ok(CodeIndex { by_place })
    }

    /// The code compiled for the definition of `name` starting at `first_line`, in
    /// `class` if it is a method compiled inside its class.
    fn get(&self, class: Option<&str>, name: &str, first_line: u32) -> Option<&Bound<'py, PyAny>> {
        self.by_place
            .get(&(class.map(str::to_owned), name.to_owned(), first_line))
    }
}

/// The code objects among `code`'s constants.
fn nested_code<'py>(code: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let py = code.py();
    let constants = code
        .getattr(intern!(py, "co_consts"))?
        .cast_into::<PyTuple>()?;
    let code_type = code.get_type();
    Ok(constants
        .iter()
        .filter(|constant| constant.get_type().is(&code_type))
        .collect())
}

fn name_and_line(code: &Bound<'_, PyAny>) -> PyResult<(String, u32)> {
    let py = code.py();
    Ok((
        code.getattr(intern!(py, "co_name"))?.extract()?,
        code.getattr(intern!(py, "co_firstlineno"))?.extract()?,
    ))
}

/// A cache in front of a patched function (`lru_cache`, `cache`) holds results of the
/// old code: it is cleared once the reload commits.
fn stale_caches<'py>(
    namespace: &Bound<'py, PyDict>,
    patch: &BodyPatch,
    canon: &mut Canon<'py>,
) -> PyResult<()> {
    let py = namespace.py();
    let root = match &patch.class {
        Some(class) => namespace.get_item(class)?.and_then(|c| {
            optional(&c, intern!(py, "__dict__"))?
                .get_item(&patch.name)
                .ok()
        }),
        None => namespace.get_item(&patch.name)?,
    };
    let mut item = root;
    for _ in 0..8 {
        let Some(current) = item else { break };
        if set_attribute(&current, intern!(py, "cache_clear")).is_some() {
            canon.stale_caches.push(current.clone());
        }
        item = set_attribute(&current, intern!(py, "__wrapped__"))
            .or_else(|| set_attribute(&current, intern!(py, "__func__")));
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
    let py = namespace.py();
    let root = match class {
        Some(class) => match namespace.get_item(class)? {
            Some(class) => class.getattr(intern!(py, "__dict__"))?.get_item(name).ok(),
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
        if let Some(code) = optional(&item, intern!(py, "__code__")) {
            let (code_name, line) = name_and_line(&code)?;
            if wanted(&code_name, line) && item.is_instance_of::<pyo3::types::PyFunction>() {
                return Ok(Some(item));
            }
        }
        if depth >= 4 {
            continue;
        }
        for attr in wrapper_links(py) {
            if let Some(inner) = set_attribute(&item, attr) {
                if !inner.is_none() {
                    pending.push((inner, depth + 1));
                }
            }
        }
        let closure = optional(&item, intern!(py, "__closure__"));
        if let Some(cells) = closure.and_then(|c| c.cast_into::<PyTuple>().ok()) {
            for cell in cells.iter() {
                if let Some(content) = optional(&cell, intern!(py, "cell_contents")) {
                    pending.push((content, depth + 1));
                }
            }
        }
    }
    Ok(None)
}
