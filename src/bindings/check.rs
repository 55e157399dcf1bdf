//! One check: detect, order, plan, reload each module in its transaction, propagate new
//! values to the modules that imported the old ones, and record what happened, for the
//! whole batch, in one call. The Python side gives the policy and reads the events.

use std::collections::VecDeque;

use ahash::AHashSet;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};

use super::errors::{as_internal, boundary};
use super::events::{Event, Subject};
use super::graveyard::Graveyard;
use super::reload::{reload, Failure, Reloaded};
use super::stale::{stale_importers, Touched, Visits};
use crate::detector::Detector;
use crate::module_table::{Change, ModuleTable};
use crate::outline::{External, Plan};

/// What the host asks of a check (read from the Python policy object's attributes).
#[derive(FromPyObject)]
pub struct Policy {
    /// Check only these modules (mode 1: those marked with `%aimport`); None: all.
    pub only: Option<Vec<String>>,
    /// Never reload these (`%aimport -m`).
    pub skip: Vec<String>,
    /// Always run whole modules (`--full`, `2-`).
    pub full: bool,
    /// False: take what the files hold now as what the modules run, without running
    /// anything (the first check after loading).
    pub reload: bool,
    /// Reload these now, whole, changed or not (`%autoreload now pkg`).
    pub forced: Vec<String>,
    /// The modules that may run again because they imported values that changed;
    /// None: any module of the user's (mode 1 restricts it to the marked ones).
    pub importers: Option<Vec<String>>,
}

/// The modules binding names from one module, each with its `(name, bound as)` pairs.
pub type Binders = Vec<(String, Vec<(String, String)>)>;

/// One module to reload in this batch.
struct Item {
    change: Change,
    /// Run whole, whatever changed.
    whole: bool,
    /// Runs only because it imported values that changed in this module.
    because_of: Option<String>,
    /// What it took at import from reloaded modules that changed: names holding old
    /// values, star imports that would bind other names now.
    stale: External,
}

impl Item {
    fn changed(change: Change) -> Item {
        Item {
            // What the module runs is unknown (its file changed before its baseline
            // was read): there is nothing to compare with, so all of it runs.
            whole: !change.baseline_known,
            change,
            because_of: None,
            stale: External::default(),
        }
    }
}

/// The changes the detector noticed and the policy selects, plus the forced modules.
pub fn collect(
    py: Python<'_>,
    table: &mut ModuleTable,
    detector: &mut Detector,
    policy: &Policy,
) -> Vec<Change> {
    let skip: AHashSet<String> = policy.skip.iter().cloned().collect();
    let only = policy.only.as_deref();
    py.detach(|| {
        let candidates = detector.candidates();
        table.notice(&candidates);
        table.changes(only, &skip)
    })
}

/// Reloads `changes` and the `policy.forced` modules, in dependency order, then the
/// modules holding values they changed. Returns what happened, in order.
pub fn run_batch(
    py: Python<'_>,
    table: &mut ModuleTable,
    graveyard: &mut Graveyard,
    modules: &Bound<'_, PyDict>,
    changes: Vec<Change>,
    policy: &Policy,
) -> PyResult<Vec<Event>> {
    // The forced modules first: among modules that do not import one another, the
    // order given is kept (a package before its submodules).
    let mut items = Vec::new();
    for name in &policy.forced {
        if let Some(change) = py.detach(|| table.current(name)) {
            items.push(Item {
                whole: true,
                ..Item::changed(change)
            });
        }
    }
    items.extend(
        changes
            .into_iter()
            .filter(|c| !policy.forced.contains(&c.name))
            .map(Item::changed),
    );
    run_items(py, table, graveyard, modules, items, policy)
}

/// Reloads sources given by the host (sent by another process, not read from the files
/// here), each `(change, whole)`, as `run_batch` reloads changes: in dependency order,
/// then the modules holding values they changed.
pub fn run_given(
    py: Python<'_>,
    table: &mut ModuleTable,
    graveyard: &mut Graveyard,
    modules: &Bound<'_, PyDict>,
    given: Vec<(Change, bool)>,
    policy: &Policy,
) -> PyResult<Vec<Event>> {
    let items = given
        .into_iter()
        .map(|(change, whole)| {
            let item = Item::changed(change);
            Item {
                whole: whole || item.whole,
                ..item
            }
        })
        .collect();
    run_items(py, table, graveyard, modules, items, policy)
}

fn run_items(
    py: Python<'_>,
    table: &mut ModuleTable,
    graveyard: &mut Graveyard,
    modules: &Bound<'_, PyDict>,
    items: Vec<Item>,
    policy: &Policy,
) -> PyResult<Vec<Event>> {
    let mut pending = ordered(table, items);
    let mut done = Visits::new();
    let mut events = Vec::new();
    while let Some(item) = pending.pop_front() {
        *done.entry(item.change.name.clone()).or_default() += 1;
        // One module's trouble (even a panic of ours) is that module's failure: the
        // rest of the batch still reloads.
        let outcome = boundary(|| {
            reload_item(
                py,
                table,
                graveyard,
                modules,
                &item,
                policy,
                &done,
                &mut events,
            )
        });
        match outcome {
            Ok(stale) if !stale.is_empty() => {
                pending = add_importers(py, table, pending, stale, &item.change.name);
            }
            Ok(_) => {}
            Err(err) => {
                let c = &item.change;
                table.fail(&c.name, c.stat, c.hash);
                let err = as_internal(py, "the check failed", err);
                events.push(Event::failed(py, subject_of(&item), err, true));
            }
        }
    }
    Ok(events)
}

