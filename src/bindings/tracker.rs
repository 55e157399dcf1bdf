//! `Tracker`: the module table as Python sees it, fed from `sys.modules` and told by the
//! detector which files may have changed.

use std::path::PathBuf;
use std::time::Instant;

use ahash::{AHashMap, AHashSet};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::baselines::Job;
use crate::detector::{Detector, Mode};
use crate::intake::Intake;
use crate::module_table::ModuleTable;
use crate::source_path as paths;

use super::change_signal::ChangeSignal;
use super::check::{self, Binders, Policy};
use super::errors::boundary;
use super::events::Event;
use super::graveyard::Graveyard;
use super::module_source_as;
use super::modules_snapshot::ModulesSnapshot;

/// Follows the modules of `sys.modules` and tells which ones changed on disk.
#[pyclass(module = "fastautoreload._native")]
pub struct Tracker {
    table: ModuleTable,
    detector: Detector,
    /// Modules with no source to reload (C extensions, builtins, namespace packages),
    /// by object identity, so they are looked at once rather than every cell.
    ignored: AHashMap<String, usize>,
    snapshot: ModulesSnapshot,
    /// Functions and classes that left a module, for when they come back.
    graveyard: Graveyard,
    /// How long the last `check` took, in microseconds.
    last_check_us: u128,
    /// Whether `sync` ran before.
    synced: bool,
}

#[pymethods]
impl Tracker {
    /// `library_roots`: directories of installed code (the standard library,
    /// site-packages); modules under them count as library, not the user's own code.
    /// `poll`: detect changes by polling only, never by file events.
    #[new]
    #[pyo3(signature = (library_roots = Vec::new(), poll = false))]
    fn new(py: Python<'_>, library_roots: Vec<PathBuf>, poll: bool) -> PyResult<Tracker> {
        boundary(|| {
            Ok(Tracker {
                table: ModuleTable::with_library_roots(library_roots),
                detector: py.detach(|| Detector::new(poll)),
                ignored: AHashMap::new(),
                snapshot: ModulesSnapshot::default(),
                graveyard: Graveyard::default(),
                last_check_us: 0,
                synced: false,
            })
        })
    }

    /// Brings the table in line with `modules` (normally `sys.modules`): new modules are
    /// watched and their current content read as their baseline, gone ones dropped.
    /// When `modules` holds what it held last time, this is a walk of pointer checks.
    fn sync(&mut self, py: Python<'_>, modules: &Bound<'_, PyDict>) -> PyResult<()> {
        boundary(|| self.sync_with(py, modules))
    }

    /// Checks for changes and reloads what `policy` selects, for the whole batch: see
    /// `check.rs`. Returns the events, in order. Errors of the modules' own code are
    /// events; only a bug of ours raises (an `InternalError`).
    fn check(
        &mut self,
        py: Python<'_>,
        modules: &Bound<'_, PyDict>,
        policy: Policy,
    ) -> PyResult<Vec<Event>> {
        boundary(|| {
            let start = Instant::now();
            self.sync_with(py, modules)?;
            let changes = check::collect(py, &mut self.table, &mut self.detector, &policy);
            let mut events: Vec<Event> = self
                .detector
                .take_notes()
                .into_iter()
                .map(Event::note)
                .collect();
            if policy.reload {
                let table = &mut self.table;
                let graveyard = &mut self.graveyard;
                events.extend(check::run_batch(
                    py, table, graveyard, modules, changes, &policy,
                )?);
            } else {
                for change in &changes {
                    self.table.commit(change);
                }
            }
            self.last_check_us = start.elapsed().as_micros();
            Ok(events)
        })
    }

    /// Reloads modules from sources given by the host rather than read from their files
    /// (a Dask worker applying what its session reloaded): each `(name, source, path,
    /// whole)` brings module `name` from what it runs to `source`, compiled as `path`,
    /// by the same plan, transaction and patching as `check`; `whole` runs it whole
    /// (a reload forced in the session). Modules not imported here, and modules that run
    /// that source already or failed on it before (unless `whole`), are left alone.
    /// Modules that imported values that changed run again, as after `check`.
    fn apply(
        &mut self,
        py: Python<'_>,
        modules: &Bound<'_, PyDict>,
        sources: Vec<(String, Vec<u8>, PathBuf, bool)>,
        policy: Policy,
    ) -> PyResult<Vec<Event>> {
        boundary(|| {
            let start = Instant::now();
            self.sync_with(py, modules)?;
            let given = sources
                .into_iter()
                .filter_map(|(name, bytes, path, whole)| {
                    let change = self.table.given(&name, path, bytes, whole)?;
                    Some((change, whole))
                })
                .collect();
            let table = &mut self.table;
            let graveyard = &mut self.graveyard;
            let events = check::run_given(py, table, graveyard, modules, given, &policy)?;
            self.last_check_us = start.elapsed().as_micros();
            Ok(events)
        })
    }

