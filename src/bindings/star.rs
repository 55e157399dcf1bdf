//! What a `from m import *` in an importer must do after `m` reloaded: the names it
//! would bind now that the importer lacks or holds with `m`'s old value, and those it
//! bound before and no longer would.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::outline::Star;

/// The names `from m import *` binds from a module namespace: `__all__`, or else every
/// name not starting with an underscore. None when `__all__` is not a sequence of
/// strings (the import would fail).
fn star_names(namespace: &Bound<'_, PyDict>) -> PyResult<Option<Vec<String>>> {
    if let Some(all) = namespace.get_item("__all__")? {
        let Ok(items) = all.try_iter() else {
            return Ok(None);
        };
        let mut names = Vec::new();
        for item in items {
            match item.and_then(|i| i.extract::<String>()) {
                Ok(name) => names.push(name),
                Err(_) => return Ok(None),
            }
        }
        return Ok(Some(names));
    }
    let mut names = Vec::new();
    for key in namespace.keys() {
        if let Ok(name) = key.extract::<String>() {
            if !name.starts_with('_') {
                names.push(name);
            }
        }
    }
    Ok(Some(names))
}

/// What the importer's `from module import *` must do, given `module`'s namespace
/// `before` and `after` its reload and the importer's `namespace`; None when nothing.
pub fn star_refresh(
    module: &str,
    before: &Bound<'_, PyDict>,
    after: &Bound<'_, PyDict>,
    namespace: &Bound<'_, PyDict>,
) -> PyResult<Option<Star>> {
    let (Some(old), Some(new)) = (star_names(before)?, star_names(after)?) else {
        return Ok(None);
    };
    let mut changed = Vec::new();
    for name in &new {
        let Some(value) = after.get_item(name)? else {
            continue;
        };
        let held = namespace.get_item(name)?;
        if held.as_ref().is_some_and(|h| h.is(&value)) {
            continue;
        }
        // A value of the importer's own (bound after the import) is not stale; one the
        // import gave it from the old module is, and so is any name it never gave.
        let old_value = before.get_item(name)?;
        let gave_old = match (&held, &old_value) {
            (Some(h), Some(o)) => h.is(o),
            _ => false,
        };
        if gave_old || !old.contains(name) {
            changed.push(name.clone());
        }
    }
    let mut gone = Vec::new();
    for name in old.iter().filter(|n| !new.contains(n)) {
        let (Some(held), Some(old_value)) = (namespace.get_item(name)?, before.get_item(name)?)
        else {
            continue;
        };
        if held.is(&old_value) {
            gone.push(name.clone());
        }
    }
    if changed.is_empty() && gone.is_empty() {
        return Ok(None);
    }
    Ok(Some(Star {
        module: module.to_owned(),
        line: 0,
        binds: new,
        changed,
        gone,
    }))
}
