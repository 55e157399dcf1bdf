//! Running only what a plan says: changed statements, patched function bodies, removed
//! names, moved line numbers. All new code is compiled from the real file's lines (blank
//! lines pad each fragment to its place), so tracebacks and debuggers show real lines.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyModule, PyTuple};

use super::heap;
use super::patch::{changed_names, Canon, Outcome};
use crate::outline::{BodyPatch, Plan, Shift, Span};

/// A plan, as Python holds it between planning and reloading.
#[pyclass(module = "fastautoreload._native", frozen)]
pub struct ReloadPlan {
    pub(crate) plan: Plan,
}

#[pymethods]
impl ReloadPlan {
    /// What the plan does, e.g. `2 statements, 1 function patched`.
    #[getter]
    fn summary(&self) -> String {
        self.plan.summary()
    }

    /// Why the whole module runs again, if it does.
    #[getter]
    fn full(&self) -> Option<String> {
        self.plan.full.clone()
    }

    fn __repr__(&self) -> String {
        format!("<ReloadPlan {}>", self.plan.summary())
    }
}

/// A function body that is about to be patched: where the old function is, and what
/// it was, to put it back if the reload fails.
struct Located<'py> {
    patch: &'py BodyPatch,
    old: Bound<'py, PyAny>,
    saved: FunctionState<'py>,
    /// A method compiled inside its class (see `Block`).
    in_class: bool,
}

/// Why a plan could not be carried out as planned (the caller runs the whole module).
pub struct Fallback(pub String);

/// Carries out `plan` on `module`, whose new source is `source`. Errors from the user's
/// code propagate with the namespace and patched functions restored; `Ok(Err(..))` says
/// the plan cannot be followed (a function to patch was not found) and nothing changed.
pub fn run_plan<'py>(
    py: Python<'py>,
    module: &Bound<'py, PyModule>,
    source: &Bound<'py, PyBytes>,
    path: &str,
    plan: &'py Plan,
    before: &Bound<'py, PyDict>,
) -> PyResult<Result<Outcome, Fallback>> {
    let Ok(text) = std::str::from_utf8(source.as_bytes()) else {
        return Ok(Err(Fallback("the source is not UTF-8".into())));
    };
    let lines = line_starts(text);
    if !fits(plan, lines.len() - 1) {
        return Ok(Err(Fallback("the plan does not match the file".into())));
    }
    let namespace = module.dict();
    let name: String = module.name()?.extract()?;
    // Compile everything first: a syntax error changes nothing.
    let run_code = if plan.run.is_empty() {
        None
    } else {
        let mut spans: Vec<Span> = plan.future.iter().chain(&plan.run).copied().collect();
        spans.sort_by_key(|span| span.first);
        spans.dedup();
        Some(compile(
            py,
            &fragment(text, &lines, &spans, plan.future.is_empty()),
            path,
        )?)
    };
    // All patched bodies compile together: CPython's compile has a fixed cost far above
    // that of a small function.
    let bodies_code = if plan.bodies.is_empty() {
        None
    } else {
        let fragment = bodies_fragment(text, &lines, &plan.future, &plan.bodies);
        Some(compile(py, &fragment, path)?)
    };
    let mut located = Vec::new();
    for patch in &plan.bodies {
        let Some(old) = find_function(
            &namespace,
            patch.class.as_deref(),
            &patch.name,
            patch.old_first_line,
        )?
        else {
            return Ok(Err(Fallback(format!(
                "function {} was not found",
                patch.name
            ))));
        };
        let saved = FunctionState::capture(&old)?;
        let in_class =
            patch.class.is_some() && needs_class(span_text(text, &lines, patch.def_span));
        located.push(Located {
            patch,
            old,
            saved,
            in_class,
        });
    }
    let mut canon = Canon::new(py, &name)?;
    canon.set_young_before(heap::young_addresses(py)?);
    let result = heap::with_young_objects(py, || {
        if let Some(code) = &bodies_code {
            patch_bodies(py, code, &namespace, &mut canon, &located)?;
        }
        if let Some(code) = &run_code {
            py.import("builtins")?
                .getattr("exec")?
                .call1((code, &namespace))?;
        }
        Ok(())
    })?;
    let young = match result {
        Ok(young) => young,
        Err(err) => {
            namespace.clear();
            namespace.update(before.as_mapping())?;
            for l in &located {
                l.saved.restore(&l.old)?;
            }
            return Err(err);
        }
    };
    for gone in &plan.delete {
        if namespace.contains(gone)? {
            namespace.del_item(gone)?;
        }
    }
    canon.adopt(before, &namespace)?;
    shift_lines(py, &namespace, &plan.shifts)?;
    let rebound = changed_names(before, &namespace)?;
    Ok(Ok(canon.finish(py, young, rebound)?))
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
    located: &[Located<'py>],
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
        for free in new_code.getattr("co_freevars")?.try_iter()? {
            let free: String = free?.extract()?;
            match (&class, free.as_str()) {
                (Some(class), "__class__") => {
                    cells.push(types.getattr("CellType")?.call1((class,))?)
                }
                _ => return Err(missing(&free)),
            }
        }
        let closure = if cells.is_empty() {
            py.None().into_bound(py)
        } else {
            PyTuple::new(py, cells)?.into_any()
        };
        let old = &l.old;
        let new = types.getattr("FunctionType")?.call1((
            &new_code,
            namespace,
            &patch.name,
            old.getattr("__defaults__")?,
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
        if let Ok(params) = old.getattr("__type_params__") {
            new.setattr("__type_params__", params)?;
        }
        canon.pair(&new, old);
        canon.patch_function(old, &new)?;
        clear_caches(namespace, patch)?;
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
        for constant in code.getattr("co_consts")?.try_iter()? {
            let constant = constant?;
            if constant.get_type().is(&code_type) {
                found.push(constant);
            }
        }
        Ok(found)
    };
    let named = |code: &Bound<'py, PyAny>, wanted: &str| -> bool {
        code.getattr("co_name")
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
            let line: u32 = code.getattr("co_firstlineno")?.extract()?;
            if named(&code, name) && line == first_line {
                return Ok(Some(code));
            }
        }
    }
    Ok(None)
}

