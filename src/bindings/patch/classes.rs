//! Patching a class in place: its namespace becomes the new one, member by member,
//! keeping the identity of methods, properties and nested classes that are versions of
//! the old ones. Attributes are written with `type.__setattr__`, bypassing a
//! metaclass's own `__setattr__` (an Enum's refuses to reassign members).

use ahash::AHashSet;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyFunction, PyTuple, PyType};

use super::Canon;
use crate::bindings::attrs::{set_attribute, wrapper_links};
use crate::bindings::events::Warning;

/// Class-dict keys never copied between versions: the instance dict and weakref slots
/// are per-class descriptors, and `_abc_impl` holds the old class's ABC registrations.
const KEPT_CLASS_KEYS: [&str; 4] = ["__dict__", "__weakref__", "_abc_impl", "__slots__"];

/// Why a class is replaced rather than patched.
pub(super) enum Obstacle {
    Layout(String),
}

impl<'py> Canon<'py> {
    /// Why `old` cannot take `new`'s definition in place, if it cannot. Changes the
    /// bases of `old` when only they differ and the layouts allow it.
    pub(super) fn class_obstacle(
        &mut self,
        old: &Bound<'py, PyType>,
        new: &Bound<'py, PyType>,
    ) -> PyResult<Option<Obstacle>> {
        let layout = |reason: &str| Ok(Some(Obstacle::Layout(reason.to_owned())));
        // The metaclass may itself be a class of this module, patched in place.
        if !old.get_type().is(self.translate(new.get_type().as_any())) {
            return layout("metaclass");
        }
        if slots(old)? != slots(new)? {
            return layout("__slots__");
        }
        if !old
            .getattr("__basicsize__")?
            .eq(new.getattr(intern!(new.py(), "__basicsize__"))?)?
        {
            return layout("layout");
        }
        let bases = self.translate_tuple(
            &new.getattr(intern!(new.py(), "__bases__"))?
                .cast_into::<PyTuple>()?,
        )?;
        if !old.getattr(intern!(old.py(), "__bases__"))?.eq(&bases)? {
            self.journal.save_class(old)?;
            if let Err(err) = old.setattr(intern!(old.py(), "__bases__"), bases) {
                return layout(&format!("bases: {err}"));
            }
        }
        Ok(None)
    }

    /// `new` replaces `old`: the name keeps the new class and old instances move to it.
    pub(super) fn replace(
        &mut self,
        old: Bound<'py, PyType>,
        new: Bound<'py, PyType>,
        obstacle: Obstacle,
    ) {
        self.unpair(new.as_any());
        let Obstacle::Layout(reason) = obstacle;
        let name = old.qualname().map(|q| q.to_string()).unwrap_or_default();
        self.warnings.push(Warning::new("replaced", name, reason));
        self.replaced.push((old.clone(), new.clone()));
        self.heap.move_all_instances(old, new);
    }

