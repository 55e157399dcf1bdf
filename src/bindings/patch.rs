//! Making the objects that existed before a reload behave as the new ones.
//!
//! After a module re-executes, each name that denoted a function or class defined there
//! points back at the OLD object, patched in place from the new one; the new object is
//! discarded. References held anywhere else (`from m import f`, instances, registries)
//! therefore see the new code without being found. A class that cannot be patched in
//! place (its metaclass or instance layout changed, or it is an Enum) is replaced
//! instead, and its existing instances are moved to the replacement.

use ahash::{AHashMap, AHashSet};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFunction, PyTuple, PyType};

use super::heap::{self, HeapPass, Young};

/// Function attributes copied from the new version (the closure and code are handled
/// separately, since the closure must be set first and through the C API).
const FUNCTION_ATTRS: [&str; 6] = [
    "__defaults__",
    "__kwdefaults__",
    "__doc__",
    "__annotations__",
    "__dict__",
    "__type_params__",
];

/// Class-dict keys never copied between versions: the instance dict and weakref slots
/// are per-class descriptors, and `_abc_impl` holds the old class's ABC registrations.
const KEPT_CLASS_KEYS: [&str; 4] = ["__dict__", "__weakref__", "_abc_impl", "__slots__"];

/// What adopting a module's new namespace did.
pub struct Outcome {
    pub rebound: Vec<String>,
    pub patched: usize,
    pub warnings: Vec<String>,
}

/// Points the names of `namespace` (just re-executed) back at the objects `before` held,
/// patched to behave as the new ones.
pub fn adopt_namespace<'py>(
    py: Python<'py>,
    module_name: &str,
    before: &Bound<'py, PyDict>,
    namespace: &Bound<'py, PyDict>,
    young: Young,
) -> PyResult<Outcome> {
    let mut canon = Canon::new(py, module_name)?;
    let mut functions = Vec::new();
    let mut classes = Vec::new();
    for (name, new) in namespace.iter() {
        let Some(old) = before.get_item(&name)? else {
            continue;
        };
        if old.is(&new) || !canon.same_definition(&old, &new)? {
            continue;
        }
        if new.is_instance_of::<PyType>() {
            canon.pair(&new, &old);
            classes.push((old.cast_into::<PyType>()?, new.cast_into::<PyType>()?));
        } else {
            canon.pair(&new, &old);
            functions.push((old, new));
        }
    }
    // Decide which classes stay before patching anything, so that a closure retargeted
    // to a canonical class never points at one that is about to be replaced.
    let mut in_place = Vec::new();
    for (old, new) in classes {
        match canon.class_obstacle(&old, &new)? {
            None => in_place.push((old, new)),
            Some(obstacle) => canon.replace(old, new, obstacle),
        }
    }
    // A failure to patch one object is reported and leaves the others to be patched:
    // the module's new code already ran, so stopping halfway would help no one.
    for (old, new) in &functions {
        if let Err(err) = canon.patch_function(old, new) {
            canon.warn_object(old, &err);
        }
    }
    for (old, new) in &in_place {
        if let Err(err) = canon.patch_class(old, new) {
            canon.warn_object(old, &err);
        }
    }
    rebind(&canon, namespace)?;
    let rebound = changed_names(before, namespace)?;
    canon.finish(py, young, rebound)
}

/// `update_object(old, new)`: patch `old` (a function or class) to behave as `new`.
/// Returns False when the two are not versions of the same definition.
#[pyfunction]
pub fn update_object(
    py: Python<'_>,
    old: &Bound<'_, PyAny>,
    new: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    let module_name: String = old.getattr("__module__")?.extract()?;
    let mut canon = Canon::new(py, &module_name)?;
    if old.is(new) || !canon.same_definition(old, new)? {
        return Ok(false);
    }
    canon.pair(new, old);
    if let (Ok(old), Ok(new)) = (old.cast::<PyType>(), new.cast::<PyType>()) {
        if let Some(Obstacle::Layout(reason)) = canon.class_obstacle(old, new)? {
            return Err(PyValueError::new_err(format!(
                "cannot update {}: {reason}",
                old.qualname()?
            )));
        }
        canon.patch_class(old, new)?;
    } else {
        canon.patch_function(old, new)?;
    }
    Ok(true)
}

fn rebind(canon: &Canon<'_>, namespace: &Bound<'_, PyDict>) -> PyResult<()> {
    for (name, value) in namespace.iter() {
        if let Some(old) = canon.canonical(&value) {
            namespace.set_item(name, old)?;
        }
    }
    Ok(())
}

