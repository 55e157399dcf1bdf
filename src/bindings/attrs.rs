//! Attribute lookups the reload makes on every function and class it patches. Names are
//! interned (a `&str` name becomes a new Python string at each lookup), and a missing
//! attribute is an answer rather than an exception: building an `AttributeError` (with
//! its formatted message) costs several times the lookup itself.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFunction, PyString};

/// `[intern!(py, "a"), intern!(py, "b"), ...]`: attribute names interned once.
macro_rules! interned {
    ($py:expr, [$($name:literal),* $(,)?]) => {
        [$(pyo3::intern!($py, $name)),*]
    };
}
pub(crate) use interned;

/// `object.<name>`, or None when it has no such attribute or reading it fails (a
/// property that raises is as good as absent to the walks that look).
pub fn optional<'py>(
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> Option<Bound<'py, PyAny>> {
    object.getattr_opt(name).ok().flatten()
}

/// `object.<name>` for a name that is no attribute of the function type (one a wrapper
/// or a decorator sets, like `cache_clear` or `__wrapped__`): on a plain function such a
/// name can only be in its `__dict__`, read there with no `AttributeError` to make and
/// clear when it is absent (which getattr costs on Python before 3.13).
pub fn set_attribute<'py>(
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> Option<Bound<'py, PyAny>> {
    if object.is_exact_instance_of::<PyFunction>() {
        let dict = optional(object, pyo3::intern!(object.py(), "__dict__"))?;
        return dict
            .cast_into::<PyDict>()
            .ok()?
            .get_item(name)
            .ok()
            .flatten();
    }
    optional(object, name)
}

/// `function.<name>`, for an attribute of the function type. `__type_params__` is one
/// from Python 3.12 on; before, a function only has it if it was set on it.
pub fn function_attribute<'py>(
    function: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> Option<Bound<'py, PyAny>> {
    static TYPE_PARAMS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let py = function.py();
    if name.is(pyo3::intern!(py, "__type_params__"))
        && !*TYPE_PARAMS.get_or_init(|| py.version_info() >= (3, 12))
    {
        return set_attribute(function, name);
    }
    optional(function, name)
}

/// The attributes through which a classmethod, staticmethod, property or
/// `functools.wraps` wrapper reaches the function inside.
pub fn wrapper_links(py: Python<'_>) -> [&Bound<'_, PyString>; 5] {
    interned!(py, ["__func__", "fget", "fset", "fdel", "__wrapped__"])
}