    /// Makes `old`'s namespace that of `new`, patching members that are versions of one
    /// another in place and moving the rest over.
    pub(super) fn patch_class(
        &mut self,
        old: &Bound<'py, PyType>,
        new: &Bound<'py, PyType>,
    ) -> PyResult<()> {
        self.journal.save_class(old)?;
        let is_enum = self.is_enum(old)?;
        if is_enum {
            self.pair_enum_members(old, new)?;
        }
        let old_dict = old.getattr(intern!(old.py(), "__dict__"))?;
        let new_dict = new.getattr(intern!(new.py(), "__dict__"))?;
        for item in new_dict.call_method0("items")?.try_iter()? {
            let (key, value): (String, Bound<'py, PyAny>) = item?.extract()?;
            if self.is_kept_key(&key, &value)? {
                continue;
            }
            if let Ok(current) = old_dict.get_item(&key) {
                if self.patch_member(&current, &value)? {
                    continue;
                }
            }
            self.adopt_member(&value)?;
            let value = if is_enum {
                self.translate_enum_attr(&value)?
            } else {
                self.translate(&value)
            };
            self.set_class_attr(old, &key, &value);
        }
        // A list, not a view: deleting attributes changes the dict being read.
        let old_keys: Vec<String> = old_dict
            .call_method0("keys")?
            .try_iter()?
            .map(|k| k?.extract())
            .collect::<PyResult<_>>()?;
        for key in old_keys {
            if new_dict.contains(&key)? || self.is_kept_key(&key, &old_dict.get_item(&key)?)? {
                continue;
            }
            // Removed once the reload commits: a rollback then only has values to
            // put back and keys to drop, which keeps the class dict's order.
            self.removed_members.push((old.clone(), key));
        }
        self.heap.move_young_instances(new.clone(), old.clone());
        self.patched += 1;
        Ok(())
    }

    fn is_kept_key(&self, key: &str, value: &Bound<'py, PyAny>) -> PyResult<bool> {
        Ok(KEPT_CLASS_KEYS.contains(&key) || value.is_instance(&self.kinds.member_descriptor)?)
    }

    /// Removes the members that the new versions of patched classes no longer have.
    pub(super) fn remove_members(&mut self) {
        for (class, key) in std::mem::take(&mut self.removed_members) {
            if let Err(err) = self.kinds.type_delattr.call1((&class, &key)) {
                self.warn_member(&class, &key, &err);
            }
        }
    }

    fn set_class_attr(&mut self, class: &Bound<'py, PyType>, key: &str, value: &Bound<'py, PyAny>) {
        if let Err(err) = self.kinds.type_setattr.call1((class, key, value)) {
            self.warn_member(class, key, &err);
        }
    }

    fn warn_member(&mut self, class: &Bound<'py, PyType>, key: &str, err: &PyErr) {
        let name = class.qualname().map(|q| q.to_string()).unwrap_or_default();
        let subject = format!("{name}.{key}");
        self.warnings
            .push(Warning::new("not_updated", subject, err.to_string()));
    }

    /// Prepares a new class member that is moved into the old class as it is: its
    /// functions' `__class__` cells and captured functions point at canonical objects.
    fn adopt_member(&mut self, value: &Bound<'py, PyAny>) -> PyResult<()> {
        let mut seen = AHashSet::new();
        for function in wrapped_functions(value) {
            self.adopt_function(&function, &mut seen)?;
        }
        Ok(())
    }

    /// Patches one class member in place when old and new are versions of each other;
    /// returns false when the new value must simply be set.
    fn patch_member(&mut self, old: &Bound<'py, PyAny>, new: &Bound<'py, PyAny>) -> PyResult<bool> {
        if old.is(new) {
            return Ok(true);
        }
        if self.existed(new) {
            return Ok(false);
        }
        let both_exactly =
            |kind: &Bound<'py, PyAny>| old.get_type().is(kind) && new.get_type().is(kind);
        if both_exactly(&self.kinds.classmethod) || both_exactly(&self.kinds.staticmethod) {
            return self.patch_member(
                &old.getattr(intern!(old.py(), "__func__"))?,
                &new.getattr(intern!(new.py(), "__func__"))?,
            );
        }
        if both_exactly(&self.kinds.property) {
            return self.patch_property(old, new);
        }
        if let (Ok(old_class), Ok(new_class)) = (old.cast::<PyType>(), new.cast::<PyType>()) {
            return self.patch_nested_class(old_class, new_class);
        }
        if !self.pairs_as_callable(old, new)? {
            return Ok(false);
        }
        self.pair(new, old);
        self.patch_callable(old, new)?;
        Ok(true)
    }

    fn patch_nested_class(
        &mut self,
        old: &Bound<'py, PyType>,
        new: &Bound<'py, PyType>,
    ) -> PyResult<bool> {
        if !self.same_definition(old.as_any(), new.as_any())? {
            return Ok(false);
        }
        self.pair(new.as_any(), old.as_any());
        if self.class_obstacle(old, new)?.is_some() {
            self.unpair(new.as_any());
            return Ok(false);
        }
        self.patch_class(old, new)?;
        Ok(true)
    }

    /// A property keeps its identity when it has the same accessors as before and each
    /// is a version of the old one; otherwise the new property replaces it.
    fn patch_property(
        &mut self,
        old: &Bound<'py, PyAny>,
        new: &Bound<'py, PyAny>,
    ) -> PyResult<bool> {
        let mut pairs = Vec::new();
        for accessor in ["fget", "fset", "fdel"] {
            let (o, n) = (old.getattr(accessor)?, new.getattr(accessor)?);
            match (o.is_none(), n.is_none()) {
                (true, true) => continue,
                (false, false) if self.pairs_as_callable(&o, &n)? => pairs.push((o, n)),
                _ => return Ok(false),
            }
        }
        for (o, n) in pairs {
            self.pair(&n, &o);
            self.patch_callable(&o, &n)?;
        }
        Ok(true)
    }
}

/// The `__slots__` a class declares itself, as text for comparison.
fn slots(class: &Bound<'_, PyType>) -> PyResult<Option<String>> {
    match class
        .getattr(intern!(class.py(), "__dict__"))?
        .get_item("__slots__")
    {
        Ok(slots) => Ok(Some(slots.repr()?.to_string())),
        Err(_) => Ok(None),
    }
}

/// The plain functions inside a class member: itself, the function a classmethod,
/// staticmethod or property wraps, and along `__wrapped__` chains (functools.wraps).
fn wrapped_functions<'py>(value: &Bound<'py, PyAny>) -> Vec<Bound<'py, PyAny>> {
    let mut found = Vec::new();
    let mut pending = vec![value.clone()];
    while let Some(item) = pending.pop() {
        if found.len() > 64 {
            break;
        }
        if item.is_instance_of::<PyFunction>() {
            found.push(item.clone());
        }
        for attr in wrapper_links(item.py()) {
            if let Some(inner) = set_attribute(&item, attr) {
                if !inner.is_none() && !inner.is(&item) {
                    pending.push(inner);
                }
            }
        }
    }
    found
}
