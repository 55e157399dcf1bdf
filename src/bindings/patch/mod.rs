//! Making the objects that existed before a reload behave as the new ones.
//!
//! After a module re-executes, each name that denoted a function or class defined there
//! points back at the OLD object, patched in place from the new one; the new object is
//! discarded. References held anywhere else (`from m import f`, instances, registries)
//! therefore see the new code without being found. A class that cannot be patched in
//! place (its metaclass or instance layout changed) is replaced instead, and its
//! existing instances are moved to the replacement.
//!
//! `Canon` holds one reload's state: which new object stands for which old one. Its
//! methods live next to what they patch: `functions`, `wrappers`, `classes`, `enums`.

mod classes;
mod enums;
mod functions;
mod references;
mod wrappers;

use ahash::{AHashMap, AHashSet};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFunction, PyList, PyTuple, PyType};

use super::events::Warning;
use super::heap::{self, HeapPass, Young};
use super::journal::Journal;
use classes::Obstacle;

impl<'py> Canon<'py> {
    /// Pairs each name's new value with the old one and patches the old one from it;
    /// the names then point at the old objects again.
    pub(crate) fn adopt(
        &mut self,
        before: &Bound<'py, PyDict>,
        namespace: &Bound<'py, PyDict>,
    ) -> PyResult<()> {
        let mut pairs = Vec::new();
        let mut classes = Vec::new();
        // Only objects the run created are new versions: a name now bound to an object
        // that existed before (`Default = Fast` instead of `= Slow`) is just rebound.
        self.preexisting
            .extend(before.values().iter().map(|v| v.as_ptr() as usize));
        for (name, new) in namespace.iter() {
            let old = match before.get_item(&name)? {
                Some(old) => old,
                None => match self.revenant(&new)? {
                    Some(old) => old,
                    None => continue,
                },
            };
            let taken = self.canonical(&new).is_some() || self.claimed_by_another(&old, &new);
            if old.is(&new) || taken || self.existed(&new) {
                continue;
            }
            if let (Ok(old_class), Ok(new_class)) = (old.cast::<PyType>(), new.cast::<PyType>()) {
                if self.same_definition(&old, &new)? {
                    self.pair(&new, &old);
                    classes.push((old_class.clone(), new_class.clone()));
                }
            } else if self.pairs_as_callable(&old, &new)? {
                self.pair(&new, &old);
                pairs.push((old, new));
            }
        }
        self.note_revived(&pairs, &classes)?;
        // Decide which classes stay before patching anything, so that a closure
        // retargeted to a canonical class never points at one about to be replaced.
        let mut in_place = Vec::new();
        for (old, new) in classes {
            match self.class_obstacle(&old, &new)? {
                None => in_place.push((old, new)),
                Some(obstacle) => self.replace(old, new, obstacle),
            }
        }
        // A failure to patch one object is reported and leaves the others to be
        // patched: the module's new code already ran, so stopping halfway helps no one.
        for (old, new) in &pairs {
            if let Err(err) = self.patch_callable(old, new) {
                self.warn_object(old, &err);
            }
        }
        for (old, new) in &in_place {
            if let Err(err) = self.patch_class(old, new) {
                self.warn_object(old, &err);
            }
        }
        self.one_version(namespace, &in_place)?;
        self.rebind(namespace)
    }
}

/// The names whose value is not the object `before` held under them.
pub fn changed_names(
    before: &Bound<'_, PyDict>,
    namespace: &Bound<'_, PyDict>,
) -> PyResult<Vec<String>> {
    let mut names = Vec::new();
    for (name, value) in namespace.iter() {
        let same = before.get_item(&name)?.is_some_and(|old| old.is(&value));
        if !same {
            names.push(name.extract()?);
        }
    }
    Ok(names)
}

/// `update_object(old, new)`: patch `old` (a function, wrapper or class) to behave as
/// `new`. Returns False when the two are not versions of the same definition.
#[pyfunction]
pub fn update_object(
    py: Python<'_>,
    old: &Bound<'_, PyAny>,
    new: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    super::errors::boundary(|| update_in_place(py, old, new))
}

