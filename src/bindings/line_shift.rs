//! Unchanged functions and classes whose lines moved get their new line numbers, so
//! tracebacks point at the file as it is now without running anything again.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::journal::Journal;
use super::partial::{find_function, find_function_where};
use crate::outline::Shift;

/// Gives unchanged functions (and classes' methods) that moved their new line numbers.
pub fn shift_lines<'py>(
    py: Python<'py>,
    namespace: &Bound<'py, PyDict>,
    shifts: &[Shift],
    journal: &mut Journal<'py>,
) -> PyResult<()> {
    for shift in shifts {
        let delta = i64::from(shift.new_first_line) - i64::from(shift.old_first_line);
        if let Some(last) = shift.nested_until {
            shift_nested(
                py,
                namespace,
                shift,
                (shift.old_first_line, last),
                delta,
                journal,
            )?;
            continue;
        }
        if shift.class.is_none() {
            if let Some(class) = namespace.get_item(&shift.name)? {
                if class.hasattr(intern!(class.py(), "__firstlineno__"))?
                    && class.is_instance_of::<pyo3::types::PyType>()
                {
                    journal.save_attr(&class, "__firstlineno__")?;
                    class.setattr(intern!(class.py(), "__firstlineno__"), shift.new_first_line)?;
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
            journal.save_function(&function)?;
            let code = shifted(
                py,
                &function.getattr(intern!(function.py(), "__code__"))?,
                delta,
            )?;
            function.setattr(intern!(function.py(), "__code__"), code)?;
        }
    }
    Ok(())
}

/// What a compound statement that moved bound under `shift.name`: a function made by a
/// `def` within the statement's old lines, or a class defined there (with its methods).
/// Anything else bound there (values, functions from elsewhere) has no lines of its own.
fn shift_nested<'py>(
    py: Python<'py>,
    namespace: &Bound<'py, PyDict>,
    shift: &Shift,
    (first, last): (u32, u32),
    delta: i64,
    journal: &mut Journal<'py>,
) -> PyResult<()> {
    let within = |line: u32| (first..=last).contains(&line);
    let file = namespace.get_item("__file__")?;
    let ours = |function: &Bound<'py, PyAny>| -> PyResult<bool> {
        let filename = function.getattr("__code__")?.getattr("co_filename")?;
        Ok(file
            .as_ref()
            .is_some_and(|f| f.eq(&filename).unwrap_or(false)))
    };
    let found = find_function_where(namespace, shift.class.as_deref(), &shift.name, |_, line| {
        within(line)
    })?;
    if let Some(function) = found {
        if ours(&function)? {
            journal.save_function(&function)?;
            let code = shifted(py, &function.getattr("__code__")?, delta)?;
            function.setattr("__code__", code)?;
        }
        return Ok(());
    }
    let Some(class) = namespace.get_item(&shift.name)? else {
        return Ok(());
    };
    if shift.class.is_some() || !class.is_instance_of::<pyo3::types::PyType>() {
        return Ok(());
    }
    let Ok(line) = class
        .getattr("__firstlineno__")
        .and_then(|l| l.extract::<u32>())
    else {
        return shift_methods(py, &class, within, &ours, delta, journal);
    };
    if within(line) {
        journal.save_attr(&class, "__firstlineno__")?;
        class.setattr("__firstlineno__", i64::from(line) + delta)?;
        shift_methods(py, &class, within, &ours, delta, journal)?;
    }
    Ok(())
}

/// The functions in `class`'s own dict whose code starts within the moved lines.
fn shift_methods<'py>(
    py: Python<'py>,
    class: &Bound<'py, PyAny>,
    within: impl Fn(u32) -> bool,
    ours: &impl Fn(&Bound<'py, PyAny>) -> PyResult<bool>,
    delta: i64,
    journal: &mut Journal<'py>,
) -> PyResult<()> {
    let members = class.getattr("__dict__")?.call_method0("values")?;
    for member in members.try_iter()? {
        let mut member = member?;
        if let Ok(inner) = member.getattr("__func__") {
            member = inner; // classmethod, staticmethod
        }
        let Ok(code) = member.getattr("__code__") else {
            continue;
        };
        let line: u32 = code.getattr("co_firstlineno")?.extract()?;
        if within(line) && member.is_instance_of::<pyo3::types::PyFunction>() && ours(&member)? {
            journal.save_function(&member)?;
            member.setattr("__code__", shifted(py, &code, delta)?)?;
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
    let first: i64 = code
        .getattr(intern!(code.py(), "co_firstlineno"))?
        .extract()?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("co_firstlineno", first + delta)?;
    kwargs.set_item("co_consts", PyTuple::new(py, consts)?)?;
    code.call_method("replace", (), Some(&kwargs))
}