/// Reloads one item of the batch and records what happened in `events`; returns the
/// importers that now hold stale values from it, with what is stale.
#[allow(clippy::too_many_arguments)]
fn reload_item(
    py: Python<'_>,
    table: &mut ModuleTable,
    graveyard: &mut Graveyard,
    modules: &Bound<'_, PyDict>,
    item: &Item,
    policy: &Policy,
    done: &Visits,
    events: &mut Vec<Event>,
) -> PyResult<Vec<(String, External)>> {
    let name = &item.change.name;
    let Some(module) = tracked_module(table, modules, name)? else {
        // Not the module tracked under that name right now (a test's fake in its
        // place): the change waits until the tracked module is back.
        table.keep_pending(name);
        return Ok(Vec::new());
    };
    let plan = plan_for(table, item, policy);
    // Run again for what another module changed, and nothing it used did.
    if item.because_of.is_some() && plan.as_ref().is_some_and(Plan::is_empty) {
        return Ok(Vec::new());
    }
    let subject = subject_of(item);
    let revenants = graveyard.alive(py, name);
    let c = &item.change;
    match reload(&module, &c.bytes, &subject.path, plan.as_ref(), revenants) {
        Ok(reloaded) => {
            table.commit(c);
            graveyard.update(py, name, &reloaded.departed, &reloaded.revived);
            let touched = Touched::of(&module, plan.as_ref(), &reloaded)?;
            let stale = stale_importers(table, modules, name, &reloaded, &touched, policy, done);
            events.push(reloaded_event(py, subject, reloaded).with_source(py, &c.bytes));
            stale
        }
        Err(failure) => {
            table.fail(&c.name, c.stat, c.hash);
            let (err, internal) = match failure {
                Failure::User(err) => (err, false),
                Failure::Internal(err) => (err, true),
            };
            events.push(Event::failed(py, subject, err, internal));
            Ok(Vec::new())
        }
    }
}

fn subject_of(item: &Item) -> Subject {
    Subject {
        module: item.change.name.clone(),
        path: item.change.path.to_string_lossy().into_owned(),
        because_of: item.because_of.clone(),
    }
}

fn reloaded_event(py: Python<'_>, subject: Subject, r: Reloaded) -> Event {
    let previous = r.previous.clone_ref(py);
    Event::reloaded(subject, r.ran, r.rebound, previous, &r.warnings, r.ms)
}

/// `items` in reload order, by the imports of their new content.
fn ordered(table: &mut ModuleTable, items: Vec<Item>) -> VecDeque<Item> {
    if items.len() < 2 {
        return items.into();
    }
    let changes: Vec<&Change> = items.iter().map(|i| &i.change).collect();
    let order = table.batch_order(&changes);
    let mut items: Vec<Option<Item>> = items.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|name| {
            let slot = items
                .iter_mut()
                .find(|i| i.as_ref().is_some_and(|i| &i.change.name == name))?;
            slot.take()
        })
        .collect()
}

/// The module object `name` in `modules`, if it is still the one the table tracks.
pub(super) fn tracked_module<'py>(
    table: &ModuleTable,
    modules: &Bound<'py, PyDict>,
    name: &str,
) -> PyResult<Option<Bound<'py, PyModule>>> {
    let Some(module) = modules.get_item(name)? else {
        return Ok(None);
    };
    if !table.knows(name, module.as_ptr() as usize) {
        return Ok(None);
    }
    Ok(module.cast_into::<PyModule>().ok())
}

/// What to run for `item`: None for the whole module.
fn plan_for(table: &ModuleTable, item: &Item, policy: &Policy) -> Option<Plan> {
    if item.whole || policy.full {
        return None;
    }
    if item.because_of.is_some() {
        table.plan_rerun(&item.change, &item.stale)
    } else {
        table.plan(&item.change, &item.stale)
    }
}

/// Adds the `stale` importers to the batch (or their names to an item already in it)
/// and puts the batch back in reload order.
fn add_importers(
    py: Python<'_>,
    table: &mut ModuleTable,
    pending: VecDeque<Item>,
    stale: Vec<(String, External)>,
    because_of: &str,
) -> VecDeque<Item> {
    let mut items: Vec<Item> = pending.into();
    for (importer, names) in stale {
        if let Some(item) = items.iter_mut().find(|i| i.change.name == importer) {
            item.stale.extend(names);
            continue;
        }
        if let Some(change) = py.detach(|| table.current(&importer)) {
            items.push(Item {
                because_of: Some(because_of.to_owned()),
                stale: names,
                ..Item::changed(change)
            });
        }
    }
    ordered(table, items)
}