fn update_in_place(
    py: Python<'_>,
    old: &Bound<'_, PyAny>,
    new: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    let module_name: String = old.getattr(intern!(old.py(), "__module__"))?.extract()?;
    let mut canon = Canon::new(py, &module_name)?;
    if old.is(new) {
        return Ok(false);
    }
    if let (Ok(old), Ok(new)) = (old.cast::<PyType>(), new.cast::<PyType>()) {
        if !canon.same_definition(old.as_any(), new.as_any())? {
            return Ok(false);
        }
        canon.pair(new.as_any(), old.as_any());
        if let Some(Obstacle::Layout(reason)) = canon.class_obstacle(old, new)? {
            let name = old.qualname()?;
            return Err(PyValueError::new_err(format!(
                "cannot update {name} in place: {reason} changed"
            )));
        }
        canon.patch_class(old, new)?;
    } else if canon.pairs_as_callable(old, new)? {
        canon.patch_callable(old, new)?;
    } else {
        return Ok(false);
    }
    canon.after_commit();
    Ok(true)
}

/// The qualified name of the definition a function stands for: its own, or for a
/// decorator's wrapper (`deco.<locals>.inner`), that of the function it wraps, found
/// through `__wrapped__` or its closure. None when there is no such function.
fn definition_name(function: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let mut pending = vec![(function.clone(), 0)];
    let mut looked = 0;
    while let Some((item, depth)) = pending.pop() {
        looked += 1;
        if looked > 32 {
            break;
        }
        let qualname: String = item
            .getattr(intern!(item.py(), "__qualname__"))?
            .extract()?;
        if !qualname.contains("<locals>") {
            return Ok(Some(qualname));
        }
        if depth == 3 {
            continue;
        }
        if let Ok(inner) = item
            .getattr(intern!(item.py(), "__dict__"))?
            .get_item("__wrapped__")
        {
            if inner.is_instance_of::<PyFunction>() {
                pending.push((inner, depth + 1));
            }
        }
        if let Ok(cells) = item
            .getattr(intern!(item.py(), "__closure__"))?
            .cast_into::<PyTuple>()
        {
            for cell in cells.iter() {
                if let Ok(content) = cell.getattr(intern!(cell.py(), "cell_contents")) {
                    if content.is_instance_of::<PyFunction>() {
                        pending.push((content, depth + 1));
                    }
                }
            }
        }
    }
    Ok(None)
}

