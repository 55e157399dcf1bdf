//! What a plan's re-run statements change, name by name: who binds each name again,
//! who mutates its object, which methods' code changed, and what other modules changed
//! that this one took at import. The differ spreads these to a fixpoint (`diff.rs`).

use ahash::AHashSet;

use super::external::Via;
use super::Statement;

/// Who changed each name: the statement index, or one of these markers.
pub(super) const REMOVED: usize = usize::MAX;
pub(super) const EXTERNAL: usize = usize::MAX - 1;

/// Which statements changed each name: by binding it again, or by mutating its object;
/// and which methods changed code.
#[derive(Default)]
pub(super) struct Changes<'a> {
    pub(super) bound: ahash::AHashMap<&'a str, AHashSet<usize>>,
    pub(super) mutated: ahash::AHashMap<&'a str, AHashSet<usize>>,
    /// Names of methods, in any class, whose code changed. Who holds the instance is
    /// not followed, so any use of the attribute name counts.
    pub(super) attrs: AHashSet<&'a str>,
    /// Module names of this namespace through which `via_attrs` reach changed objects of
    /// another module (`External::via`).
    pub(super) via: Vec<&'a Via>,
    pub(super) via_attrs: AHashSet<&'a str>,
    /// Names bound by imports to objects another module patched (`External::patched`).
    pub(super) patched: AHashSet<&'a str>,
}

/// Names that reach attributes by a string, which `attrs` cannot see.
const DYNAMIC_ATTRS: [&str; 4] = ["getattr", "attrgetter", "methodcaller", "__dict__"];

pub(super) fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

impl<'a> Changes<'a> {
    /// Records what `statement` (index `by`) writes; returns whether anything was new.
    pub(super) fn add(&mut self, statement: &'a Statement, by: usize) -> bool {
        let mut grew = self.add_names(statement.binds.iter().map(String::as_str), by);
        for name in &statement.mutates {
            grew |= self.mutated.entry(name).or_default().insert(by);
        }
        grew
    }

    pub(super) fn add_names(&mut self, names: impl Iterator<Item = &'a str>, by: usize) -> bool {
        let mut grew = false;
        for name in names {
            grew |= self.bound.entry(name).or_default().insert(by);
        }
        grew
    }

    /// Whether `name` was bound again by anything but statement `me`.
    pub(super) fn bound_by_other(&self, name: &str, me: usize) -> bool {
        self.bound
            .get(name)
            .is_some_and(|who| who.iter().any(|&w| w != me))
    }

    /// Whether `name` was bound again or mutated by anything but statement `me`.
    pub(super) fn by_other(&self, name: &str, me: usize) -> bool {
        self.bound_by_other(name, me)
            || self
                .mutated
                .get(name)
                .is_some_and(|who| who.iter().any(|&w| w != me))
    }

    /// Whether code using attributes `attrs` and reading `reads` may call a changed
    /// method.
    pub(super) fn calls_changed_method(&self, attrs: &[String], reads: &[String]) -> bool {
        let dynamic = || {
            attrs
                .iter()
                .chain(reads)
                .any(|n| DYNAMIC_ATTRS.contains(&n.as_str()))
        };
        !self.attrs.is_empty()
            && (attrs.iter().any(|a| self.attrs.contains(a.as_str())) || dynamic())
    }

    /// Whether statement `me` runs changed code when it runs.
    pub(super) fn runs_changed_code(&self, statement: &Statement, me: usize) -> bool {
        statement.reads.iter().any(|r| self.by_other(r, me))
            || self.calls_changed_method(&statement.attrs, &statement.reads)
            || self.reaches_changed(&statement.reads, &statement.attrs)
    }

    /// Whether code reading `reads` and using attributes `attrs` reaches, through a
    /// module object, something another module changed (`m.CONST`, `m.f()`).
    pub(super) fn reaches_changed(&self, reads: &[String], attrs: &[String]) -> bool {
        let attrs: Vec<&String> = attrs.iter().collect();
        let touched = |a: &str| self.via_attrs.contains(a);
        let through_module = self
            .via
            .iter()
            .any(|v| v.reached(reads.iter(), &attrs, touched));
        through_module || reads.iter().any(|r| self.patched.contains(r.as_str()))
    }

    /// Whether the functions `statement` (index `me`) defines run changed code when
    /// called, without their own code having changed.
    pub(super) fn bodies_run_changed_code(&self, statement: &Statement, me: usize) -> bool {
        statement.body_reads.iter().any(|r| self.by_other(r, me))
            || self.calls_changed_method(&statement.body_attrs, &statement.body_reads)
            || self.reaches_changed(&statement.body_reads, &statement.body_attrs)
    }
}

/// The names a statement writes: those it binds and those whose objects it mutates.
pub(super) fn writes(statement: &Statement) -> impl Iterator<Item = &str> {
    statement
        .binds
        .iter()
        .chain(&statement.mutates)
        .map(String::as_str)
}