/// A cache in front of a patched function (`lru_cache`, `cache`) holds results of the
/// old code: clear it.
fn clear_caches(namespace: &Bound<'_, PyDict>, patch: &BodyPatch) -> PyResult<()> {
    let root = match &patch.class {
        Some(class) => namespace
            .get_item(class)?
            .and_then(|c| c.getattr("__dict__").ok()?.get_item(&patch.name).ok()),
        None => namespace.get_item(&patch.name)?,
    };
    let mut item = root;
    for _ in 0..8 {
        let Some(current) = item else { break };
        if let Ok(clear) = current.getattr("cache_clear") {
            clear.call0()?;
        }
        item = current
            .getattr("__wrapped__")
            .ok()
            .or_else(|| current.getattr("__func__").ok());
    }
    Ok(())
}

fn missing(name: &str) -> PyErr {
    PyRuntimeError::new_err(format!(
        "fastautoreload: cannot patch {name} from its new source"
    ))
}

fn compile<'py>(py: Python<'py>, text: &str, path: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("builtins")?
        .getattr("compile")?
        .call1((text, path, "exec", 0, true))
}

/// Whether every span of `plan` lies within a file of `line_count` lines.
fn fits(plan: &Plan, line_count: usize) -> bool {
    let line_count = line_count as u32;
    let ok = |span: &Span| span.first >= 1 && span.first <= span.last && span.last <= line_count;
    plan.run.iter().chain(&plan.future).all(ok)
        && plan
            .bodies
            .iter()
            .all(|b| ok(&b.def_span) && b.first_line >= 1 && b.first_line <= b.def_span.first)
}

/// Byte offsets where each line starts (line 1 at index 0), plus the end.
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    starts.push(text.len());
    starts
}

