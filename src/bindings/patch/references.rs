//! One class alive per definition after a class statement runs again.
//!
//! A class statement that runs makes a temporary class, patched into the old one, which
//! stays canonical. What the run built on the temporary class must move to the canonical
//! one: classes created with it among their bases (`class Tag(Base)` added by the same
//! edit), and the module-level containers that took it (`REGISTRY = {"b": B}` run
//! again). The other way round, when a class cannot be patched in place and is
//! replaced, what the module holds of the old class (its containers, its subclasses
//! that did not run again) moves to the new one, so nothing keeps building half-old
//! instances.

use ahash::AHashMap;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyList, PySet, PyTuple, PyType};

use super::Canon;
use crate::bindings::events::Warning;

/// How deep into nested containers references are followed (`{"a": [(B, 1)]}` is 3).
const MAX_DEPTH: usize = 4;

/// One walk over the module's containers: which object each stale one becomes, by
/// address (the stale object kept alive), the containers already visited, and how many
/// references to each stale object moved.
struct Swap<'py> {
    to: AHashMap<usize, (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    seen: Seen<'py>,
    moved: AHashMap<usize, usize>,
}

impl<'py> Swap<'py> {
    fn get(&self, object: &Bound<'py, PyAny>) -> Option<&Bound<'py, PyAny>> {
        self.to.get(&(object.as_ptr() as usize)).map(|(_, to)| to)
    }
}

/// Containers already visited, by address, with the new object a tuple became.
type Seen<'py> = AHashMap<usize, Option<Bound<'py, PyAny>>>;

impl<'py> Canon<'py> {
    /// Moves what the run built on temporary versions (and what the module holds of
    /// replaced classes) to the object that stays: subclasses are rebased, module-level
    /// containers rewritten. Returns how many references to replaced classes moved.
    pub(super) fn one_version(
        &mut self,
        namespace: &Bound<'py, PyDict>,
        in_place: &[(Bound<'py, PyType>, Bound<'py, PyType>)],
    ) -> PyResult<()> {
        // Patching function bodies alone lets no new object out: nothing to look for.
        if !self.ran_statements && self.replaced.is_empty() {
            return Ok(());
        }
        let mut swap = Swap {
            to: AHashMap::new(),
            seen: AHashMap::new(),
            moved: AHashMap::new(),
        };
        for (new, old) in self.old_of.values() {
            swap.to
                .insert(new.as_ptr() as usize, (new.clone(), old.clone()));
        }
        for (old, new) in &self.replaced {
            swap.to.insert(
                old.as_ptr() as usize,
                (old.clone().into_any(), new.clone().into_any()),
            );
        }
        if swap.to.is_empty() {
            return Ok(());
        }
        let temporary = in_place.iter().map(|(_, new)| new.clone());
        let replaced: Vec<_> = self.replaced.iter().map(|(old, _)| old.clone()).collect();
        for class in temporary.chain(replaced) {
            self.rebase_subclasses(&class, &swap)?;
        }
        let items: Vec<_> = namespace.iter().collect();
        for (name, value) in items {
            // The import system's entries (`__builtins__`, `__spec__`...) hold none.
            if name.extract::<String>().is_ok_and(|n| n.starts_with("__")) {
                continue;
            }
            if let Some(fresh) = self.rewrite(&value, &mut swap, 0)? {
                namespace.set_item(name, fresh)?;
            }
        }
        for (old, _) in self.replaced.clone() {
            let count = swap
                .moved
                .get(&(old.as_ptr() as usize))
                .copied()
                .unwrap_or(0);
            if count > 0 {
                let name = old.qualname().map(|q| q.to_string()).unwrap_or_default();
                let warning = Warning::new("references_moved", name, count.to_string());
                self.warnings.push(warning);
            }
        }
        Ok(())
    }

    /// Gives the subclasses of `class` (a temporary or replaced class) the bases that
    /// stay. A subclass that is itself a temporary version is left to its own patch.
    fn rebase_subclasses(&mut self, class: &Bound<'py, PyType>, swap: &Swap<'py>) -> PyResult<()> {
        // `type.__subclasses__(class)`: looked up on a metaclass, `class.__subclasses__`
        // is `type`'s unbound method.
        let subclasses = self
            .py
            .get_type::<PyType>()
            .getattr("__subclasses__")?
            .call1((class,))?;
        for sub in subclasses.try_iter()? {
            let sub = sub?.cast_into::<PyType>()?;
            if self.canonical(sub.as_any()).is_some() {
                continue;
            }
            let bases = sub.getattr("__bases__")?.cast_into::<PyTuple>()?;
            let rebased = PyTuple::new(
                self.py,
                bases
                    .iter()
                    .map(|b| swap.get(&b).cloned().unwrap_or_else(|| b.clone())),
            )?;
            if bases.eq(&rebased)? {
                continue;
            }
            self.journal.save_class(&sub)?;
            if let Err(err) = sub.setattr("__bases__", rebased) {
                let name = sub.qualname().map(|q| q.to_string()).unwrap_or_default();
                self.warnings
                    .push(Warning::new("not_updated", name, format!("bases: {err}")));
            }
        }
        Ok(())
    }