    /// Module `name` of `modules` runs `source` (given by the host and compiled as
    /// `path`), whatever its file holds: that is what later reloads start from. False
    /// when the module has no source to track.
    fn runs(
        &mut self,
        py: Python<'_>,
        modules: &Bound<'_, PyDict>,
        name: &str,
        source: Vec<u8>,
        path: PathBuf,
    ) -> PyResult<bool> {
        boundary(|| {
            self.sync_with(py, modules)?;
            Ok(self.table.runs(name, path, source))
        })
    }

    /// The modules that bind names from `name` at import time (`from name import x as
    /// y`), each with its `(x, y)` pairs.
    fn binders_of(&mut self, name: &str) -> PyResult<Binders> {
        boundary(|| {
            let graph = self.table.graph();
            Ok(graph
                .binders_of(name)
                .into_iter()
                .map(|(m, names)| (m.to_owned(), names.to_vec()))
                .collect())
        })
    }

    /// Every tracked module that imports `name` at import time, directly or through
    /// others, nearest first.
    fn dependents(&mut self, name: &str) -> PyResult<Vec<String>> {
        boundary(|| Ok(self.table.graph().dependents(name)))
    }

    /// Whether module `name` is installed code (standard library, site-packages).
    fn is_library(&self, name: &str) -> bool {
        self.table.is_library(name)
    }

    /// The source path tracked for module `name`, if any.
    fn path_of(&self, name: &str) -> Option<String> {
        self.table
            .path_of(name)
            .map(|p| p.to_string_lossy().into_owned())
    }

    /// What detection costs and how it works right now.
    fn stats<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.table.absorb_baselines();
        let stats = PyDict::new(py);
        stats.set_item("modules_tracked", self.table.len())?;
        stats.set_item("modules_library", self.table.library_len())?;
        stats.set_item("modules_without_source", self.ignored.len())?;
        let mode = match self.detector.mode() {
            Mode::Events => "file events".to_owned(),
            Mode::Polling(reason) => format!("polling ({reason})"),
        };
        stats.set_item("detection", mode)?;
        stats.set_item("directories_watched", self.detector.watched_dirs())?;
        stats.set_item("directories_polled", self.detector.polled_dirs())?;
        stats.set_item("last_check_us", self.last_check_us)?;
        let (pending, readers) = self.table.baselines_pending();
        stats.set_item("baselines_pending", pending)?;
        stats.set_item("baseline_readers", readers)?;
        Ok(stats)
    }

    /// What a thread waits on to learn that a check may find something (file events in
    /// the watched directories, or time passing while some files are polled).
    fn change_signal(&self) -> ChangeSignal {
        ChangeSignal::new(self.detector.activity())
    }

    /// Stops the background work (reading baselines) and ends every watch: the
    /// extension is unloaded.
    fn close(&mut self, py: Python<'_>) {
        let table = &mut self.table;
        let detector = &mut self.detector;
        py.detach(|| {
            table.stop_baselines();
            detector.close();
        });
    }

    /// `watch=False` (reloading turned off): release the OS watches, and look at every
    /// file when a check is asked for. `watch=True`: watch again; the next check looks
    /// at every file, so nothing saved meanwhile is missed.
    fn set_watching(&mut self, py: Python<'_>, watch: bool) {
        let detector = &mut self.detector;
        py.detach(|| {
            if watch {
                detector.resume();
            } else {
                detector.suspend();
            }
        });
    }

    fn __len__(&self) -> usize {
        self.table.len()
    }
}

