//! What changed outside a module that its statements took at import: names bound by
//! `from m import name` whose value changed in `m`, and `from m import *` statements
//! whose set of names changed (or whose names now hold other values).

/// The import-time inputs of a module that other modules' reloads changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct External {
    /// Names bound by `from m import name` whose value is new in `m`.
    pub names: Vec<String>,
    /// Names bound by `from m import name` to an object `m` patched in place whose
    /// behaviour changed: what read them at import runs again (not the import).
    pub patched: Vec<String>,
    /// `from m import *` statements to run again.
    pub stars: Vec<Star>,
    /// Names bound to module objects through which the names in `attrs` may be reached
    /// (`functoolz` in `functoolz._sigs.create_signature_registry()`).
    pub via: Vec<Via>,
    /// Names whose value or behaviour changed in a module reached through `via`: a
    /// statement reading one of `via` and using one of these attributes ran changed code.
    pub attrs: Vec<String>,
}

/// A name bound to a module object through which a changed module's names may be
/// reached: code using it reaches them only with one of the attributes `toward` (the
/// module's names that lead there: the changed module itself, modules importing it,
/// objects of it the module re-exports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub name: String,
    pub toward: Vec<String>,
}

impl Via {
    /// Whether code reading `reads` and using attributes `attrs` may reach, through
    /// this module name, one of the names `touched` accepts.
    pub fn reached<'s>(
        &self,
        mut reads: impl Iterator<Item = &'s String>,
        attrs: &[&'s String],
        touched: impl Fn(&str) -> bool,
    ) -> bool {
        reads.any(|r| *r == self.name)
            && attrs.iter().any(|a| self.toward.contains(a))
            && attrs.iter().any(|a| touched(a))
    }
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
            ..External::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
            && self.patched.is_empty()
            && self.stars.is_empty()
            && (self.via.is_empty() || self.attrs.is_empty())
    }

    /// Adds `other` (the same module's inputs changed by another module of the batch).
    pub fn extend(&mut self, other: External) {
        for name in other.names {
            if !self.names.contains(&name) {
                self.names.push(name);
            }
        }
        self.stars.extend(other.stars);
        push_new(&mut self.patched, other.patched);
        push_new(&mut self.via, other.via);
        push_new(&mut self.attrs, other.attrs);
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

fn push_new<T: PartialEq>(list: &mut Vec<T>, more: Vec<T>) {
    for item in more {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}
