//! Unchanged functions and classes whose lines moved get their new line numbers, so
//! tracebacks point at the file as it is now without running anything again.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::journal::Journal;
use super::partial::find_function;
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