fn changed_names(
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

/// Why a class is replaced rather than patched.
enum Obstacle {
    /// Enum classes are replaced quietly, as IPython's autoreload does.
    Enum,
    Layout(String),
}

/// The state of one reload: which new object stands for which old one.
struct Canon<'py> {
    py: Python<'py>,
    module_name: String,
    /// New object (by address) -> the old object that stays canonical.
    old_of: AHashMap<usize, Bound<'py, PyAny>>,
    heap: HeapPass<'py>,
    patched: usize,
    warnings: Vec<String>,
    enum_meta: Bound<'py, PyAny>,
    member_descriptor: Bound<'py, PyAny>,
    classmethod: Bound<'py, PyAny>,
    staticmethod: Bound<'py, PyAny>,
    property: Bound<'py, PyAny>,
}

impl<'py> Canon<'py> {
    fn new(py: Python<'py>, module_name: &str) -> PyResult<Canon<'py>> {
        let builtins = py.import("builtins")?;
        Ok(Canon {
            py,
            module_name: module_name.to_owned(),
            old_of: AHashMap::new(),
            heap: HeapPass::new(),
            patched: 0,
            warnings: Vec::new(),
            enum_meta: py.import("enum")?.getattr("EnumMeta")?,
            member_descriptor: py.import("types")?.getattr("MemberDescriptorType")?,
            classmethod: builtins.getattr("classmethod")?,
            staticmethod: builtins.getattr("staticmethod")?,
            property: builtins.getattr("property")?,
        })
    }

    fn pair(&mut self, new: &Bound<'py, PyAny>, old: &Bound<'py, PyAny>) {
        self.old_of.insert(new.as_ptr() as usize, old.clone());
    }

    fn canonical(&self, new: &Bound<'py, PyAny>) -> Option<&Bound<'py, PyAny>> {
        self.old_of.get(&(new.as_ptr() as usize))
    }

    /// Whether `old` and `new` are two versions of one definition of this module: both
    /// functions (sharing globals, so the new code runs against the right namespace) or
    /// both classes, with the same qualified name. This guards against aliasing: after
    /// `f = foo`, the old `f` is not patched from `foo`.
    fn same_definition(&self, old: &Bound<'py, PyAny>, new: &Bound<'py, PyAny>) -> PyResult<bool> {
        let functions = old.is_instance_of::<PyFunction>() && new.is_instance_of::<PyFunction>();
        let classes = old.is_instance_of::<PyType>() && new.is_instance_of::<PyType>();
        if !(functions || classes) {
            return Ok(false);
        }
        let module: Option<String> = old.getattr("__module__")?.extract().ok();
        if module.as_deref() != Some(self.module_name.as_str()) {
            return Ok(false);
        }
        if !old
            .getattr("__qualname__")?
            .eq(new.getattr("__qualname__")?)?
        {
            return Ok(false);
        }
        Ok(classes || old.getattr("__globals__")?.is(new.getattr("__globals__")?))
    }

    /// Why `old` cannot take `new`'s definition in place, if it cannot. Changes the
    /// bases of `old` when only they differ and the layouts allow it.
    fn class_obstacle(
        &self,
        old: &Bound<'py, PyType>,
        new: &Bound<'py, PyType>,
    ) -> PyResult<Option<Obstacle>> {
        if old.get_type().is_subclass(&self.enum_meta)? {
            return Ok(Some(Obstacle::Enum));
        }
        if !old.get_type().is(new.get_type()) {
            return Ok(Some(Obstacle::Layout("its metaclass changed".into())));
        }
        let slots = |class: &Bound<'py, PyType>| {
            class
                .getattr("__dict__")?
                .get_item("__slots__")
                .ok()
                .map_or(Ok(None), |s| s.repr().map(|r| Some(r.to_string())))
        };
        if slots(old)? != slots(new)? {
            return Ok(Some(Obstacle::Layout("its __slots__ changed".into())));
        }
        if !old
            .getattr("__basicsize__")?
            .eq(new.getattr("__basicsize__")?)?
        {
            return Ok(Some(Obstacle::Layout("its instance layout changed".into())));
        }
        let bases = self.translate_tuple(&new.getattr("__bases__")?.cast_into::<PyTuple>()?)?;
        if !old.getattr("__bases__")?.eq(&bases)? {
            if let Err(err) = old.setattr("__bases__", bases) {
                return Ok(Some(Obstacle::Layout(format!("its bases changed ({err})"))));
            }
        }
        Ok(None)
    }

    fn translate_tuple(&self, items: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTuple>> {
        let translated: Vec<Bound<'py, PyAny>> = items
            .iter()
            .map(|item| self.canonical(&item).cloned().unwrap_or(item))
            .collect();
        PyTuple::new(self.py, translated)
    }

    /// `new` replaces `old`: the name keeps the new class and old instances move to it.
    fn replace(&mut self, old: Bound<'py, PyType>, new: Bound<'py, PyType>, obstacle: Obstacle) {
        self.old_of.remove(&(new.as_ptr() as usize));
        if let Obstacle::Layout(reason) = obstacle {
            let name = old.qualname().map(|q| q.to_string()).unwrap_or_default();
            self.warnings.push(format!(
                "class {name} could not be updated in place because {reason}; \
                 it was replaced and existing instances moved to the new class where possible"
            ));
        }
        self.heap.move_all_instances(old, new);
    }

    /// Gives `old` the code, closure, defaults, annotations and doc of `new`.
    fn patch_function(&mut self, old: &Bound<'py, PyAny>, new: &Bound<'py, PyAny>) -> PyResult<()> {
        self.adopt_function(new, &mut AHashSet::new())?;
        let (old_code, new_code) = (old.getattr("__code__")?, new.getattr("__code__")?);
        self.update_nested_code(&old_code, &new_code)?;
        // The closure goes first: setting `__code__` checks that the number of free
        // variables matches the closure already in place.
        heap::set_closure(old, &new.getattr("__closure__")?)?;
        old.setattr("__code__", new_code)?;
        for attr in FUNCTION_ATTRS {
            if let Ok(value) = new.getattr(attr) {
                old.setattr(attr, value)?;
            }
        }
        self.patched += 1;
        Ok(())
    }

    /// Schedules the functions made from code nested in `old` (closures a factory
    /// returned, a decorator's inner function) to get the matching code from `new`.
    /// Nested code is matched by name, in order; comprehensions are skipped since no
    /// function object outlives them.
    fn update_nested_code(
        &mut self,
        old: &Bound<'py, PyAny>,
        new: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        let old_nested = nested_code(old)?;
        let mut new_nested = nested_code(new)?;
        for (name, old_code) in old_nested {
            let Some(i) = new_nested.iter().position(|(n, _)| *n == name) else {
                continue;
            };
            let (_, new_code) = new_nested.remove(i);
            if !old_code.eq(&new_code)? {
                self.update_nested_code(&old_code, &new_code)?;
                self.heap.update_code(old_code, new_code);
            }
        }
        Ok(())
    }

    /// Points the closure cells of `function` (and of the functions it wraps) that hold
    /// a new object at the canonical old one, so that `super()`'s `__class__` cell and
    /// decorators' captured functions refer to what the module now exposes.
    fn adopt_function(
        &self,
        function: &Bound<'py, PyAny>,
        seen: &mut AHashSet<usize>,
    ) -> PyResult<()> {
        if !seen.insert(function.as_ptr() as usize) {
            return Ok(());
        }
        let closure = function.getattr("__closure__")?;
        let Ok(cells) = closure.cast::<PyTuple>() else {
            return Ok(());
        };
        for cell in cells.iter() {
            let Ok(content) = cell.getattr("cell_contents") else {
                continue;
            };
            if let Some(old) = self.canonical(&content) {
                cell.setattr("cell_contents", old)?;
            } else if content.is_instance_of::<PyFunction>() {
                self.adopt_function(&content, seen)?;
            }
        }
        Ok(())
    }

    /// Prepares a new class member that is moved into the old class as it is.
    fn adopt_member(&self, value: &Bound<'py, PyAny>) -> PyResult<()> {
        let mut seen = AHashSet::new();
        for function in wrapped_functions(value)? {
            self.adopt_function(&function, &mut seen)?;
        }
        Ok(())
    }

    /// Makes `old`'s namespace that of `new`, patching members that are versions of one
    /// another in place and moving the rest over.
    fn patch_class(&mut self, old: &Bound<'py, PyType>, new: &Bound<'py, PyType>) -> PyResult<()> {
        let old_dict = old.getattr("__dict__")?;
        let new_dict = new.getattr("__dict__")?;
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
            self.set_class_attr(old, &key, &value);
        }
        for key in old_dict.call_method0("keys")?.try_iter()? {
            let key: String = key?.extract()?;
            if new_dict.contains(&key)? || self.is_kept_key(&key, &old_dict.get_item(&key)?)? {
                continue;
            }
            if let Err(err) = old.delattr(&key) {
                self.warn_member(old, &key, &err);
            }
        }
        self.heap.move_young_instances(new.clone(), old.clone());
        self.patched += 1;
        Ok(())
    }

    fn is_kept_key(&self, key: &str, value: &Bound<'py, PyAny>) -> PyResult<bool> {
        Ok(KEPT_CLASS_KEYS.contains(&key) || value.is_instance(&self.member_descriptor)?)
    }

    fn set_class_attr(&mut self, class: &Bound<'py, PyType>, key: &str, value: &Bound<'py, PyAny>) {
        if let Err(err) = class.setattr(key, value) {
            self.warn_member(class, key, &err);
        }
    }

    fn warn_object(&mut self, object: &Bound<'py, PyAny>, err: &PyErr) {
        let name = object.getattr("__qualname__").map(|q| q.to_string()).unwrap_or_default();
        self.warnings.push(format!("{name} could not be updated ({err})"));
    }

    fn warn_member(&mut self, class: &Bound<'py, PyType>, key: &str, err: &PyErr) {
        let name = class.qualname().map(|q| q.to_string()).unwrap_or_default();
        self.warnings
            .push(format!("{name}.{key} could not be updated ({err})"));
    }

    /// Patches one class member in place when old and new are versions of each other;
    /// returns false when the new value must simply be set.
    fn patch_member(&mut self, old: &Bound<'py, PyAny>, new: &Bound<'py, PyAny>) -> PyResult<bool> {
        if old.is(new) {
            return Ok(true);
        }
        let both_exactly =
            |kind: &Bound<'py, PyAny>| old.get_type().is(kind) && new.get_type().is(kind);
        if old.is_instance_of::<PyFunction>() && new.is_instance_of::<PyFunction>() {
            return self.patch_function_pair(old, new);
        }
        if both_exactly(&self.classmethod) || both_exactly(&self.staticmethod) {
            return self.patch_function_pair(&old.getattr("__func__")?, &new.getattr("__func__")?);
        }
        if both_exactly(&self.property) {
            return self.patch_property(old, new);
        }
        if old.is_instance_of::<PyType>()
            && new.is_instance_of::<PyType>()
            && self.same_definition(old, new)?
        {
            let (old, new) = (old.cast::<PyType>()?, new.cast::<PyType>()?);
            self.pair(new.as_any(), old.as_any());
            return match self.class_obstacle(old, new)? {
                None => self.patch_class(old, new).map(|()| true),
                Some(_) => {
                    self.old_of.remove(&(new.as_ptr() as usize));
                    Ok(false)
                }
            };
        }
        Ok(false)
    }

    fn patch_function_pair(
        &mut self,
        old: &Bound<'py, PyAny>,
        new: &Bound<'py, PyAny>,
    ) -> PyResult<bool> {
        let functions = old.is_instance_of::<PyFunction>() && new.is_instance_of::<PyFunction>();
        if !(functions && self.same_definition(old, new)?) {
            return Ok(false);
        }
        self.pair(new, old);
        self.patch_function(old, new)?;
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
                (false, false) if self.same_definition(&o, &n)? => pairs.push((o, n)),
                _ => return Ok(false),
            }
        }
        for (o, n) in pairs {
            self.pair(&n, &o);
            self.patch_function(&o, &n)?;
        }
        Ok(true)
    }

    /// Moves instances and collects the warnings.
    fn finish(self, py: Python<'py>, young: Young, rebound: Vec<String>) -> PyResult<Outcome> {
        let mut warnings = self.warnings;
        warnings.extend(self.heap.run(py, young)?);
        Ok(Outcome {
            rebound,
            patched: self.patched,
            warnings,
        })
    }
}