/// The lines of `spans`, each at its own line number (blank lines in between).
///
/// A string statement first in the fragment would become the module's `__doc__`: a
/// `pass` on line 1 comes before it (`guard`: no `__future__` import, which must come
/// first, is in the fragment).
fn fragment(text: &str, starts: &[usize], spans: &[Span], guard: bool) -> String {
    let mut out = String::new();
    let mut line = 1u32;
    // The real docstring never runs partially (a changed one reloads the whole module).
    if guard && spans.first().is_some_and(|span| span.first > 1) {
        out.push_str("pass\n");
        line = 2;
    }
    for span in spans {
        let first = span.first.max(line);
        out.extend(std::iter::repeat_n('\n', (first - line) as usize));
        push_lines(&mut out, text, starts, first, span.last);
        line = span.last + 1;
    }
    out
}

/// The patched functions' definitions, each at its own lines. Their decorators are not
/// run: they become one identity decorator on the first decorator's line, so the new
/// code starts on the same line as a fresh import's would. Methods sit in a
/// `class <name>:` line just above the first patched method of that class.
///
/// The module's `__future__` imports come first, so the bodies compile as they would in
/// the file (`annotations` leaves annotations unevaluated).
fn bodies_fragment(text: &str, starts: &[usize], future: &[Span], bodies: &[BodyPatch]) -> String {
    let mut out = String::new();
    let mut line = 1u32;
    for span in future {
        pad_to(&mut out, &mut line, span.first);
        push_lines(&mut out, text, starts, span.first, span.last);
        line = span.last + 1;
    }
    let mut open = Block::None;
    for patch in bodies {
        let def = patch.def_span;
        let first = patch.first_line;
        let indent: String = text[starts[(def.first - 1) as usize]..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let block = match patch.class.as_deref() {
            Some(class) if needs_class(span_text(text, starts, def)) => {
                Block::Class(class.to_owned())
            }
            Some(_) => Block::If(indent.clone()),
            None => Block::None,
        };
        if block != open {
            if let Some(header) = block.header() {
                pad_to(&mut out, &mut line, first - 1);
                out.push_str(&header);
                line += 1;
            }
            open = block;
        }
        pad_to(&mut out, &mut line, first);
        if first < def.first {
            out.push_str(&format!("{indent}@(lambda function: function)\n"));
            line += 1;
            pad_to(&mut out, &mut line, def.first);
        }
        push_lines(&mut out, text, starts, def.first, def.last);
        line = def.last + 1;
    }
    out
}

/// What an indented method definition is compiled inside: its class, when its code
/// depends on the class (`super()`, `__class__`, private names that get mangled), or
/// else a plain `if True:` block, which compiles much faster than a class.
#[derive(PartialEq, Eq)]
enum Block {
    None,
    Class(String),
    If(String),
}

impl Block {
    fn header(&self) -> Option<String> {
        match self {
            Block::None => None,
            Block::Class(name) => Some(format!("class {name}:\n")),
            Block::If(_) => Some("if True:\n".to_owned()),
        }
    }
}

fn span_text<'t>(text: &'t str, starts: &[usize], span: Span) -> &'t str {
    let end = starts[(span.last as usize).min(starts.len() - 1)];
    &text[starts[(span.first - 1) as usize]..end]
}

/// Whether a method's code needs its class around it to compile the same.
fn needs_class(text: &str) -> bool {
    text.contains("super") || text.contains("__class__") || has_private_name(text)
}

/// A `__name` that Python mangles inside a class (not a `__dunder__`).
fn has_private_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    text.match_indices("__").any(|(i, _)| {
        if i > 0 && ident(bytes[i - 1]) {
            return false;
        }
        let end = (i..bytes.len())
            .find(|&k| !ident(bytes[k]))
            .unwrap_or(bytes.len());
        let name = &text[i..end];
        name.len() > 2 && !name.ends_with("__")
    })
}

/// Blank lines until the next line written is line `target`.
fn pad_to(out: &mut String, line: &mut u32, target: u32) {
    while *line < target {
        out.push('\n');
        *line += 1;
    }
}

