//! What changed outside a module that its statements took at import: names bound by
//! `from m import name` whose value changed in `m`, and `from m import *` statements
//! whose set of names changed (or whose names now hold other values).

/// The import-time inputs of a module that other modules' reloads changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct External {
    /// Names bound by `from m import name` whose value is new in `m`.
    pub names: Vec<String>,
    /// `from m import *` statements to run again.
    pub stars: Vec<Star>,
}

/// A `from m import *` that must run again: it would bind other names, or other values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Star {
    /// The module it imports from (absolute name).
    pub module: String,
    /// The line of the import (the statement holding it runs again); 0 until the
    /// importer's imports are looked up.
    pub line: u32,
    /// Every name it binds now (so that a later statement binding one of them too runs
    /// after it again, and wins again, as in a fresh import).
    pub binds: Vec<String>,
    /// The names whose value it changes: new in `m`'s star set, or new values.
    pub changed: Vec<String>,
    /// Names it bound before and binds no more, still holding `m`'s old value: removed
    /// from the importer before the statement runs again.
    pub gone: Vec<String>,
}

impl External {
    pub fn of_names(names: &[String]) -> External {
        External {
            names: names.to_vec(),
            stars: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.stars.is_empty()
    }

    /// Adds `other` (the same module's inputs changed by another module of the batch).
    pub fn extend(&mut self, other: External) {
        for name in other.names {
            if !self.names.contains(&name) {
                self.names.push(name);
            }
        }
        self.stars.extend(other.stars);
    }

    /// The names every star import removes, minus those another one binds again.
    pub fn unbound(&self) -> Vec<String> {
        let mut gone: Vec<String> = self
            .stars
            .iter()
            .flat_map(|s| s.gone.iter())
            .filter(|g| !self.stars.iter().any(|s| s.binds.contains(g)))
            .cloned()
            .collect();
        gone.sort();
        gone.dedup();
        gone
    }
}
