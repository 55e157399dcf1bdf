//! Attribute lookups the reload makes on every function and class it patches. Names are
//! interned (a `&str` name becomes a new Python string at each lookup), and a missing
//! attribute is an answer rather than an exception: building an `AttributeError` (with
//! its formatted message) costs several times the lookup itself.

use pyo3::prelude::*;
use pyo3::types::PyString;

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

/// The attributes through which a classmethod, staticmethod, property or
/// `functools.wraps` wrapper reaches the function inside.
pub fn wrapper_links(py: Python<'_>) -> [&Bound<'_, PyString>; 5] {
    interned!(py, ["__func__", "fget", "fset", "fdel", "__wrapped__"])
}
