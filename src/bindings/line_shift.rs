//! Unchanged functions and classes whose lines moved get their new line numbers, so
//! tracebacks point at the file as it is now without running anything again.

use ahash::AHashSet;
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
    // A compound statement can bind one object under several names (`alias = f`):
    // each object moves once.
    let mut moved = AHashSet::new();
    for shift in shifts {
        let delta = i64::from(shift.new_first_line) - i64::from(shift.old_first_line);
        if let Some(last) = shift.nested_until {
            let lines = (shift.old_first_line, last);
            let mut nested = Nested {
                namespace,
                lines,
                delta,
                journal,
                moved: &mut moved,
            };
            nested.shift(py, shift)?;
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

/// Moving what a compound statement that moved bound: a function made by a `def` within
/// the statement's old `lines`, or a class defined there (with its methods). Anything else
/// bound there (values, functions from elsewhere) has no lines of its own.
struct Nested<'a, 'py> {
    namespace: &'a Bound<'py, PyDict>,
    lines: (u32, u32),
    delta: i64,
    journal: &'a mut Journal<'py>,
    /// Objects already moved, by address.
    moved: &'a mut AHashSet<usize>,
}

impl<'py> Nested<'_, 'py> {
    fn within(&self, line: u32) -> bool {
        (self.lines.0..=self.lines.1).contains(&line)
    }

    fn shift(&mut self, py: Python<'py>, shift: &Shift) -> PyResult<()> {
        let (class, name) = (shift.class.as_deref(), shift.name.as_str());
        // The function of that name first: a decorator defined in the same statement
        // has its wrapper's lines there too.
        let named = find_function_where(self.namespace, class, name, |code_name, line| {
            code_name == name && self.within(line)
        })?;
        let found = match named {
            Some(function) => Some(function),
            None => find_function_where(self.namespace, class, name, |_, line| self.within(line))?,
        };
        if let Some(function) = found {
            return self.move_function(py, &function);
        }
        let Some(class_object) = self.namespace.get_item(name)? else {
            return Ok(());
        };
        if class.is_some() || !class_object.is_instance_of::<pyo3::types::PyType>() {
            return Ok(());
        }
        if !self.moved.insert(class_object.as_ptr() as usize) {
            return Ok(());
        }
        let first = class_object
            .getattr("__firstlineno__")
            .and_then(|l| l.extract::<u32>());
        match first {
            Ok(line) if self.within(line) => {
                self.journal.save_attr(&class_object, "__firstlineno__")?;
                class_object.setattr("__firstlineno__", i64::from(line) + self.delta)?;
                self.move_methods(py, &class_object)
            }
            Ok(_) => Ok(()),
            Err(_) => self.move_methods(py, &class_object), // before 3.13: no __firstlineno__
        }
    }

    /// The functions in `class`'s own dict whose code starts within the moved lines.
    fn move_methods(&mut self, py: Python<'py>, class: &Bound<'py, PyAny>) -> PyResult<()> {
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
            if self.within(line) && member.is_instance_of::<pyo3::types::PyFunction>() {
                self.move_function(py, &member)?;
            }
        }
        Ok(())
    }

    /// Moves a function of this module's file, once.
    fn move_function(&mut self, py: Python<'py>, function: &Bound<'py, PyAny>) -> PyResult<()> {
        let code = function.getattr("__code__")?;
        let file = self.namespace.get_item("__file__")?;
        let filename = code.getattr("co_filename")?;
        let ours = file.is_some_and(|f| f.eq(&filename).unwrap_or(false));
        if ours && self.moved.insert(function.as_ptr() as usize) {
            self.journal.save_function(function)?;
            function.setattr("__code__", shifted(py, &code, self.delta)?)?;
        }
        Ok(())
    }
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