/// The code objects in `code`'s constants that can become long-lived functions (named
/// functions and lambdas), with their names.
fn nested_code<'py>(code: &Bound<'py, PyAny>) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let code_type = code.get_type();
    let mut nested = Vec::new();
    for constant in code.getattr("co_consts")?.try_iter()? {
        let constant = constant?;
        if !constant.get_type().is(&code_type) {
            continue;
        }
        let name: String = constant.getattr("co_name")?.extract()?;
        if !name.starts_with('<') || name == "<lambda>" {
            nested.push((name, constant));
        }
    }
    Ok(nested)
}

/// The plain functions inside a class member: itself, the function a classmethod,
/// staticmethod or property wraps, and along `__wrapped__` chains (functools.wraps).
fn wrapped_functions<'py>(value: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut found = Vec::new();
    let mut pending = vec![value.clone()];
    while let Some(item) = pending.pop() {
        if found.len() > 64 {
            break;
        }
        if item.is_instance_of::<PyFunction>() {
            found.push(item.clone());
        }
        for attr in ["__func__", "fget", "fset", "fdel", "__wrapped__"] {
            if let Ok(inner) = item.getattr(attr) {
                if !inner.is_none() && !inner.is(&item) {
                    pending.push(inner);
                }
            }
        }
    }
    Ok(found)
}
