//! Enum classes are patched in place like any class; their members need care: a member
//! that still exists keeps its identity (so `Color.RED is old_red` and comparisons keep
//! working), a new member becomes reachable through the old class, a removed one is
//! dropped from it.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyType};

use super::Canon;

impl<'py> Canon<'py> {
    pub(super) fn is_enum(&self, class: &Bound<'py, PyType>) -> PyResult<bool> {
        class.get_type().is_subclass(&self.kinds.enum_meta)
    }

    /// Pairs each member of the new Enum with the member the old class keeps for it.
    ///
    /// An old member is kept when its value is unchanged, or when the Enum has no data
    /// type mixed in (its value is then plain state, copied over). Otherwise the new
    /// member becomes canonical and, like every instance created by the reload, moves to
    /// the old class.
    pub(super) fn pair_enum_members(
        &mut self,
        old: &Bound<'py, PyType>,
        new: &Bound<'py, PyType>,
    ) -> PyResult<()> {
        let old_members = old
            .getattr(intern!(old.py(), "_member_map_"))?
            .cast_into::<PyDict>()?;
        let new_members = new
            .getattr(intern!(new.py(), "_member_map_"))?
            .cast_into::<PyDict>()?;
        let plain = old
            .getattr("_member_type_")?
            .is(self.py.get_type::<pyo3::types::PyAny>());
        for (name, member) in new_members.iter() {
            if self.canonical(&member).is_some() {
                continue; // an alias of a member already paired
            }
            match old_members.get_item(&name)? {
                Some(kept) if kept.get_type().is(old) && (plain || same_value(&kept, &member)) => {
                    if let Ok(dict) = kept.getattr(intern!(kept.py(), "__dict__")) {
                        self.journal.save_dict(dict.cast()?)?;
                    }
                    copy_member_state(&kept, &member)?;
                    self.pair(&member, &kept);
                }
                _ => retarget_objclass(&member, old)?,
            }
        }
        Ok(())
    }

    /// An Enum class attribute with its members translated: the member maps and lists
    /// are rebuilt around the canonical members.
    pub(super) fn translate_enum_attr(
        &self,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(dict) = value.cast::<PyDict>() {
            return Ok(self.translate_dict(dict)?.into_any());
        }
        if let Ok(list) = value.cast::<PyList>() {
            return Ok(self.translate_list(list)?.into_any());
        }
        Ok(self.translate(value))
    }
}

fn same_value(old: &Bound<'_, PyAny>, new: &Bound<'_, PyAny>) -> bool {
    match (
        old.getattr(intern!(old.py(), "_value_")),
        new.getattr(intern!(new.py(), "_value_")),
    ) {
        (Ok(a), Ok(b)) => a.eq(b).unwrap_or(false),
        _ => false,
    }
}

/// A kept member takes the new member's state (value, and anything `__init__` set).
fn copy_member_state(kept: &Bound<'_, PyAny>, new: &Bound<'_, PyAny>) -> PyResult<()> {
    let (Ok(kept_dict), Ok(new_dict)) = (
        kept.getattr(intern!(kept.py(), "__dict__")),
        new.getattr(intern!(new.py(), "__dict__")),
    ) else {
        return Ok(());
    };
    for item in new_dict.call_method0("items")?.try_iter()? {
        let (key, value): (String, Bound<'_, PyAny>) = item?.extract()?;
        if key != "__objclass__" {
            kept_dict.set_item(key, value)?;
        }
    }
    Ok(())
}

fn retarget_objclass(member: &Bound<'_, PyAny>, class: &Bound<'_, PyType>) -> PyResult<()> {
    if let Ok(dict) = member.getattr(intern!(member.py(), "__dict__")) {
        if dict.contains("__objclass__")? {
            dict.set_item("__objclass__", class)?;
        }
    }
    Ok(())
}