fn push_lines(out: &mut String, text: &str, starts: &[usize], first: u32, last: u32) {
    let start = starts[(first - 1) as usize];
    let end = starts[(last as usize).min(starts.len() - 1)];
    out.push_str(&text[start..end]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

/// The function object that the statement starting at `first_line` made: reached from
/// the module (or class) name, through classmethods, properties, `__wrapped__` and
/// decorator closures.
fn find_function<'py>(
    namespace: &Bound<'py, PyDict>,
    class: Option<&str>,
    name: &str,
    first_line: u32,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let root = match class {
        Some(class) => match namespace.get_item(class)? {
            Some(class) => class.getattr("__dict__")?.get_item(name).ok(),
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
        if let Ok(code) = item.getattr("__code__") {
            let line: u32 = code.getattr("co_firstlineno")?.extract()?;
            let code_name: String = code.getattr("co_name")?.extract()?;
            if line == first_line
                && code_name == name
                && item.is_instance_of::<pyo3::types::PyFunction>()
            {
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
                if let Ok(content) = cell.getattr("cell_contents") {
                    pending.push((content, depth + 1));
                }
            }
        }
    }
    Ok(None)
}

/// What patching changes on a function, to undo it.
struct FunctionState<'py> {
    closure: Bound<'py, PyAny>,
    attrs: Vec<(&'static str, Bound<'py, PyAny>)>,
}

const SAVED_ATTRS: [&str; 6] = [
    "__code__",
    "__defaults__",
    "__kwdefaults__",
    "__dict__",
    "__annotations__",
    "__doc__",
];

impl<'py> FunctionState<'py> {
    fn capture(function: &Bound<'py, PyAny>) -> PyResult<FunctionState<'py>> {
        let mut attrs = Vec::new();
        for attr in SAVED_ATTRS {
            attrs.push((attr, function.getattr(attr)?));
        }
        Ok(FunctionState {
            closure: function.getattr("__closure__")?,
            attrs,
        })
    }

    fn restore(&self, function: &Bound<'py, PyAny>) -> PyResult<()> {
        heap::set_closure(function, &self.closure)?;
        for (attr, value) in &self.attrs {
            function.setattr(*attr, value)?;
        }
        Ok(())
    }
}

/// Gives unchanged functions (and classes' methods) that moved their new line numbers.
fn shift_lines(py: Python<'_>, namespace: &Bound<'_, PyDict>, shifts: &[Shift]) -> PyResult<()> {
    for shift in shifts {
        let delta = i64::from(shift.new_first_line) - i64::from(shift.old_first_line);
        if shift.class.is_none() {
            if let Some(class) = namespace.get_item(&shift.name)? {
                if class.hasattr("__firstlineno__")?
                    && class.is_instance_of::<pyo3::types::PyType>()
                {
                    class.setattr("__firstlineno__", shift.new_first_line)?;
                    continue;
                }
            }
        }
        let found = find_function(
            namespace,
            shift.class.as_deref(),
            &shift.name,
            shift.old_first_line,
        )?;
        if let Some(function) = found {
            let code = shifted(py, &function.getattr("__code__")?, delta)?;
            function.setattr("__code__", code)?;
        }
    }
    Ok(())
}

/// `code` with every line number moved by `delta`, nested code included.
fn shifted<'py>(
    py: Python<'py>,
    code: &Bound<'py, PyAny>,
    delta: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let code_type = code.get_type();
    let consts: Vec<Bound<'py, PyAny>> = code
        .getattr("co_consts")?
        .try_iter()?
        .map(|c| {
            let c = c?;
            if c.get_type().is(&code_type) {
                shifted(py, &c, delta)
            } else {
                Ok(c)
            }
        })
        .collect::<PyResult<_>>()?;
    let first: i64 = code.getattr("co_firstlineno")?.extract()?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("co_firstlineno", first + delta)?;
    kwargs.set_item("co_consts", PyTuple::new(py, consts)?)?;
    code.call_method("replace", (), Some(&kwargs))
}
