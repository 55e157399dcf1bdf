//! Functions and classes that left a module, remembered (weakly) by qualified name for
//! the session: when a later version defines them again (an undo, or an editor that
//! saved an empty file before the real content), the old objects that references still
//! point to are patched again instead of being left behind with the old code.

use ahash::AHashMap;
use pyo3::prelude::*;
use pyo3::types::{PyWeakrefMethods, PyWeakrefReference};

#[derive(Default)]
pub struct Graveyard {
    /// Module name -> (qualified name, weak reference) of what left it.
    by_module: AHashMap<String, Vec<(String, Py<PyWeakrefReference>)>>,
}

impl Graveyard {
    /// What left `module` and is still alive somewhere.
    pub fn alive<'py>(&self, py: Python<'py>, module: &str) -> Vec<(String, Bound<'py, PyAny>)> {
        let Some(gone) = self.by_module.get(module) else {
            return Vec::new();
        };
        gone.iter()
            .filter_map(|(qualname, weak)| {
                let object = weak.bind(py).upgrade()?;
                Some((qualname.clone(), object))
            })
            .collect()
    }

    /// After a reload of `module`: `departed` objects left it, `revived` qualified names
    /// came back (their old objects are canonical again). Dead references are dropped.
    pub fn update(
        &mut self,
        py: Python<'_>,
        module: &str,
        departed: &[(String, Py<PyAny>)],
        revived: &[String],
    ) {
        let gone = self.by_module.entry(module.to_owned()).or_default();
        gone.retain(|(qualname, weak)| {
            !revived.contains(qualname) && weak.bind(py).upgrade().is_some()
        });
        for (qualname, object) in departed {
            // Objects that cannot be weakly referenced are not remembered.
            if let Ok(weak) = PyWeakrefReference::new(object.bind(py)) {
                gone.retain(|(q, _)| q != qualname);
                gone.push((qualname.clone(), weak.unbind()));
            }
        }
        if gone.is_empty() {
            self.by_module.remove(module);
        }
    }
}