/// The state of one reload: which new object stands for which old one.
pub(crate) struct Canon<'py> {
    py: Python<'py>,
    pub(crate) module_name: String,
    /// New object (by address) -> the old object that stays canonical.
    /// The new object is held too: were it freed, another object could take its
    /// address and be mistaken for it.
    old_of: AHashMap<usize, (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    /// Old object (by address, alive in `old_of`) -> the one new object paired with it:
    /// an old object takes one new version only. (After `h = f`, `f = deco(f)`, the
    /// wrapper and the plain function both look like versions of the old `f`; patching
    /// it from both would leave it calling itself.)
    claimant: AHashMap<usize, usize>,
    heap: HeapPass<'py>,
    /// Addresses of the objects the namespace held before (alive in the `before` copy).
    preexisting: AHashSet<usize>,
    /// Addresses of the objects in the youngest GC generation, once asked for.
    young: Option<AHashSet<usize>>,
    /// Addresses of the young objects that existed before the run.
    young_before: AHashSet<usize>,
    /// Keeps the objects of `young_before` alive for the reload.
    young_before_objects: Option<Bound<'py, PyAny>>,
    pub(crate) patched: usize,
    pub(crate) warnings: Vec<Warning>,
    /// Functions and classes that left the module in an earlier reload, by qualified
    /// name: a new object of that name patches the old one again.
    pub(crate) revenants: Vec<(String, Bound<'py, PyAny>)>,
    /// The qualified names of the revenants that were paired.
    pub(crate) revived: Vec<String>,
    /// Caches (`lru_cache`) in front of patched functions, cleared when the reload
    /// commits: a reload that fails keeps them as they were.
    pub(crate) stale_caches: Vec<Bound<'py, PyAny>>,
    /// Statements of the module ran (not only function bodies patched): new objects
    /// may have reached its containers.
    pub(crate) ran_statements: bool,
    /// Classes that could not be patched in place, each with the class replacing it.
    replaced: Vec<(Bound<'py, PyType>, Bound<'py, PyType>)>,
    /// Members of patched classes to remove when the reload commits.
    removed_members: Vec<(Bound<'py, PyType>, String)>,
    /// What was patched, to put back if the reload fails.
    pub(crate) journal: Journal<'py>,
    kinds: Kinds<'py>,
}

/// Built-in types and functions the patching compares against or calls.
struct Kinds<'py> {
    enum_meta: Bound<'py, PyAny>,
    member_descriptor: Bound<'py, PyAny>,
    classmethod: Bound<'py, PyAny>,
    staticmethod: Bound<'py, PyAny>,
    property: Bound<'py, PyAny>,
    partial: Bound<'py, PyAny>,
    type_setattr: Bound<'py, PyAny>,
    type_delattr: Bound<'py, PyAny>,
}

/// The same, held for the process: looked up once (importing `enum`, `types` and
/// `functools` again for every reload cost a few percent of a one-function reload).
struct KindsHeld([Py<PyAny>; 8]);

static KINDS: PyOnceLock<KindsHeld> = PyOnceLock::new();

impl<'py> Kinds<'py> {
    fn new(py: Python<'py>) -> PyResult<Kinds<'py>> {
        let held = KINDS.get_or_try_init(py, || -> PyResult<KindsHeld> {
            let builtins = py.import("builtins")?;
            let type_ = builtins.getattr(intern!(py, "type"))?;
            let found = [
                py.import("enum")?.getattr("EnumMeta")?,
                py.import("types")?.getattr("MemberDescriptorType")?,
                builtins.getattr(intern!(py, "classmethod"))?,
                builtins.getattr(intern!(py, "staticmethod"))?,
                builtins.getattr(intern!(py, "property"))?,
                py.import("functools")?.getattr("partial")?,
                type_.getattr(intern!(py, "__setattr__"))?,
                type_.getattr(intern!(py, "__delattr__"))?,
            ];
            Ok(KindsHeld(found.map(Bound::unbind)))
        })?;
        let [enum_meta, member_descriptor, classmethod, staticmethod, property, partial, type_setattr, type_delattr] =
            held.0.each_ref().map(|kind| kind.bind(py).clone());
        Ok(Kinds {
            enum_meta,
            member_descriptor,
            classmethod,
            staticmethod,
            property,
            partial,
            type_setattr,
            type_delattr,
        })
    }
}

impl<'py> Canon<'py> {
    pub(crate) fn new(py: Python<'py>, module_name: &str) -> PyResult<Canon<'py>> {
        Ok(Canon {
            py,
            module_name: module_name.to_owned(),
            old_of: AHashMap::new(),
            claimant: AHashMap::new(),
            heap: HeapPass::new(),
            preexisting: AHashSet::new(),
            young: None,
            young_before: AHashSet::new(),
            young_before_objects: None,
            patched: 0,
            warnings: Vec::new(),
            journal: Journal::default(),
            revenants: Vec::new(),
            revived: Vec::new(),
            stale_caches: Vec::new(),
            removed_members: Vec::new(),
            replaced: Vec::new(),
            ran_statements: false,
            kinds: Kinds::new(py)?,
        })
    }

    pub(crate) fn pair(&mut self, new: &Bound<'py, PyAny>, old: &Bound<'py, PyAny>) {
        let new_address = new.as_ptr() as usize;
        self.old_of.insert(new_address, (new.clone(), old.clone()));
        self.claimant.insert(old.as_ptr() as usize, new_address);
    }

    fn unpair(&mut self, new: &Bound<'py, PyAny>) {
        if let Some((_, old)) = self.old_of.remove(&(new.as_ptr() as usize)) {
            self.claimant.remove(&(old.as_ptr() as usize));
        }
    }

    /// Whether `old` is already paired with a new object other than `new`.
    fn claimed_by_another(&self, old: &Bound<'py, PyAny>, new: &Bound<'py, PyAny>) -> bool {
        self.claimant
            .get(&(old.as_ptr() as usize))
            .is_some_and(|&n| n != new.as_ptr() as usize)
    }

    /// Whether `value` was created by the run just made (the GC was paused during it, so
    /// what it created is in the youngest generation). Used for objects that carry no
    /// module of their own, like partials; false when unsure.
    fn created_by_run(&mut self, value: &Bound<'py, PyAny>) -> PyResult<bool> {
        if self.young.is_none() {
            let objects = self.py.import("gc")?.getattr("get_objects")?.call1((0,))?;
            let young = objects
                .try_iter()?
                .filter_map(|o| o.ok().map(|o| o.as_ptr() as usize))
                .collect();
            self.young = Some(young);
        }
        let address = value.as_ptr() as usize;
        Ok(self.young.as_ref().is_some_and(|y| y.contains(&address))
            && !self.young_before.contains(&address))
    }

    /// The young objects that existed before the run (see `heap::young_objects`).
    pub(crate) fn set_young_before(
        &mut self,
        objects: Bound<'py, PyAny>,
        addresses: AHashSet<usize>,
    ) {
        self.young_before = addresses;
        self.young_before_objects = Some(objects);
    }

    /// Whether `value` is an object the module held before this reload.
    fn existed(&self, value: &Bound<'py, PyAny>) -> bool {
        self.preexisting.contains(&(value.as_ptr() as usize))
    }

    fn canonical(&self, new: &Bound<'py, PyAny>) -> Option<&Bound<'py, PyAny>> {
        self.old_of
            .get(&(new.as_ptr() as usize))
            .map(|(_, old)| old)
    }

    /// `value`, or the old object it stands for.
    fn translate(&self, value: &Bound<'py, PyAny>) -> Bound<'py, PyAny> {
        self.canonical(value)
            .cloned()
            .unwrap_or_else(|| value.clone())
    }

    fn translate_tuple(&self, items: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(self.py, items.iter().map(|item| self.translate(&item)))
    }

    /// A copy of `dict` whose values are translated to the canonical objects.
    fn translate_dict(&self, dict: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyDict>> {
        let copy = PyDict::new(self.py);
        for (key, value) in dict.iter() {
            copy.set_item(key, self.translate(&value))?;
        }
        Ok(copy)
    }

    /// A copy of `list` whose items are translated to the canonical objects.
    fn translate_list(&self, list: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(self.py, list.iter().map(|item| self.translate(&item)))
    }

    /// Whether `old` and `new` are two versions of one definition of this module: both
    /// functions (sharing globals, so the new code runs against the right namespace) or
    /// both classes, with the same qualified name. This guards against aliasing: after
    /// `f = foo`, the old `f` is not patched from `foo`.
    ///
    /// A function whose decorator was added or removed is still a version of itself: a
    /// decorator's wrapper (a function of this module's, `deco.<locals>.inner`) stands for
    /// the function it wraps, so a reference to the old wrapper runs the new plain
    /// function, and a reference to the old plain function runs the new wrapper.
    fn same_definition(&self, old: &Bound<'py, PyAny>, new: &Bound<'py, PyAny>) -> PyResult<bool> {
        let functions = old.is_instance_of::<PyFunction>() && new.is_instance_of::<PyFunction>();
        let classes = old.is_instance_of::<PyType>() && new.is_instance_of::<PyType>();
        if classes {
            return self.same_origin(old, new);
        }
        if !functions
            || !old
                .getattr(intern!(old.py(), "__globals__"))?
                .is(new.getattr(intern!(new.py(), "__globals__"))?)
        {
            return Ok(false);
        }
        if self.same_origin(old, new)? {
            return Ok(true);
        }
        if !self.defines(old)? {
            return Ok(false);
        }
        let defined = definition_name(old)?;
        Ok(defined.is_some() && defined == definition_name(new)?)
    }

    /// Both carry this module's name and the same qualified name.
    fn same_origin(&self, old: &Bound<'py, PyAny>, new: &Bound<'py, PyAny>) -> PyResult<bool> {
        let module: Option<String> = old
            .getattr("__module__")
            .ok()
            .and_then(|m| m.extract().ok());
        if module.as_deref() != Some(self.module_name.as_str()) {
            return Ok(false);
        }
        match (
            old.getattr(intern!(old.py(), "__qualname__")),
            new.getattr(intern!(new.py(), "__qualname__")),
        ) {
            (Ok(a), Ok(b)) => a.eq(b),
            _ => Ok(false),
        }
    }

    /// Whether `value` is a function or class this module defines.
    pub(crate) fn defines(&self, value: &Bound<'py, PyAny>) -> PyResult<bool> {
        let kind = value.is_instance_of::<PyFunction>() || value.is_instance_of::<PyType>();
        if !kind {
            return Ok(false);
        }
        let module = value.getattr(intern!(value.py(), "__module__"))?;
        module.eq(self.module_name.as_str())
    }

    /// The departed object (see `revenants`) that `new` is a new version of, if any.
    fn revenant(&self, new: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.revenants.is_empty() || !self.defines(new)? {
            return Ok(None);
        }
        let qualname: String = new.getattr(intern!(new.py(), "__qualname__"))?.extract()?;
        Ok(self
            .revenants
            .iter()
            .find(|(q, _)| *q == qualname)
            .map(|(_, old)| old.clone()))
    }

    /// Records which revenants were paired with a new version.
    fn note_revived(
        &mut self,
        pairs: &[(Bound<'py, PyAny>, Bound<'py, PyAny>)],
        classes: &[(Bound<'py, PyType>, Bound<'py, PyType>)],
    ) -> PyResult<()> {
        let olds = pairs
            .iter()
            .map(|(old, _)| old.clone())
            .chain(classes.iter().map(|(old, _)| old.clone().into_any()));
        for old in olds {
            if let Some((q, _)) = self.revenants.iter().find(|(_, r)| r.is(&old)) {
                self.revived.push(q.clone());
            }
        }
        Ok(())
    }

    /// Points every name of `namespace` that holds a new object at its old version.
    fn rebind(&self, namespace: &Bound<'py, PyDict>) -> PyResult<()> {
        let stale: Vec<_> = namespace
            .iter()
            .filter_map(|(name, value)| self.canonical(&value).map(|old| (name, old.clone())))
            .collect();
        for (name, old) in stale {
            namespace.set_item(name, old)?;
        }
        Ok(())
    }

    fn warn_object(&mut self, object: &Bound<'py, PyAny>, err: &PyErr) {
        let name = heap::qualname(object);
        self.warnings
            .push(Warning::new("not_updated", name, err.to_string()));
    }

    /// What waits for the commit, since a rollback could not undo it exactly: members
    /// removed from patched classes, and the caches in front of patched functions
    /// emptied. What fails here is said, not raised (the reload is done).
    pub(crate) fn after_commit(&mut self) {
        self.remove_members();
        for cache in std::mem::take(&mut self.stale_caches) {
            if let Err(err) = cache.call_method0("cache_clear") {
                let name = heap::qualname(&cache);
                self.warnings
                    .push(Warning::new("not_updated", name, err.to_string()));
            }
        }
    }

    /// Runs the heap repairs (instances to move, closures to update), journaled.
    pub(crate) fn repair_heap(&mut self, young: Young) -> PyResult<()> {
        let warnings = self.heap.run(self.py, young, &mut self.journal)?;
        self.warnings.extend(warnings);
        Ok(())
    }
}
