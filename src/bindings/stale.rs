//! What one module's reload leaves stale in the modules that imported it, so that the
//! statements of theirs that used it at import run again (in import order, as the batch
//! goes on), and only those:
//!
//! - `from m import name` holding `m`'s old value (the import and its readers run);
//! - `from m import name` of an object patched in place whose behaviour changed (its
//!   readers run: `X = f()` computed with the old `f`);
//! - `from m import *` that would bind other names or values now (see `star`);
//! - statements reaching a changed name of `m` through a module object
//!   (`functoolz._sigs.create_signature_registry()` in toolz's `__init__`, which fills
//!   the registry `_signatures` rebuilt): the differ runs those that read such a module
//!   name and use such an attribute.

use ahash::AHashSet;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};

use super::check::{tracked_module, Policy};
use super::reload::Reloaded;
use super::star::star_refresh;
use crate::module_table::ModuleTable;
use crate::outline::{External, Plan};

/// The names of a reloaded module whose value or behaviour changed.
pub struct Touched(Vec<String>);

impl Touched {
    /// From the plan that ran; every name of the module when the whole module ran.
    pub fn of(
        module: &Bound<'_, PyModule>,
        plan: Option<&Plan>,
        r: &Reloaded,
    ) -> PyResult<Touched> {
        if let (Some(plan), false) = (plan, r.ran.whole) {
            return Ok(Touched(plan.touched.clone()));
        }
        let mut names = Vec::new();
        for key in module.dict().keys() {
            let name: String = key.extract()?;
            if !name.starts_with("__") {
                names.push(name);
            }
        }
        Ok(Touched(names))
    }

    fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|n| n == name)
    }

    fn set(&self) -> AHashSet<&str> {
        self.0.iter().map(String::as_str).collect()
    }
}

/// The modules holding what the reload of `name` changed, each with what is stale in it.
/// Installed code, skipped modules, modules the policy does not allow and modules
/// already done in this batch are left alone.
pub fn stale_importers(
    table: &mut ModuleTable,
    modules: &Bound<'_, PyDict>,
    name: &str,
    reloaded: &Reloaded,
    touched: &Touched,
    policy: &Policy,
    done: &AHashSet<String>,
) -> PyResult<Vec<(String, External)>> {
    let Some(reloaded_module) = tracked_module(table, modules, name)? else {
        return Ok(Vec::new());
    };
    let after = reloaded_module.dict();
    let binders: Vec<(String, Vec<(String, String)>)> = table
        .graph()
        .binders_of(name)
        .into_iter()
        .map(|(m, names)| (m.to_owned(), names.to_vec()))
        .collect();
    let dependents = table.graph().dependents(name);
    let mut stale: Vec<(String, External)> = Vec::new();
    let candidates = binders
        .iter()
        .map(|(m, _)| m.clone())
        .chain(dependents.iter().cloned());
    let touched_set = touched.set();
    let mut seen = AHashSet::new();
    for importer in candidates {
        if !seen.insert(importer.clone()) || !may_run(table, policy, done, &importer) {
            continue;
        }
        let Some(module) = tracked_module(table, modules, &importer)? else {
            continue;
        };
        let namespace = module.dict();
        let names = binders
            .iter()
            .find(|(m, _)| *m == importer)
            .map_or(&[][..], |(_, n)| n.as_slice());
        let (old, patched) = from_names(reloaded, touched, &after, &namespace, names)?;
        let mut held = External::of_names(&old);
        if !patched.is_empty() && table.may_read(&importer, &patched) {
            held.patched = patched;
        }
        if names.iter().any(|(n, _)| n == "*") {
            let before = reloaded.before.bind(modules.py());
            held.stars
                .extend(star_refresh(name, before, &after, &namespace)?);
        }
        let reaches = |target: &str| {
            target == name
                || dependents.iter().any(|d| d == target)
                || name
                    .strip_prefix(target)
                    .is_some_and(|rest| rest.starts_with('.'))
        };
        let via = table.module_aliases(&importer, reaches);
        if !via.is_empty() && table.may_reach(&importer, &via, &touched_set) {
            held.via = via;
            held.attrs = touched.0.clone();
        }
        if !held.is_empty() {
            stale.push((importer, held));
        }
    }
    Ok(stale)
}

fn may_run(table: &ModuleTable, policy: &Policy, done: &AHashSet<String>, importer: &str) -> bool {
    let allowed = policy
        .importers
        .as_ref()
        .is_none_or(|m| m.iter().any(|n| n == importer));
    allowed
        && !done.contains(importer)
        && !policy.skip.iter().any(|n| n == importer)
        && !table.is_library(importer)
}

/// The names in `namespace` bound by `from m import name` (star imports are
/// `star_refresh`'s) that are stale: those holding `m`'s old value, and those holding
/// the object `m` still has, patched in place, whose behaviour changed (what read them
/// at import computed with the old behaviour).
fn from_names(
    reloaded: &Reloaded,
    touched: &Touched,
    after: &Bound<'_, PyDict>,
    namespace: &Bound<'_, PyDict>,
    names: &[(String, String)],
) -> PyResult<(Vec<String>, Vec<String>)> {
    let previous = reloaded.previous.bind(namespace.py());
    let mut held = Vec::new();
    let mut patched = Vec::new();
    for (name, bound_as) in names {
        if name == "*" {
            continue;
        }
        let Some(value) = namespace.get_item(bound_as)? else {
            continue;
        };
        let old = previous.get_item(name)?;
        let holds_old = old.is_some_and(|old| value.is(&old));
        let holds_patched =
            touched.contains(name) && after.get_item(name)?.is_some_and(|now| value.is(&now));
        if holds_old {
            held.push(bound_as.clone());
        } else if holds_patched {
            patched.push(bound_as.clone());
        }
    }
    Ok((held, patched))
}