    /// `value` with stale references replaced: mutable containers are rewritten in place
    /// (journaled) and None returned; a tuple or frozenset holding one comes back as a
    /// new object for its holder to take. `swap.moved` counts replacements per stale object.
    fn rewrite(
        &mut self,
        value: &Bound<'py, PyAny>,
        swap: &mut Swap<'py>,
        depth: usize,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if let Some(to) = swap.get(value).cloned() {
            *swap.moved.entry(value.as_ptr() as usize).or_default() += 1;
            return Ok(Some(to));
        }
        let container = value.is_exact_instance_of::<PyDict>()
            || value.is_exact_instance_of::<PyList>()
            || value.is_exact_instance_of::<PyTuple>()
            || value.is_exact_instance_of::<PySet>()
            || value.is_exact_instance_of::<PyFrozenSet>();
        if !container || depth >= MAX_DEPTH {
            return Ok(None);
        }
        // A container met twice (shared, or in a cycle) is rewritten once; a tuple's
        // holders all take the same new tuple.
        let address = value.as_ptr() as usize;
        if let Some(done) = swap.seen.get(&address) {
            return Ok(done.clone());
        }
        swap.seen.insert(address, None);
        let fresh = self.rewrite_container(value, swap, depth)?;
        swap.seen.insert(address, fresh.clone());
        Ok(fresh)
    }

    fn rewrite_container(
        &mut self,
        value: &Bound<'py, PyAny>,
        swap: &mut Swap<'py>,
        depth: usize,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if let Ok(dict) = value.cast_exact::<PyDict>() {
            self.rewrite_dict(dict, swap, depth)?;
            return Ok(None);
        }
        if let Ok(list) = value.cast_exact::<PyList>() {
            self.rewrite_list(list, swap, depth)?;
            return Ok(None);
        }
        let items: Vec<_> = value.try_iter()?.collect::<PyResult<_>>()?;
        let (items, changed) = self.rewrite_items(items, swap, depth)?;
        if !changed {
            return Ok(None);
        }
        if let Ok(set) = value.cast_exact::<PySet>() {
            self.journal.save_set(set);
            set.clear();
            for item in items {
                set.add(item)?;
            }
            return Ok(None);
        }
        if value.is_exact_instance_of::<PyTuple>() {
            return Ok(Some(PyTuple::new(self.py, items)?.into_any()));
        }
        Ok(Some(PyFrozenSet::new(self.py, &items)?.into_any()))
    }

    /// Each of `items` rewritten, and whether any changed.
    fn rewrite_items(
        &mut self,
        items: Vec<Bound<'py, PyAny>>,
        swap: &mut Swap<'py>,
        depth: usize,
    ) -> PyResult<(Vec<Bound<'py, PyAny>>, bool)> {
        let mut changed = false;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match self.rewrite(&item, swap, depth + 1)? {
                Some(fresh) => {
                    changed = true;
                    out.push(fresh);
                }
                None => out.push(item),
            }
        }
        Ok((out, changed))
    }

    fn rewrite_list(
        &mut self,
        list: &Bound<'py, PyList>,
        swap: &mut Swap<'py>,
        depth: usize,
    ) -> PyResult<()> {
        let items: Vec<_> = list.iter().collect();
        let mut saved = false;
        for (i, item) in items.iter().enumerate() {
            if let Some(fresh) = self.rewrite(item, swap, depth + 1)? {
                if !saved {
                    self.journal.save_list(list);
                    saved = true;
                }
                list.set_item(i, fresh)?;
            }
        }
        Ok(())
    }

    /// Keys and values; a dict whose keys change is rebuilt in the same order.
    fn rewrite_dict(
        &mut self,
        dict: &Bound<'py, PyDict>,
        swap: &mut Swap<'py>,
        depth: usize,
    ) -> PyResult<()> {
        let items: Vec<_> = dict.iter().collect();
        let mut rewritten = Vec::with_capacity(items.len());
        let mut changed = false;
        for (key, value) in items {
            let new_key = self.rewrite(&key, swap, depth + 1)?;
            let new_value = self.rewrite(&value, swap, depth + 1)?;
            changed |= new_key.is_some() || new_value.is_some();
            rewritten.push((new_key.unwrap_or(key), new_value.unwrap_or(value)));
        }
        if !changed {
            return Ok(());
        }
        self.journal.save_dict(dict)?;
        dict.clear();
        for (key, value) in rewritten {
            dict.set_item(key, value)?;
        }
        Ok(())
    }
}