impl Tracker {
    fn sync_with(&mut self, py: Python<'_>, modules: &Bound<'_, PyDict>) -> PyResult<()> {
        self.table.absorb_baselines();
        if self.snapshot.unchanged(modules) {
            return Ok(());
        }
        // A copy, taken without running Python code: reading `__file__` below may run
        // some (a lazy module's `__getattr__`), and other threads may then add or remove
        // entries of `sys.modules` while it is walked.
        let tag = ModulesSnapshot::tag(modules);
        let original = modules;
        let modules = modules.copy()?;
        let (jobs, live) = self.take_in(py, &modules);
        if live != (self.table.len(), self.ignored.len()) {
            self.forget_gone(&modules);
        }
        self.snapshot = ModulesSnapshot::take(&modules, original, tag);
        let table = &mut self.table;
        // The first sync finds what was imported before loading: all of it is read in
        // the background; later ones find what cells imported.
        let bulk = !std::mem::replace(&mut self.synced, true);
        py.detach(|| table.read_new(jobs, bulk));
        Ok(())
    }

    /// Tracks the new modules of `modules`, their files stat'ed and watched (see
    /// `intake.rs`). Returns the jobs to read their baselines with, and `track_new`'s
    /// counts.
    fn take_in(
        &mut self,
        py: Python<'_>,
        modules: &Bound<'_, PyDict>,
    ) -> (Vec<Job>, (usize, usize)) {
        let more = modules.len().saturating_sub(self.table.len());
        self.table.reserve(more);
        self.detector.reserve_files(more);
        let (table, detector, ignored) = (&mut self.table, &mut self.detector, &mut self.ignored);
        // New files are stat'ed and watched on other threads while the walk goes on.
        let before = crate::module_table::now_ns();
        let (stated, live) = std::thread::scope(|scope| {
            let mut intake = Intake::new(scope, detector);
            let live = track_new(modules, table, ignored, &mut intake);
            (py.detach(|| intake.finish()), live)
        });
        let (mut jobs, links) = table.record_stats(stated, before);
        // Modules whose file could not be stat'ed when first seen: their directories
        // are watched with them (again, which costs nothing, if they were).
        let (more_jobs, more_links) = py.detach(|| table.stat_new());
        let retried: Vec<_> = more_jobs.iter().map(|job| job.key.clone()).collect();
        jobs.extend(more_jobs);
        if !(links.is_empty() && retried.is_empty()) {
            let detector = &mut self.detector;
            py.detach(|| detector.watch_files(retried, &[links, more_links].concat()));
        }
        (jobs, live)
    }

    /// Forgets the modules no longer in `modules` (some left `sys.modules`, or went
    /// from tracked to ignored or back).
    fn forget_gone(&mut self, modules: &Bound<'_, PyDict>) {
        let names: Vec<Bound<'_, PyString>> = modules
            .keys()
            .iter()
            .filter_map(|k| k.cast_into::<PyString>().ok())
            .collect();
        let live: AHashSet<&str> = names.iter().filter_map(|n| n.to_str().ok()).collect();
        self.table.retain(|name| live.contains(name));
        self.ignored.retain(|name, _| live.contains(name.as_str()));
    }
}

/// Tracks the modules of `modules` the table does not know yet (as these very
/// objects), handing their files to `intake`; remembers those with no source to track.
/// Returns how many of the names walked the table, and the ignored list, now hold:
/// when that is all they hold, nothing left `sys.modules`.
fn track_new(
    modules: &Bound<'_, PyDict>,
    table: &mut ModuleTable,
    ignored: &mut AHashMap<String, usize>,
    intake: &mut Intake<'_, '_>,
) -> (usize, usize) {
    let (mut tracked, mut without_source) = (0, 0);
    for (name, module) in modules.iter() {
        let Some(name) = name.cast::<PyString>().ok().and_then(|n| n.to_str().ok()) else {
            continue;
        };
        let id = module.as_ptr() as usize;
        if table.knows(name, id) {
            tracked += 1;
            continue;
        }
        if ignored.get(name) == Some(&id) {
            without_source += 1;
            continue;
        }
        // The key, not only `__name__`, must be one the table can keep.
        match module_source_as(&module, Some(name)).filter(|_| !paths::is_reserved_name(name)) {
            Some(path) => {
                ignored.remove(name);
                intake.add(table.track(name, path, id));
                tracked += 1;
            }
            None => {
                ignored.insert(name.to_owned(), id);
                without_source += 1;
            }
        }
    }
    (tracked, without_source)
}
