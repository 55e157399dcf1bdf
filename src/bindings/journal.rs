//! What a reload changed outside the module's namespace, recorded before each change so
//! that a reload that fails at any step can put every object back as it was.
//!
//! The patchers call `save_*` just before they write; `restore` undoes the entries in
//! reverse order. Each object is saved once per reload (its state before the first write
//! is the one to go back to).

use ahash::AHashSet;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PySet, PyString, PyType};

use super::attrs::{function_attribute, interned};
use super::heap;

/// Function attributes a patch may write (the closure is saved on its own).
fn function_attrs(py: Python<'_>) -> [&Bound<'_, PyString>; 7] {
    interned!(
        py,
        [
            "__code__",
            "__defaults__",
            "__kwdefaults__",
            "__dict__",
            "__annotations__",
            "__doc__",
            "__type_params__",
        ]
    )
}

/// Class-dict keys that cannot be written (per-class descriptors of the layout).
const UNWRITABLE_CLASS_KEYS: [&str; 2] = ["__dict__", "__weakref__"];

enum Undo<'py> {
    Function {
        function: Bound<'py, PyAny>,
        closure: Bound<'py, PyAny>,
        attrs: Vec<(Bound<'py, PyString>, Bound<'py, PyAny>)>,
    },
    Class {
        class: Bound<'py, PyType>,
        bases: Bound<'py, PyAny>,
        items: Vec<(String, Bound<'py, PyAny>)>,
    },
    Cell {
        cell: Bound<'py, PyAny>,
        content: Option<Bound<'py, PyAny>>,
    },
    InstanceClass {
        object: Bound<'py, PyAny>,
        class: Bound<'py, PyType>,
    },
    Attr {
        object: Bound<'py, PyAny>,
        name: &'static str,
        value: Bound<'py, PyAny>,
    },
    Dict {
        dict: Bound<'py, PyDict>,
        copy: Bound<'py, PyDict>,
    },
    State {
        object: Bound<'py, PyAny>,
        state: Bound<'py, PyAny>,
    },
    List {
        list: Bound<'py, PyList>,
        copy: Vec<Bound<'py, PyAny>>,
    },
    Set {
        set: Bound<'py, PySet>,
        copy: Vec<Bound<'py, PyAny>>,
    },
}

/// The undo log of one reload.
#[derive(Default)]
pub struct Journal<'py> {
    entries: Vec<Undo<'py>>,
    /// Objects already saved as a whole (functions, classes), by address.
    saved: AHashSet<usize>,
}

impl<'py> Journal<'py> {
    fn first_time(&mut self, object: &Bound<'py, PyAny>) -> bool {
        self.saved.insert(object.as_ptr() as usize)
    }

    /// Before a function's code, closure, defaults or other attributes are written.
    pub fn save_function(&mut self, function: &Bound<'py, PyAny>) -> PyResult<()> {
        if !self.first_time(function) {
            return Ok(());
        }
        let mut attrs = Vec::new();
        for attr in function_attrs(function.py()) {
            if let Some(value) = function_attribute(function, attr) {
                attrs.push((attr.clone(), value));
            }
        }
        let closure = function.getattr(intern!(function.py(), "__closure__"))?;
        self.entries.push(Undo::Function {
            function: function.clone(),
            closure,
            attrs,
        });
        Ok(())
    }

