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

use ahash::{AHashMap, AHashSet};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};

use super::check::{tracked_module, Policy};
use super::reload::Reloaded;
use super::star::star_refresh;
use crate::module_table::ModuleTable;
use crate::outline::{External, Plan, Via};

/// How many times each module ran in this batch.
pub type Visits = AHashMap<String, usize>;

/// How many times a module may run in one batch. In an import cycle the batch's order
/// cannot follow every import (toolz's `curried` imports `curried.exceptions`, which
/// imports `toolz`, which imports `curried`): a module already done runs again for
/// what a module after it changed, a bounded number of times.
const MAX_VISITS: usize = 3;

/// The names of a reloaded module whose value or behaviour changed.
pub struct Touched(Vec<String>);

impl Touched {
    /// From the plan that ran; every name of the module when the whole module ran.
    /// Names bound again to the very object they held, which another module defines
    /// (an import run again), changed nothing here: that module's own reload says
    /// whether the object changed.
    pub fn of(
        module: &Bound<'_, PyModule>,
        plan: Option<&Plan>,
        r: &Reloaded,
    ) -> PyResult<Touched> {
        let namespace = module.dict();
        let candidates: Vec<String> = match (plan, r.ran.whole) {
            (Some(plan), false) => plan.touched.clone(),
            _ => namespace
                .keys()
                .iter()
                .filter_map(|k| k.extract::<String>().ok())
                .filter(|n| !n.starts_with("__"))
                .collect(),
        };
        let before = r.before.bind(module.py());
        let own: String = module.name()?.extract()?;
        let mut names = Vec::with_capacity(candidates.len());
        for name in candidates {
            if !same_foreign_object(before, &namespace, &name, &own)? {
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

/// Whether `name` holds, before and after, the same module object or function or class
/// of another module than `own`.
fn same_foreign_object(
    before: &Bound<'_, PyDict>,
    after: &Bound<'_, PyDict>,
    name: &str,
    own: &str,
) -> PyResult<bool> {
    let (Some(old), Some(new)) = (before.get_item(name)?, after.get_item(name)?) else {
        return Ok(false);
    };
    if !old.is(&new) {
        return Ok(false);
    }
    if new.is_instance_of::<PyModule>() {
        return Ok(true);
    }
    let defined_elsewhere = new
        .getattr("__module__")
        .ok()
        .and_then(|m| m.extract::<String>().ok())
        .is_some_and(|m| m != own);
    Ok(defined_elsewhere && (new.is_callable() || new.is_instance_of::<pyo3::types::PyType>()))
}

/// The modules holding what the reload of `name` changed, each with what is stale in it.
/// Installed code, skipped modules, modules the policy does not allow and modules
/// that already ran `MAX_VISITS` times in this batch are left alone.
pub fn stale_importers(
    table: &mut ModuleTable,
    modules: &Bound<'_, PyDict>,
    name: &str,
    reloaded: &Reloaded,
    touched: &Touched,
    policy: &Policy,
    done: &Visits,
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
    let dependent_set: AHashSet<&str> = dependents.iter().map(String::as_str).collect();
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
        if !touched.0.is_empty() {
            let reaches = |target: &str| {
                target == name
                    || dependent_set.contains(target)
                    || name
                        .strip_prefix(target)
                        .is_some_and(|rest| rest.starts_with('.'))
            };
            let aliases = table.module_aliases(&importer, reaches);
            // The cheap test first (a module name used with a touched attribute), then
            // the attributes that really lead to the changed module.
            let coarse: Vec<Via> = aliases
                .iter()
                .map(|(alias, _)| Via {
                    name: alias.clone(),
                    toward: touched.0.clone(),
                })
                .collect();
            if !coarse.is_empty() && table.may_reach(&importer, &coarse, &touched_set) {
                let via = paths_to(modules, name, &dependent_set, touched, aliases)?;
                if !via.is_empty() && table.may_reach(&importer, &via, &touched_set) {
                    held.via = via;
                    held.attrs = touched.0.clone();
                }
            }
        }
        if !held.is_empty() {
            stale.push((importer, held));
        }
    }
    Ok(stale)
}

/// For each `(name, module it is bound to)`, the attributes of that module that lead to
/// what changed in `changed`: its touched names when it is `changed`; else the names
/// it binds to `changed` or to modules importing it (`_sigs` in `functoolz`,
/// `functoolz` in `toolz`), and to objects of `changed` that were touched (re-exports:
/// `toolz.curry` is `functoolz.curry`).
fn paths_to(
    modules: &Bound<'_, PyDict>,
    changed: &str,
    dependents: &AHashSet<&str>,
    touched: &Touched,
    aliases: Vec<(String, String)>,
) -> PyResult<Vec<Via>> {
    let Some(target) = modules.get_item(changed)? else {
        return Ok(Vec::new());
    };
    let target_ns = target.getattr("__dict__")?.cast_into::<PyDict>()?;
    let mut objects = AHashSet::new();
    for name in &touched.0 {
        if let Some(value) = target_ns.get_item(name)? {
            objects.insert(value.as_ptr() as usize);
        }
    }
    let mut via = Vec::new();
    for (name, module) in aliases {
        if module == changed {
            via.push(Via {
                name,
                toward: touched.0.clone(),
            });
            continue;
        }
        let Some(holder) = modules.get_item(&module)? else {
            continue;
        };
        let Ok(holder) = holder.cast_into::<PyModule>() else {
            continue;
        };
        let mut toward = Vec::new();
        for (key, value) in holder.dict().iter() {
            let leads = if let Ok(m) = value.cast::<PyModule>() {
                let m_name = m.name().ok().and_then(|n| n.extract::<String>().ok());
                m_name.is_some_and(|n| n == changed || dependents.contains(n.as_str()))
            } else {
                objects.contains(&(value.as_ptr() as usize))
            };
            if let (true, Ok(key)) = (leads, key.extract::<String>()) {
                toward.push(key);
            }
        }
        if !toward.is_empty() {
            via.push(Via { name, toward });
        }
    }
    Ok(via)
}

fn may_run(table: &ModuleTable, policy: &Policy, done: &Visits, importer: &str) -> bool {
    let allowed = policy
        .importers
        .as_ref()
        .is_none_or(|m| m.iter().any(|n| n == importer));
    allowed
        && done.get(importer).copied().unwrap_or(0) < MAX_VISITS
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