    /// Before a class's namespace or bases are written.
    pub fn save_class(&mut self, class: &Bound<'py, PyType>) -> PyResult<()> {
        if !self.first_time(class.as_any()) {
            return Ok(());
        }
        let mut items = Vec::new();
        for item in class
            .getattr("__dict__")?
            .call_method0("items")?
            .try_iter()?
        {
            let (key, value): (String, Bound<'py, PyAny>) = item?.extract()?;
            if !UNWRITABLE_CLASS_KEYS.contains(&key.as_str()) {
                items.push((key, value));
            }
        }
        self.entries.push(Undo::Class {
            class: class.clone(),
            bases: class.getattr(intern!(class.py(), "__bases__"))?,
            items,
        });
        Ok(())
    }

    /// Before a closure cell's content is written.
    pub fn save_cell(&mut self, cell: &Bound<'py, PyAny>) {
        let content = cell.getattr(intern!(cell.py(), "cell_contents")).ok();
        self.entries.push(Undo::Cell {
            cell: cell.clone(),
            content,
        });
    }

    /// Before an object is moved to another class.
    pub fn save_instance_class(&mut self, object: &Bound<'py, PyAny>) {
        self.entries.push(Undo::InstanceClass {
            object: object.clone(),
            class: object.get_type(),
        });
    }

    /// Before attribute `name` of `object` is written.
    pub fn save_attr(&mut self, object: &Bound<'py, PyAny>, name: &'static str) -> PyResult<()> {
        let value = object.getattr(name)?;
        self.entries.push(Undo::Attr {
            object: object.clone(),
            name,
            value,
        });
        Ok(())
    }

    /// Before items of `dict` are written.
    pub fn save_dict(&mut self, dict: &Bound<'py, PyDict>) -> PyResult<()> {
        self.entries.push(Undo::Dict {
            dict: dict.clone(),
            copy: dict.copy()?,
        });
        Ok(())
    }

    /// Before items of `list` are written.
    pub fn save_list(&mut self, list: &Bound<'py, PyList>) {
        self.entries.push(Undo::List {
            list: list.clone(),
            copy: list.iter().collect(),
        });
    }

    /// Before items of `set` are added or removed.
    pub fn save_set(&mut self, set: &Bound<'py, PySet>) {
        self.entries.push(Undo::Set {
            set: set.clone(),
            copy: set.iter().collect(),
        });
    }

    /// Before `object.__setstate__` is called (a `functools.partial`).
    pub fn save_state(&mut self, object: &Bound<'py, PyAny>) -> PyResult<()> {
        let state = object.call_method0("__reduce__")?.get_item(2)?;
        self.entries.push(Undo::State {
            object: object.clone(),
            state,
        });
        Ok(())
    }

    /// Undoes every entry, newest first. Keeps going after an error, so that as much as
    /// possible is restored, and returns the first error.
    pub fn restore(&mut self, py: Python<'py>) -> PyResult<()> {
        let mut first_error = None;
        while let Some(entry) = self.entries.pop() {
            if let Err(err) = undo(py, entry) {
                first_error.get_or_insert(err);
            }
        }
        self.saved.clear();
        first_error.map_or(Ok(()), Err)
    }
}

fn undo<'py>(py: Python<'py>, entry: Undo<'py>) -> PyResult<()> {
    match entry {
        Undo::Function {
            function,
            closure,
            attrs,
        } => {
            // The closure first: setting `__code__` checks it against the closure's size.
            heap::set_closure(&function, &closure)?;
            for (attr, value) in attrs {
                function.setattr(attr, value)?;
            }
            Ok(())
        }
        Undo::Class {
            class,
            bases,
            items,
        } => restore_class(py, &class, &bases, items),
        Undo::Cell { cell, content } => match content {
            Some(content) => cell.setattr(intern!(cell.py(), "cell_contents"), content),
            None => cell.delattr(intern!(cell.py(), "cell_contents")),
        },
        Undo::InstanceClass { object, class } => heap::set_class(&object, &class),
        Undo::Attr {
            object,
            name,
            value,
        } => object.setattr(name, value),
        Undo::Dict { dict, copy } => {
            dict.clear();
            dict.update(copy.as_mapping())
        }
        Undo::State { object, state } => {
            object.call_method1("__setstate__", (state,))?;
            Ok(())
        }
        Undo::List { list, copy } => {
            let items = PyList::new(py, copy)?;
            list.as_any()
                .set_item(pyo3::types::PySlice::full(py), items)
        }
        Undo::Set { set, copy } => {
            set.clear();
            for item in copy {
                set.add(item)?;
            }
            Ok(())
        }
    }
}

/// Puts a class's bases and namespace back: keys added since are removed, the saved ones
/// set again (with `type.__setattr__`, past a metaclass's own `__setattr__`).
fn restore_class<'py>(
    py: Python<'py>,
    class: &Bound<'py, PyType>,
    bases: &Bound<'py, PyAny>,
    items: Vec<(String, Bound<'py, PyAny>)>,
) -> PyResult<()> {
    let type_ = py.get_type::<PyType>();
    if !class.getattr(intern!(class.py(), "__bases__"))?.is(bases) {
        class.setattr(intern!(class.py(), "__bases__"), bases)?;
    }
    let now: Vec<String> = class
        .getattr("__dict__")?
        .call_method0("keys")?
        .try_iter()?
        .map(|k| k?.extract())
        .collect::<PyResult<_>>()?;
    let saved: AHashSet<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
    for key in now {
        if !saved.contains(key.as_str()) && !UNWRITABLE_CLASS_KEYS.contains(&key.as_str()) {
            type_.call_method1("__delattr__", (class, key))?;
        }
    }
    let dict = class.getattr(intern!(class.py(), "__dict__"))?;
    for (key, value) in items {
        let current = dict.get_item(&key).ok();
        if current.is_some_and(|c| c.is(&value)) || key == "__slots__" {
            continue;
        }
        type_.call_method1("__setattr__", (class, key, value))?;
    }
    Ok(())
}
