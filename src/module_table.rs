//! The modules being watched, each with the content it was last loaded from.
//!
//! A module is reloaded when its file's content differs both from the content it was
//! loaded from (its baseline) and from the content that last failed to load. The stat
//! key only decides which files are worth reading: a touched file is read, hashed, found
//! equal, and left alone.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ahash::{AHashMap, AHashSet};
use rayon::prelude::*;

use crate::baselines::{self, Baseline, Job, Reader};
use crate::detector::Candidates;
use crate::fingerprint::{ContentHash, Snapshot, StatKey};
use crate::import_graph::{ImportGraph, Node};
use crate::intake::{self, Stated};
use crate::kept::Kept;
use crate::module_key::ModuleKey;
use crate::name_index::NameIndex;
use std::sync::Arc;

use crate::imports::{scan_lines, Context, Import, PackedImports};
use crate::lexer::{lexable, logical_lines};
use crate::outline::{diff_with, rerun, External, Outline, PackedOutline, Plan, Star, Via};
use crate::path_index::PathIndex;

/// A stat key is trusted only once it was recorded some time after the file's mtime: a
/// second write within the filesystem's timestamp granularity can leave mtime, size and
/// inode all unchanged, so a recently modified file is hashed again instead. Filesystems
/// with sub-second timestamps tick at most every few milliseconds (the kernel's coarse
/// clock); a whole-second mtime may come from one with 1 or 2 second granularity.
const RACY_WINDOW_FINE_NS: i64 = 50_000_000;
const RACY_WINDOW_COARSE_NS: i64 = 2_000_000_000;

fn racy_window(mtime_ns: i64) -> i64 {
    if mtime_ns % 1_000_000_000 == 0 {
        RACY_WINDOW_COARSE_NS
    } else {
        RACY_WINDOW_FINE_NS
    }
}

#[derive(Debug)]
struct Entry {
    /// Its name and source path, shared with the detector and the background reads.
    key: ModuleKey,
    /// Identifies the module object, so a module replaced in `sys.modules` starts over.
    object_id: usize,
    seen: Option<Seen>,
    /// Boxed: rare, and the table holds an entry per module for the whole session.
    failed: Option<Box<ContentHash>>,
    /// Installed code (the standard library, site-packages) rather than the user's own.
    library: bool,
    /// The imports of the content the module runs (scanned when that content is read)
    /// and, for the user's modules, its statements for the differ: packed, unpacked
    /// when the import graph is built or the module changes.
    kept: Kept,
    /// The detector named this file and it has not been looked at since: a change
    /// noticed stays pending until the module is checked (it may be skipped, or not
    /// selected in mode 1, at the moment it is noticed).
    dirty: bool,
}

impl Entry {
    fn name(&self) -> &str {
        self.key.name()
    }

    fn path(&self) -> &Path {
        self.key.path()
    }

    fn job(&self, seen: Seen) -> Job {
        self.job_with(self.key.clone(), seen)
    }

    /// `job`, taking `key` (this entry's own, shared) rather than a new count on it.
    fn job_with(&self, key: ModuleKey, seen: Seen) -> Job {
        Job {
            key,
            object_id: self.object_id,
            stat: seen.stat,
            trusted: seen.trusted,
            library: self.library,
        }
    }

    /// The package relative imports resolve against (`__package__`).
    fn package(&self) -> &str {
        if self
            .path()
            .file_stem()
            .is_some_and(|stem| stem == "__init__")
        {
            self.name()
        } else {
            self.name()
                .rsplit_once('.')
                .map_or("", |(package, _)| package)
        }
    }
}

/// The file as it was when the module was last loaded (or its reload last attempted).
#[derive(Debug, Clone, Copy)]
struct Seen {
    stat: StatKey,
    /// Whether the stat key could be trusted when it was recorded (`stat_trusted`):
    /// kept rather than the time of recording, which is all it was needed for.
    trusted: bool,
    baseline: Base,
}

/// The content a module runs, as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    /// Not read yet (see `baselines`).
    Pending,
    Known(ContentHash),
    /// The file changed before it could be read: the module reloads whole on its change.
    Lost,
}

impl Seen {
    fn new(stat: StatKey, baseline: ContentHash) -> Seen {
        Seen::with(stat, Base::Known(baseline))
    }

    fn with(stat: StatKey, baseline: Base) -> Seen {
        Seen::recorded_at(stat, baseline, now_ns())
    }

    fn recorded_at(stat: StatKey, baseline: Base, now_ns: i64) -> Seen {
        Seen {
            stat,
            trusted: stat_trusted(&stat, now_ns),
            baseline,
        }
    }

    fn trusts(&self, stat: &StatKey) -> bool {
        *stat == self.stat && self.trusted
    }

    /// The same baseline, now at `stat` (a failed version, or a touch). A baseline not
    /// read yet can no longer be: the file no longer holds what the module was loaded
    /// from (or may not), so it is lost.
    fn moved_to(&self, stat: StatKey) -> Seen {
        let baseline = match self.baseline {
            Base::Pending => Base::Lost,
            known_or_lost => known_or_lost,
        };
        Seen::with(stat, baseline)
    }

    fn is_baseline(&self, hash: ContentHash) -> bool {
        self.baseline == Base::Known(hash)
    }
}

/// Whether a file whose stat key was `stat` when recorded at `recorded_at_ns` cannot
/// have changed without changing its stat key (it was not modified within the window
/// its file system's timestamps may not tell apart).
pub(crate) fn stat_trusted(stat: &StatKey, recorded_at_ns: i64) -> bool {
    stat.mtime_ns + racy_window(stat.mtime_ns) < recorded_at_ns
}

/// A module whose source changed: the exact bytes to compile and their hash.
#[derive(Debug, Clone)]
pub struct Change {
    pub name: String,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub hash: ContentHash,
    pub stat: StatKey,
    pub imports: Vec<Import>,
    pub outline: Option<Arc<Outline>>,
    /// The content the module runs was known: false means the file changed before its
    /// baseline could be read, and the module must run whole.
    pub baseline_known: bool,
    /// The bytes were given by the host (a source sent from another process), not read
    /// from the module's file: once committed, they are what the module runs again.
    pub given: bool,
}

/// Imports and outline of a source, from one lexing pass.
pub(crate) fn analyze(bytes: &[u8]) -> (Vec<Import>, Arc<Outline>) {
    let text = lexable(bytes);
    let lines = logical_lines(&text);
    let mut imports = scan_lines(&lines);
    imports.shrink_to_fit();
    (imports, Arc::new(Outline::from_lines(&lines)))
}

/// Imports and outline of a source, packed: what a module's table entry keeps.
pub(crate) fn analyze_to_keep(bytes: &[u8]) -> (PackedImports, PackedOutline) {
    let (imports, outline) = analyze(bytes);
    (PackedImports::pack(&imports), PackedOutline::pack(&outline))
}

/// The position of `name`'s entry in `entries`, by `index`.
fn find(index: &NameIndex, entries: &[Entry], name: &str) -> Option<usize> {
    index.get(name, |i| entries[i].name())
}

/// The module table, in the order modules were first seen.
#[derive(Debug, Default)]
pub struct ModuleTable {
    entries: Vec<Entry>,
    index: NameIndex,
    /// Directories of installed code: modules under them are marked as library.
    library_roots: Vec<PathBuf>,
    /// The import graph, rebuilt when modules or their imports changed.
    graph: Option<ImportGraph>,
    /// Modules by path, rebuilt when modules come or go.
    paths: Option<PathIndex>,
    /// The positions of the entries marked dirty (and maybe of some no longer so, or
    /// listed twice): a check looks at these, not at every entry of the table.
    dirty: Vec<usize>,
    /// Background threads reading the baselines of modules tracked since.
    readers: Vec<Reader>,
    /// Modules that run a source given by the host rather than their file's (a Dask
    /// worker running the session's code): what they run again when what they imported
    /// changed, since their file may hold something else.
    given_sources: AHashMap<String, (PathBuf, Arc<[u8]>)>,
    /// The outline of the module reloaded last, as committed (name and content): the
    /// next edit of the same module, the usual case, diffs from it without unpacking
    /// the entry's packed copy.
    last_outline: Option<(String, ContentHash, Arc<Outline>)>,
}

impl ModuleTable {
    pub fn new() -> ModuleTable {
        ModuleTable::default()
    }

    /// A table that marks modules under `roots` (installed code) as library modules.
    pub fn with_library_roots(roots: Vec<PathBuf>) -> ModuleTable {
        ModuleTable {
            // Normalized (no trailing separator, no `.` or doubled ones) for `is_under`.
            library_roots: roots.iter().map(|r| r.components().collect()).collect(),
            ..ModuleTable::default()
        }
    }

    /// The position of `name`'s entry.
    fn find(&self, name: &str) -> Option<usize> {
        find(&self.index, &self.entries, name)
    }

    /// Whether `name` is installed code (standard library, site-packages).
    pub fn is_library(&self, name: &str) -> bool {
        self.find(name).is_some_and(|i| self.entries[i].library)
    }

    /// The first-seen position of `name` (import order), or `usize::MAX`.
    pub fn position(&self, name: &str) -> usize {
        self.find(name).unwrap_or(usize::MAX)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many tracked modules are installed code (standard library, site-packages).
    pub fn library_len(&self) -> usize {
        self.entries.iter().filter(|e| e.library).count()
    }

    pub fn path_of(&self, name: &str) -> Option<&Path> {
        self.find(name).map(|i| self.entries[i].path())
    }

    /// Whether `name` is tracked as this very module object.
    pub fn knows(&self, name: &str, object_id: usize) -> bool {
        self.find(name)
            .is_some_and(|i| self.entries[i].object_id == object_id)
    }

    /// Starts tracking a module (or starts over, if it was replaced). Its baseline is
    /// read by `stat_new` and `read_new` (or `read_baselines`). Returns the name and
    /// path as the table holds them, to share.
    pub fn track(&mut self, name: &str, path: PathBuf, object_id: usize) -> ModuleKey {
        let library = self.library_roots.iter().any(|root| is_under(&path, root));
        let key = ModuleKey::new(name, &path);
        let entry = Entry {
            key: key.clone(),
            object_id,
            seen: None,
            failed: None,
            library,
            kept: Kept::default(),
            dirty: false,
        };
        self.graph = None;
        self.paths = None;
        self.given_sources.remove(name);
        match self.find(name) {
            Some(i) => self.entries[i] = entry,
            None => {
                self.entries.push(entry);
                let entries = &self.entries;
                self.index
                    .insert(name, entries.len() - 1, |i| entries[i].name());
            }
        }
        key
    }

    /// Marks the entry at `i` to be looked at by the next check.
    fn mark_dirty(&mut self, i: usize) {
        if let Some(entry) = self.entries.get_mut(i) {
            if !entry.dirty {
                entry.dirty = true;
                self.dirty.push(i);
            }
        }
    }

    /// Makes room for `more` modules to be tracked.
    pub fn reserve(&mut self, more: usize) {
        self.entries.reserve_exact(more);
        let entries = &self.entries;
        self.index.reserve(more, |i| entries[i].name());
    }

    /// Drops every module for which `keep` says no (e.g. gone from `sys.modules`).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        let before = self.entries.len();
        self.entries.retain(|e| keep(e.name()));
        // Entries are kept all session: no spare capacity from the pushes that made them.
        if self.entries.capacity() > self.entries.len() + self.entries.len() / 4 {
            self.entries.shrink_to_fit();
        }
        self.given_sources.retain(|name, _| keep(name));
        if self.entries.len() != before {
            self.graph = None;
            self.paths = None;
            self.index = NameIndex::of(self.entries.iter().map(|e| e.name()));
            self.dirty = (0..self.entries.len())
                .filter(|&i| self.entries[i].dirty)
                .collect();
        }
    }

    /// Records the stat key of each newly tracked module, in parallel. Returns the jobs
    /// to read their baselines with (`read_new`), and the tracked paths that are links.
    /// Watch their directories before the read (see `intake`): a change after the
    /// stat is then either seen by the read (the stat moved) or reported by the watcher.
    pub fn stat_new(&mut self) -> (Vec<Job>, Vec<PathBuf>) {
        let mut stated: Vec<Stated> = self
            .entries
            .iter()
            .filter(|e| e.seen.is_none())
            .map(|e| (e.key.clone(), None))
            .collect();
        if stated.is_empty() {
            return (Vec::new(), Vec::new()); // and no thread pool started for nothing
        }
        // In place, in chunks: no vector grown on rayon's threads, whose freed pages
        // would stay resident in their malloc arenas.
        let before = now_ns();
        stated.par_chunks_mut(64).for_each(intake::stat_all);
        self.record_stats(stated, before)
    }

    /// Records stat keys taken for newly tracked modules (by `stat_new` or an
    /// `Intake`), all after `before_ns` (`now_ns`): a key is trusted only if its file
    /// was quiet long before then. A module tracked again since its key was taken is
    /// left alone. Returns the jobs to read their baselines with, and the tracked paths
    /// that are links.
    pub fn record_stats(
        &mut self,
        stated: Vec<Stated>,
        before_ns: i64,
    ) -> (Vec<Job>, Vec<PathBuf>) {
        let mut jobs = Vec::with_capacity(stated.len());
        let mut links = Vec::new();
        for (key, stat) in stated {
            let Some((stat, link)) = stat else { continue };
            let Some(i) = self.find(key.name()) else {
                continue;
            };
            let entry = &mut self.entries[i];
            if entry.seen.is_some() || !entry.key.same(&key) {
                continue;
            }
            let seen = Seen::recorded_at(stat, Base::Pending, before_ns);
            entry.seen = Some(seen);
            if link {
                links.push(key.path().to_path_buf());
            }
            // The job takes this very key: no count to move on a key another thread
            // (the watching one) touched last.
            jobs.push(entry.job_with(key, seen));
        }
        (jobs, links)
    }

    /// Reads the baselines of `jobs` (from `stat_new`). Files modified just before
    /// (within the racy window) are read at once, and so are the user's own modules
    /// unless `bulk` (the many modules already imported when the reloader starts):
    /// modules imported later are few and about to be edited. The rest is read by a
    /// background thread; see `baselines`.
    pub fn read_new(&mut self, jobs: Vec<Job>, bulk: bool) {
        let (now, later): (Vec<Job>, Vec<Job>) = jobs
            .into_iter()
            .partition(|job| baselines::urgent(job) || (!bulk && !job.library));
        self.read_now(&now);
        if !later.is_empty() {
            self.readers.push(Reader::start(later));
        }
    }

    /// Every newly tracked module's baseline, read now.
    pub fn read_baselines(&mut self) {
        let (jobs, _) = self.stat_new();
        self.read_now(&jobs);
    }

    fn read_now(&mut self, jobs: &[Job]) {
        if jobs.is_empty() {
            return; // and no thread pool started for nothing (most loads read nothing now)
        }
        let read: Vec<Baseline> = jobs.par_iter().map(baselines::read_now).collect();
        for baseline in read {
            self.absorb_one(baseline);
        }
    }

    /// Takes in the baselines the background threads have read so far.
    pub fn absorb_baselines(&mut self) {
        if self.readers.is_empty() {
            return;
        }
        // Asked before taking: a reader finished by then has sent everything, so what
        // it sent is taken below (one that finishes meanwhile is kept for next time).
        let finished: Vec<bool> = self.readers.iter().map(Reader::finished).collect();
        let (mut read, mut receipts) = (Vec::new(), Vec::new());
        for reader in &self.readers {
            let (baselines, receipt) = reader.take();
            read.extend(baselines);
            receipts.push(receipt);
        }
        for baseline in read {
            self.absorb_one(baseline);
        }
        drop(receipts); // after the baselines: see `baselines::Taken`
        let mut done = finished.into_iter();
        self.readers.retain(|_| !done.next().unwrap_or(false));
    }

    fn absorb_one(&mut self, baseline: Baseline) {
        let Some(i) = self.find(baseline.key.name()) else {
            return;
        };
        let entry = &mut self.entries[i];
        let waiting = entry
            .seen
            .filter(|s| s.baseline == Base::Pending && s.stat == baseline.stat);
        let (Some(mut seen), true) = (waiting, entry.object_id == baseline.object_id) else {
            return; // reloaded, replaced or re-read since the job was made
        };
        seen.baseline = baseline.hash.map_or(Base::Lost, Base::Known);
        entry.seen = Some(seen);
        if let Some((imports, outline)) = baseline.analysis {
            if !imports.is_empty() {
                self.graph = None;
            }
            // Made anew here rather than moved: made on the reader's thread, they would
            // stay in its malloc arena among the pages its reads freed, and keep those
            // resident for the rest of the session (once copied, the reader hands them
            // all back).
            entry.kept = Kept::new(&imports, Some(&outline));
        }
        if seen.baseline == Base::Lost {
            // The file changed after the module was seen, maybe before its directory was
            // watched: look at it on the next check.
            self.mark_dirty(i);
        }
    }

    /// Reads now the baselines of the user's modules still pending: the import graph
    /// needs every module's imports.
    fn finish_user_baselines(&mut self) {
        self.absorb_baselines();
        let jobs: Vec<Job> = self
            .entries
            .iter()
            .filter(|e| !e.library)
            .filter_map(|e| {
                let seen = e.seen.filter(|s| s.baseline == Base::Pending)?;
                Some(e.job(seen))
            })
            .collect();
        let read: Vec<Baseline> = jobs.par_iter().map(baselines::read).collect();
        for baseline in read {
            self.absorb_one(baseline);
        }
    }

    /// Stops the background reads (their modules keep a pending baseline).
    pub fn stop_baselines(&mut self) {
        self.readers.clear();
    }

    /// How many modules' baselines are not read yet, and how many threads read them.
    pub fn baselines_pending(&self) -> (usize, usize) {
        let pending = self
            .entries
            .iter()
            .filter(|e| e.seen.is_some_and(|s| s.baseline == Base::Pending))
            .count();
        let running = self.readers.iter().filter(|r| !r.finished()).count();
        (pending, running)
    }

    /// Records which files the detector says may have changed (all of them, when
    /// polling or after lost events). They stay pending until `changes` looks at them.
    pub fn notice(&mut self, candidates: &Candidates) {
        match candidates {
            // Nothing named (most checks): the index is built when something is.
            Candidates::Some { paths, dirs } if paths.is_empty() && dirs.is_empty() => return,
            Candidates::All => {
                for i in 0..self.entries.len() {
                    self.mark_dirty(i);
                }
                return;
            }
            Candidates::Some { .. } => {}
        }
        let entries = &self.entries;
        let paths = self
            .paths
            .get_or_insert_with(|| PathIndex::build(entries.iter().map(|e| e.path())));
        for i in paths.select(candidates, entries.len()) {
            self.mark_dirty(i);
        }
    }

    /// The modules whose content changed, among those noticed, in table order.
    ///
    /// `only` restricts the check to these names (mode 1); `skip` names are never
    /// checked. Modules left out stay pending: their change is found when they are
    /// checked. Files are stat'ed in parallel and read only when their stat moved.
    /// A module seen for the first time records its baseline and is not reported.
    pub fn changes(&mut self, only: Option<&[String]>, skip: &AHashSet<String>) -> Vec<Change> {
        if self.dirty.is_empty() {
            return Vec::new();
        }
        let selected: Option<AHashSet<&str>> = only.map(|n| n.iter().map(String::as_str).collect());
        let wanted = |e: &Entry| {
            !skip.contains(e.name()) && selected.as_ref().is_none_or(|s| s.contains(e.name()))
        };
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable(); // table order
        dirty.dedup();
        let entries = &self.entries;
        // Those left out stay dirty, and listed.
        let (selected, left): (Vec<usize>, Vec<usize>) = dirty
            .into_iter()
            .filter(|&i| entries.get(i).is_some_and(|e| e.dirty))
            .partition(|&i| wanted(&entries[i]));
        self.dirty = left;
        // One edited file (the usual check) is not worth waking the thread pool for.
        let looked: Vec<(usize, Look)> = if selected.len() < 4 {
            selected.iter().map(|&i| (i, look(&entries[i]))).collect()
        } else {
            selected
                .par_iter()
                .map(|&i| (i, look(&entries[i])))
                .collect()
        };
        let mut reads = Vec::new();
        for (i, look) in looked {
            // Looked at: no longer pending, unless the file could not be read now
            // (deleted, mid-rename): then it is looked at again next time.
            self.entries[i].dirty = false;
            match look {
                Look::Unreadable => self.mark_dirty(i),
                Look::Read(snap, analysis) => reads.push((i, snap, analysis)),
                Look::Unmoved => {}
            }
        }
        let mut changes = Vec::new();
        for (i, snap, analysis) in reads {
            let entry = &mut self.entries[i];
            match (entry.seen, analysis) {
                (None, analysis) => {
                    entry.seen = Some(Seen::new(snap.stat, snap.hash));
                    if let Some((imports, outline)) = analysis {
                        let (imports, outline) =
                            (PackedImports::pack(&imports), PackedOutline::pack(&outline));
                        entry.kept = Kept::new(&imports, Some(&outline));
                    }
                    self.graph = None;
                }
                (Some(seen), None) => entry.seen = Some(seen.moved_to(snap.stat)),
                (Some(seen), Some((imports, outline))) => changes.push(Change {
                    baseline_known: matches!(seen.baseline, Base::Known(_)),
                    name: entry.name().to_string(),
                    path: entry.path().to_path_buf(),
                    bytes: snap.bytes,
                    hash: snap.hash,
                    stat: snap.stat,
                    imports,
                    outline: Some(outline),
                    given: false,
                }),
            }
        }
        changes
    }

    /// The file of `name` as it is now, as a change to (re)load, whether or not its
    /// content changed: for reloading a module on request or because of what it imports.
    /// For a module that runs a source given by the host, that source.
    pub fn current(&self, name: &str) -> Option<Change> {
        if let Some((path, bytes)) = self.given_sources.get(name) {
            return self.given_change(name, path.clone(), bytes.to_vec());
        }
        let entry = &self.entries[self.find(name)?];
        let snap = Snapshot::read(entry.path()).ok()?;
        let (imports, outline) = analyze(&snap.bytes);
        Some(Change {
            name: entry.name().to_string(),
            path: entry.path().to_path_buf(),
            bytes: snap.bytes,
            hash: snap.hash,
            stat: snap.stat,
            imports,
            outline: Some(outline),
            baseline_known: entry
                .seen
                .is_some_and(|s| matches!(s.baseline, Base::Known(_))),
            given: false,
        })
    }

    /// Module `name` brought to `bytes`, a source given by the host (sent from another
    /// process, not read here), compiled as `path`. None when the module is not tracked,
    /// or, unless `forced`, when it runs these bytes already or they failed before.
    pub fn given(
        &mut self,
        name: &str,
        path: PathBuf,
        bytes: Vec<u8>,
        forced: bool,
    ) -> Option<Change> {
        // What the module runs must be known to diff against it: read it now rather
        // than run the whole module because a background read is not done.
        self.finish_user_baselines();
        let entry = &self.entries[self.find(name)?];
        let hash = ContentHash::of(&bytes);
        let runs_it = entry.seen.is_some_and(|s| s.is_baseline(hash));
        if !forced && (runs_it || entry.failed.as_deref() == Some(&hash)) {
            return None;
        }
        self.given_change(name, path, bytes)
    }

    fn given_change(&self, name: &str, path: PathBuf, bytes: Vec<u8>) -> Option<Change> {
        let entry = &self.entries[self.find(name)?];
        let (imports, outline) = analyze(&bytes);
        // The module's own file keeps its stat key: it is not what the module runs.
        let stat = entry
            .seen
            .map(|s| s.stat)
            .or_else(|| StatKey::of(entry.path()).ok())
            .unwrap_or(StatKey {
                mtime_ns: 0,
                size: 0,
                inode: 0,
            });
        Some(Change {
            name: name.to_owned(),
            path,
            hash: ContentHash::of(&bytes),
            bytes,
            stat,
            imports,
            outline: Some(outline),
            baseline_known: entry
                .seen
                .is_some_and(|s| matches!(s.baseline, Base::Known(_))),
            given: true,
        })
    }

    /// Module `name` runs `bytes` (given by the host, compiled as `path`), whatever its
    /// file holds: they become its baseline. False when it is not tracked.
    pub fn runs(&mut self, name: &str, path: PathBuf, bytes: Vec<u8>) -> bool {
        match self.given_change(name, path, bytes) {
            Some(change) => {
                self.commit(&change);
                true
            }
            None => false,
        }
    }

    /// How to run again, in module `change.name`, what binds the `external` names (imports
    /// of values that changed elsewhere) and what depends on them. If the file changed
    /// meanwhile (a failed edit, say), this is a plan from what it runs to `change` as well.
    pub fn plan_rerun(&self, change: &Change, external: &External) -> Option<Plan> {
        let entry = &self.entries[self.find(&change.name)?];
        let current = self.outline_of(entry)?;
        let external = self.star_lines(entry, change, external);
        if entry.seen.is_some_and(|seen| seen.is_baseline(change.hash)) {
            Some(rerun(&current, &external))
        } else {
            Some(diff_with(&current, change.outline.as_deref()?, &external))
        }
    }

    /// How to bring module `change.name` from the content it runs to `change`'s (and
    /// re-bind `external` names): None when there is no outline of what it runs.
    pub fn plan(&self, change: &Change, external: &External) -> Option<Plan> {
        let entry = &self.entries[self.find(&change.name)?];
        let external = self.star_lines(entry, change, external);
        Some(diff_with(
            self.outline_of(entry)?.as_ref(),
            change.outline.as_deref()?,
            &external,
        ))
    }

    /// The outline of what `entry`'s module runs: the one kept unpacked when it is that
    /// module's last commit and still what it runs, else unpacked from the entry.
    fn outline_of(&self, entry: &Entry) -> Option<Arc<Outline>> {
        if let Some((name, hash, outline)) = &self.last_outline {
            let runs_it = entry.seen.is_some_and(|seen| seen.is_baseline(*hash));
            if name == entry.name() && runs_it && entry.kept.outline_is_known() {
                return Some(Arc::clone(outline));
            }
        }
        entry.kept.outline().map(Arc::new)
    }

    /// `external` with each star import placed at its line in `change`'s source (one
    /// entry per `from m import *` of that module it holds).
    fn star_lines(&self, entry: &Entry, change: &Change, external: &External) -> External {
        let package = entry.package();
        let mut placed = External {
            stars: Vec::new(),
            ..external.clone()
        };
        for star in &external.stars {
            let lines = change.imports.iter().filter(|i| {
                i.context == Context::Module
                    && i.names.iter().any(|(n, _)| n == "*")
                    && i.absolute_module(package).as_deref() == Some(star.module.as_str())
            });
            for import in lines {
                placed.stars.push(Star {
                    line: import.line,
                    ..star.clone()
                });
            }
        }
        placed
    }

    /// The outline of what `importer` runs (`outline_of`); None when it is not known.
    fn outline_of_module(&self, importer: &str) -> Option<Arc<Outline>> {
        let entry = &self.entries[self.find(importer)?];
        self.outline_of(entry)
    }

    /// Whether a statement of what `importer` runs (or a function it defines) reads one
    /// of `names`. Unknown outlines count as yes.
    pub fn may_read(&self, importer: &str, names: &[String]) -> bool {
        let Some(outline) = self.outline_of_module(importer) else {
            return true;
        };
        outline.statements.iter().any(|s| {
            s.reads
                .iter()
                .chain(s.body_reads.iter())
                .any(|r| names.contains(r))
        })
    }

    /// Whether a statement of what `importer` runs (or a function it defines) reads one
    /// of the module names `via` and uses one of the attributes `attrs`: only then can
    /// its import-time code have used what `attrs` name in another module. Unknown
    /// outlines count as yes.
    pub fn may_reach(&self, importer: &str, via: &[Via], attrs: &AHashSet<&str>) -> bool {
        let Some(outline) = self.outline_of_module(importer) else {
            return true;
        };
        let touched = |a: &str| attrs.contains(a);
        outline.statements.iter().any(|s| {
            let uses: Vec<&String> = s.attrs.iter().chain(s.body_attrs.iter()).collect();
            via.iter().any(|v| {
                let reads = s.reads.iter().chain(s.body_reads.iter());
                v.reached(reads, &uses, touched)
            })
        })
    }

    /// The names `importer` binds, at import time, to module objects that `reaches`
    /// accepts (by the module's absolute name), each with the module it is bound to:
    /// `import a.b` binds `a` (through which `a.b` is reached too), `import a.b as x`
    /// binds `x`, `from a import b` binds `b` when `a.b` is a module.
    pub fn module_aliases(
        &self,
        importer: &str,
        reaches: impl Fn(&str) -> bool,
    ) -> Vec<(String, String)> {
        let Some(i) = self.find(importer) else {
            return Vec::new();
        };
        let entry = &self.entries[i];
        let imports = entry.kept.imports();
        let mut aliases = Vec::new();
        for import in imports.iter().filter(|i| i.context == Context::Module) {
            let Some(target) = import.absolute_module(entry.package()) else {
                continue;
            };
            if import.names.is_empty() {
                let Some(alias) = &import.binds_module_as else {
                    continue;
                };
                // `import a.b.c` binds `a`: every module on the way is reached through it.
                let mut prefixes = target
                    .match_indices('.')
                    .map(|(at, _)| &target[..at])
                    .chain([target.as_str()]);
                let top = target.split('.').next().unwrap_or_default();
                let (bound, reached) = if top == alias {
                    (top.to_owned(), prefixes.any(&reaches))
                } else {
                    (target.clone(), reaches(&target))
                };
                if reached {
                    aliases.push((alias.clone(), bound));
                }
                continue;
            }
            for (name, bound_as) in &import.names {
                let module = if target.is_empty() {
                    name.clone()
                } else {
                    format!("{target}.{name}")
                };
                if self.find(&module).is_some() && reaches(&module) {
                    aliases.push((bound_as.clone(), module));
                }
            }
        }
        // A package's namespace also holds each submodule its imports bring in, under its
        // own name (toolz's `functoolz`, bound by `from .functoolz import *`).
        if *entry.package() == *entry.name() {
            let prefix = format!("{}.", entry.name());
            for import in imports.iter().filter(|i| i.context == Context::Module) {
                let Some(target) = import.absolute_module(entry.package()) else {
                    continue;
                };
                let mut submodules = vec![target.clone()];
                submodules.extend(import.names.iter().map(|(n, _)| format!("{target}.{n}")));
                for submodule in submodules {
                    let Some(rest) = submodule.strip_prefix(&prefix) else {
                        continue;
                    };
                    let child = rest.split('.').next().unwrap_or_default();
                    let module = format!("{prefix}{child}");
                    if self.find(&module).is_some() && reaches(&module) {
                        aliases.push((child.to_owned(), module));
                    }
                }
            }
        }
        aliases.sort();
        aliases.dedup();
        aliases
    }

    /// The import graph of the tracked modules (built again only after a change).
    pub fn graph(&mut self) -> &ImportGraph {
        if self.graph.is_none() {
            self.finish_user_baselines();
        }
        let entries = &self.entries;
        let index = &self.index;
        self.graph.get_or_insert_with(|| {
            let imports: Vec<Vec<Import>> = entries.iter().map(|e| e.kept.imports()).collect();
            let nodes = entries.iter().zip(&imports).map(|(e, imports)| Node {
                name: e.name(),
                package: e.package(),
                imports,
            });
            ImportGraph::build(nodes, |name| find(index, entries, name).is_some())
        })
    }

    /// `names` in reload order: dependencies first, cycles in import order.
    pub fn reload_order(&mut self, names: &[String]) -> Vec<String> {
        let positions: AHashMap<String, usize> = names
            .iter()
            .map(|n| (n.clone(), self.position(n)))
            .collect();
        self.graph()
            .reload_order(names, |n| positions.get(n).copied().unwrap_or(usize::MAX))
    }

    /// The names of `changes` in reload order, by the imports of their new content (an
    /// edit that adds `from .sub import x` to `pkg/__init__.py` orders `sub` first).
    pub fn batch_order(&mut self, changes: &[&Change]) -> Vec<String> {
        // Dependencies may pass through unchanged modules whose imports are not read yet.
        self.finish_user_baselines();
        let names: Vec<String> = changes.iter().map(|c| c.name.clone()).collect();
        let same_imports = changes.iter().all(|c| {
            self.find(&c.name)
                .is_some_and(|i| self.entries[i].kept.holds_imports(&c.imports))
        });
        if same_imports {
            return self.reload_order(&names);
        }
        let new_imports: AHashMap<&str, &[Import]> = changes
            .iter()
            .map(|c| (c.name.as_str(), c.imports.as_slice()))
            .collect();
        let unpacked: Vec<Vec<Import>> = self
            .entries
            .iter()
            .map(|e| {
                if new_imports.contains_key(e.name()) {
                    Vec::new()
                } else {
                    e.kept.imports()
                }
            })
            .collect();
        let nodes = self
            .entries
            .iter()
            .zip(&unpacked)
            .map(|(e, unpacked)| Node {
                name: e.name(),
                package: e.package(),
                imports: new_imports.get(e.name()).copied().unwrap_or(unpacked),
            });
        let graph = ImportGraph::build(nodes, |name| self.find(name).is_some());
        graph.reload_order(&names, |n| self.position(n))
    }

    /// The change found in module `name` was not reloaded (its module object is not the
    /// one in `sys.modules` now): it is looked at again on the next check.
    pub fn keep_pending(&mut self, name: &str) {
        if let Some(i) = self.find(name) {
            self.mark_dirty(i);
        }
    }

    /// The module now runs `change`'s content: it becomes the baseline.
    pub fn commit(&mut self, change: &Change) {
        if change.given {
            let given = (change.path.clone(), Arc::from(change.bytes.as_slice()));
            self.given_sources.insert(change.name.clone(), given);
        } else {
            self.given_sources.remove(&change.name);
        }
        if let Some(entry) = self.entry_mut(&change.name) {
            entry.seen = Some(Seen::new(change.stat, change.hash));
            entry.failed = None;
            let same_imports = entry.kept.holds_imports(&change.imports);
            let outline = change.outline.as_deref().map(PackedOutline::pack);
            entry.kept = Kept::new(&PackedImports::pack(&change.imports), outline.as_ref());
            self.last_outline = change
                .outline
                .clone()
                .map(|outline| (change.name.clone(), change.hash, outline));
            if !same_imports {
                self.graph = None;
            }
        }
    }

    /// The content `hash` failed to load: it is not tried again until the file changes.
    pub fn fail(&mut self, name: &str, stat: StatKey, hash: ContentHash) {
        if let Some(entry) = self.entry_mut(name) {
            entry.seen = Some(match entry.seen {
                Some(seen) => seen.moved_to(stat),
                None => Seen::new(stat, hash),
            });
            entry.failed = Some(Box::new(hash));
        }
    }

    fn entry_mut(&mut self, name: &str) -> Option<&mut Entry> {
        let i = self.find(name)?;
        Some(&mut self.entries[i])
    }
}

type Analysis = (Vec<Import>, Arc<Outline>);

/// What looking at one pending file found.
enum Look {
    /// Its stat is the one recorded with its content: unchanged.
    Unmoved,
    /// It cannot be read now (deleted, mid-rename).
    Unreadable,
    /// Its content, analysed when it is new (neither the baseline nor a failed version).
    Read(Snapshot, Option<Analysis>),
}

/// Reads the file if its stat says it may differ from what was seen (or nothing was).
fn look(entry: &Entry) -> Look {
    let Ok(stat) = StatKey::of(entry.path()) else {
        return Look::Unreadable;
    };
    if entry.seen.is_some_and(|seen| seen.trusts(&stat)) {
        return Look::Unmoved;
    }
    let Ok(snap) = Snapshot::read(entry.path()) else {
        return Look::Unreadable;
    };
    let new_content = entry.seen.is_none_or(|s| !s.is_baseline(snap.hash))
        && entry.failed.as_deref() != Some(&snap.hash);
    let analysis = new_content.then(|| analyze(&snap.bytes));
    Look::Read(snap, analysis)
}

/// `path.starts_with(root)` for a normalized `root`, compared as bytes when `path` is
/// plain too (`source_path::is_plain`), as module paths are.
fn is_under(path: &Path, root: &Path) -> bool {
    if !crate::source_path::is_plain(path) {
        return path.starts_with(root);
    }
    let sep = |b: &u8| std::path::is_separator(*b as char);
    let (p, r) = (
        path.as_os_str().as_encoded_bytes(),
        root.as_os_str().as_encoded_bytes(),
    );
    p.starts_with(r) && (p.len() == r.len() || sep(&p[r.len()]) || r.last().is_some_and(sep))
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn table_with(dir: &std::path::Path, files: &[(&str, &str)]) -> ModuleTable {
        let mut table = ModuleTable::new();
        for (i, (name, text)) in files.iter().enumerate() {
            let path = dir.join(format!("{name}.py"));
            fs::write(&path, text).unwrap();
            table.track(name, path, i);
        }
        table.read_baselines();
        table
    }

    /// Every file noticed (as when polling), then the changes among `only`, less `skip`.
    fn scan(
        table: &mut ModuleTable,
        only: Option<&[String]>,
        skip: &AHashSet<String>,
    ) -> Vec<Change> {
        table.notice(&Candidates::All);
        table.changes(only, skip)
    }

    fn commit(table: &mut ModuleTable, c: &Change) {
        table.commit(c);
    }

    fn names(changes: &[Change]) -> Vec<&str> {
        changes.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn unchanged_files_give_no_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n"), ("b", "y = 1\n")]);
        assert!(scan(&mut table, None, &AHashSet::new()).is_empty());
    }

    #[test]
    fn edited_file_is_reported_with_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n"), ("b", "y = 1\n")]);
        fs::write(dir.path().join("b.py"), "y = 22\n").unwrap();
        let changes = scan(&mut table, None, &AHashSet::new());
        assert_eq!(names(&changes), ["b"]);
        assert_eq!(changes[0].bytes, b"y = 22\n");
    }

    #[test]
    fn same_size_rewrite_within_the_racy_window_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n")]);
        fs::write(dir.path().join("a.py"), "x = 2\n").unwrap();
        let changes = scan(&mut table, None, &AHashSet::new());
        commit(&mut table, &changes[0]);
        fs::write(dir.path().join("a.py"), "x = 3\n").unwrap();
        assert_eq!(names(&scan(&mut table, None, &AHashSet::new())), ["a"]);
    }

    #[test]
    fn whole_second_mtimes_get_the_coarse_window() {
        assert_eq!(racy_window(5_000_000_000), RACY_WINDOW_COARSE_NS);
        assert_eq!(racy_window(5_000_000_001), RACY_WINDOW_FINE_NS);
    }

    #[test]
    fn rewrite_with_identical_content_is_not_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n")]);
        fs::write(dir.path().join("a.py"), "x = 1\n").unwrap();
        assert!(scan(&mut table, None, &AHashSet::new()).is_empty());
    }

    #[test]
    fn committed_change_is_not_reported_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n")]);
        fs::write(dir.path().join("a.py"), "x = 2\n").unwrap();
        let changes = scan(&mut table, None, &AHashSet::new());
        commit(&mut table, &changes[0]);
        assert!(scan(&mut table, None, &AHashSet::new()).is_empty());
    }

    #[test]
    fn failed_content_waits_for_the_next_edit() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n")]);
        fs::write(dir.path().join("a.py"), "x = (\n").unwrap();
        let changes = scan(&mut table, None, &AHashSet::new());
        let c = &changes[0];
        table.fail(&c.name, c.stat, c.hash);
        assert!(scan(&mut table, None, &AHashSet::new()).is_empty());
        fs::write(dir.path().join("a.py"), "x = 3\n").unwrap();
        assert_eq!(names(&scan(&mut table, None, &AHashSet::new())), ["a"]);
    }

    #[test]
    fn reverting_to_the_baseline_after_a_failure_is_not_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n")]);
        fs::write(dir.path().join("a.py"), "x = (\n").unwrap();
        let changes = scan(&mut table, None, &AHashSet::new());
        let c = &changes[0];
        table.fail(&c.name, c.stat, c.hash);
        fs::write(dir.path().join("a.py"), "x = 1\n").unwrap();
        assert!(scan(&mut table, None, &AHashSet::new()).is_empty());
    }

    #[test]
    fn a_file_changed_before_its_baseline_was_read_is_checked_and_runs_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.py");
        fs::write(&path, "x = 1\n").unwrap();
        let mut table = ModuleTable::new();
        table.track("a", path.clone(), 1);
        let (jobs, links) = table.stat_new();
        assert!(links.is_empty());
        fs::write(&path, "x = 22\n").unwrap(); // before the read, with no event noticed
        table.read_now(&jobs);
        let changes = table.changes(None, &AHashSet::new());
        assert_eq!(names(&changes), ["a"]);
        assert!(!changes[0].baseline_known);
    }

    #[test]
    fn a_change_noticed_while_skipped_stays_pending() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n")]);
        fs::write(dir.path().join("a.py"), "x = 2\n").unwrap();
        let skip: AHashSet<String> = ["a".to_owned()].into_iter().collect();
        let only_a = Candidates::Some {
            paths: [dir.path().join("a.py")].into_iter().collect(),
            dirs: AHashSet::new(),
        };
        table.notice(&only_a);
        assert!(table.changes(None, &skip).is_empty());
        // No new event: the change noticed earlier is still found.
        assert_eq!(names(&table.changes(None, &AHashSet::new())), ["a"]);
    }

    #[test]
    fn batch_order_follows_the_imports_of_the_new_content() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("app", "X = 1\n"), ("lib", "V = 1\n")]);
        fs::write(dir.path().join("app.py"), "from lib import V\nX = V\n").unwrap();
        fs::write(dir.path().join("lib.py"), "V = 2\n").unwrap();
        let changes = scan(&mut table, None, &AHashSet::new());
        let refs: Vec<&Change> = changes.iter().collect();
        assert_eq!(table.batch_order(&refs), ["lib", "app"]);
    }

    #[test]
    fn only_and_skip_restrict_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n"), ("b", "y = 1\n")]);
        fs::write(dir.path().join("a.py"), "x = 11\n").unwrap();
        fs::write(dir.path().join("b.py"), "y = 11\n").unwrap();
        let only = vec!["b".to_owned()];
        assert_eq!(
            names(&scan(&mut table, Some(&only), &AHashSet::new())),
            ["b"]
        );
        let skip: AHashSet<String> = ["a".to_owned()].into_iter().collect();
        assert_eq!(names(&scan(&mut table, None, &skip)), ["b"]);
    }

    #[test]
    fn deleted_file_is_skipped_and_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n")]);
        fs::remove_file(dir.path().join("a.py")).unwrap();
        assert!(scan(&mut table, None, &AHashSet::new()).is_empty());
        fs::write(dir.path().join("a.py"), "x = 5\n").unwrap();
        assert_eq!(names(&scan(&mut table, None, &AHashSet::new())), ["a"]);
    }

    #[test]
    fn module_aliases_are_the_names_bound_to_modules_on_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("pkg");
        fs::create_dir(&pkg).unwrap();
        let init = "from . import functoolz\nimport pkg.sigs\nimport pkg.sigs as s\nimport json\nfrom .functoolz import thing\nfrom .more import *\n\nfunctoolz._sigs.create()\nX = json.dumps(1)\n";
        let files = [
            ("pkg", pkg.join("__init__.py"), init),
            (
                "pkg.functoolz",
                pkg.join("functoolz.py"),
                "from . import sigs as _sigs\n",
            ),
            ("pkg.sigs", pkg.join("sigs.py"), "registry = {}\n"),
            (
                "pkg.more",
                pkg.join("more.py"),
                "from .sigs import registry\n",
            ),
        ];
        for (_, path, text) in &files {
            fs::write(path, text).unwrap();
        }
        let mut table = ModuleTable::new();
        for (i, (name, path, _)) in files.iter().enumerate() {
            table.track(name, path.clone(), i);
        }
        table.read_baselines();
        let reaches = |t: &str| t == "pkg.sigs" || t == "pkg.functoolz" || t == "pkg.more";
        let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, m)| (a.to_string(), m.to_string()))
                .collect()
        };
        assert_eq!(
            table.module_aliases("pkg", reaches),
            // `sigs` and `more`: submodules the package's imports bind as its attributes.
            owned(&[
                ("functoolz", "pkg.functoolz"),
                ("more", "pkg.more"),
                ("pkg", "pkg"),
                ("s", "pkg.sigs"),
                ("sigs", "pkg.sigs")
            ])
        );
        assert_eq!(
            table.module_aliases("pkg.functoolz", reaches),
            owned(&[("_sigs", "pkg.sigs")])
        );
        let attrs: AHashSet<&str> = ["create"].into_iter().collect();
        let via = |name: &str, toward: &[&str]| Via {
            name: name.into(),
            toward: toward.iter().map(|p| p.to_string()).collect(),
        };
        assert!(table.may_reach("pkg", &[via("functoolz", &["_sigs"])], &attrs));
        assert!(!table.may_reach("pkg", &[via("functoolz", &["elsewhere"])], &attrs));
        assert!(!table.may_reach("pkg", &[via("json", &["create"])], &attrs));
        assert!(table.may_read("pkg", &["json".into()]));
        assert!(!table.may_read("pkg", &["thing".into()]));
    }

    #[test]
    fn module_first_seen_without_a_file_gets_its_baseline_later() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = ModuleTable::new();
        table.track("late", dir.path().join("late.py"), 7);
        table.read_baselines();
        fs::write(dir.path().join("late.py"), "x = 1\n").unwrap();
        assert!(scan(&mut table, None, &AHashSet::new()).is_empty());
        fs::write(dir.path().join("late.py"), "x = 2\n").unwrap();
        assert_eq!(names(&scan(&mut table, None, &AHashSet::new())), ["late"]);
    }

    #[test]
    fn a_path_is_under_a_root_as_its_components_say() {
        let cases = [
            ("/usr/lib/python3.11/os.py", "/usr/lib/python3.11"),
            ("/usr/lib/python3.11/os.py", "/usr/lib/python3.11/"),
            ("/usr/lib/python3.11", "/usr/lib/python3.11"),
            ("/usr/lib/python3.11x/os.py", "/usr/lib/python3.11"),
            ("/usr/lib/python3/os.py", "/usr/lib/python3.11"),
            (
                "/work/.venv/lib/site-packages/a.py",
                "/work/.venv/lib/site-packages",
            ),
            ("/usr//lib/python3.11/os.py", "/usr/lib/python3.11"),
            ("/usr/./lib/python3.11/os.py", "/usr/lib/python3.11"),
            ("/usr/lib/../lib/os.py", "/usr/lib"),
            ("/a/b/", "/a"),
            ("relative/b.py", "relative"),
            ("/a/b.py", "/"),
        ];
        for (path, root) in cases {
            let root: PathBuf = Path::new(root).components().collect();
            assert_eq!(
                is_under(Path::new(path), &root),
                Path::new(path).starts_with(&root),
                "{path} under {}",
                root.display()
            );
        }
    }

    #[test]
    fn library_modules_are_marked_and_not_scanned_up_front() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("site-packages");
        fs::create_dir(&lib).unwrap();
        fs::write(lib.join("installed.py"), "import json\n").unwrap();
        fs::write(dir.path().join("mine.py"), "import installed\n").unwrap();
        let mut table = ModuleTable::with_library_roots(vec![lib.clone()]);
        table.track("installed", lib.join("installed.py"), 1);
        table.track("mine", dir.path().join("mine.py"), 2);
        table.read_baselines();
        assert!(table.is_library("installed"));
        assert!(!table.is_library("mine"));
        assert_eq!(table.library_len(), 1);
        assert!(table.graph().imports_of("installed").is_empty());
        assert_eq!(table.graph().imports_of("mine")[0].imported, "installed");
    }

    #[test]
    fn changes_come_in_dependency_order_and_carry_their_imports() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(
            dir.path(),
            &[("app", "from lib import V\n"), ("lib", "V = 1\n")],
        );
        fs::write(dir.path().join("app.py"), "from lib import V\nW = V\n").unwrap();
        fs::write(dir.path().join("lib.py"), "V = 2\nimport json\n").unwrap();
        let changes = scan(&mut table, None, &AHashSet::new());
        let names: Vec<String> = changes.iter().map(|c| c.name.clone()).collect();
        assert_eq!(table.reload_order(&names), ["lib", "app"]);
        let lib = changes.iter().find(|c| c.name == "lib").unwrap();
        assert_eq!(lib.imports[0].module, "json");
        commit(&mut table, lib);
        assert_eq!(table.graph().dependents("json"), ["lib", "app"]);
    }

    #[test]
    fn current_reads_the_file_whether_or_not_it_changed() {
        let dir = tempfile::tempdir().unwrap();
        let table = table_with(dir.path(), &[("a", "x = 1\n")]);
        assert_eq!(table.current("a").unwrap().bytes, b"x = 1\n");
        assert!(table.current("missing").is_none());
    }

    #[test]
    fn replaced_module_object_starts_over_and_gone_ones_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n"), ("b", "y = 1\n")]);
        assert!(table.knows("a", 0));
        assert!(!table.knows("a", 99));
        table.track("a", dir.path().join("a.py"), 99);
        assert!(table.knows("a", 99));
        table.retain(|name| name != "b");
        assert_eq!(table.len(), 1);
        assert!(table.path_of("b").is_none());
        assert!(table.path_of("a").is_some());
    }

    // ---- lazy baselines: a failed version, a finishing reader, the order of a batch ----

    use crate::baselines::tests::age;

    /// A pending module's reload fails; `fail` keeps the baseline `Pending` but moves the
    /// recorded stat to the failed version's. `finish_user_baselines` (any `graph()`) then
    /// reads the failed version as if it were what the module was imported from.
    #[test]
    fn a_failed_version_never_becomes_the_baseline_of_a_pending_module() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.py");
        fs::write(&path, "def f():\n    return 1\n").unwrap();
        age(&path, 3600);
        let mut table = ModuleTable::new();
        table.track("a", path.clone(), 1);
        let (_jobs, _) = table.stat_new(); // background read not reached yet
        fs::write(&path, "raise RuntimeError\ndef f():\n    return 2\n").unwrap();
        age(&path, 1800);
        let changes = scan(&mut table, None, &AHashSet::new());
        assert_eq!(names(&changes), ["a"]);
        assert!(!changes[0].baseline_known);
        // The whole reload raised: the module still runs version 1.
        table.fail("a", changes[0].stat, changes[0].hash);
        table.graph(); // e.g. another module reloaded and its binders were looked up
        fs::write(&path, "def f():\n    return 2\n").unwrap(); // the fix
        age(&path, 600);
        let changes = scan(&mut table, None, &AHashSet::new());
        assert_eq!(names(&changes), ["a"]);
        assert!(
            !changes[0].baseline_known,
            "the failed version was taken for what the module runs: it will not run whole"
        );
    }

    /// `absorb_baselines` takes each reader's results, then drops the readers that are
    /// finished: a reader that sends its last results and finishes in between loses them.
    #[test]
    fn results_sent_as_a_reader_finishes_are_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let mut lost = 0;
        for round in 0..300 {
            let mut table = ModuleTable::new();
            for i in 0..24 {
                let path = dir.path().join(format!("m{i}.py"));
                if round == 0 {
                    fs::write(&path, format!("X = {i}\n")).unwrap();
                    age(&path, 3600);
                }
                table.track(&format!("m{i}"), path, i);
                let (jobs, _) = table.stat_new();
                table.read_new(jobs, true); // one reader per module
            }
            while !table.readers.is_empty() {
                table.absorb_baselines();
            }
            lost += table.baselines_pending().0;
        }
        assert_eq!(lost, 0, "baselines read but dropped, left pending for good");
    }

    /// `batch_order` builds its own graph when imports changed, from `entry.imports` for
    /// the others, which are empty while their baseline is pending: a dependency that goes
    /// through an unchanged pending module is not seen (eager baselines order c first).
    #[test]
    fn batch_order_sees_the_imports_of_pending_modules() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = ModuleTable::new();
        for (i, (name, text)) in [("a", "import b\n"), ("b", "import c\n"), ("c", "y = 1\n")]
            .iter()
            .enumerate()
        {
            let path = dir.path().join(format!("{name}.py"));
            fs::write(&path, text).unwrap();
            age(&path, 3600);
            table.track(name, path, i);
        }
        let (_jobs, _) = table.stat_new(); // pending
        fs::write(dir.path().join("a.py"), "import b\nx = 2\n").unwrap();
        fs::write(dir.path().join("c.py"), "y = 22\n").unwrap();
        let changes = scan(&mut table, None, &AHashSet::new());
        let refs: Vec<&Change> = changes.iter().collect();
        assert_eq!(table.batch_order(&refs), ["c", "a"]);
    }

    #[test]
    fn a_given_source_is_a_change_unless_the_module_runs_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n")]);
        let there = PathBuf::from("/elsewhere/a.py");
        assert!(table
            .given("a", there.clone(), b"x = 1\n".to_vec(), false)
            .is_none());
        assert!(table
            .given("a", there.clone(), b"x = 1\n".to_vec(), true)
            .is_some());
        assert!(table
            .given("b", there.clone(), b"".to_vec(), true)
            .is_none());
        let change = table.given("a", there.clone(), b"x = 2\n".to_vec(), false);
        let change = change.unwrap();
        assert!(change.given && change.baseline_known);
        assert_eq!(change.path, there);
        table.commit(&change);
        assert!(table
            .given("a", there, b"x = 2\n".to_vec(), false)
            .is_none());
    }

    #[test]
    fn a_module_running_a_given_source_runs_it_again_not_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n")]);
        let there = PathBuf::from("/elsewhere/a.py");
        assert!(table.runs("a", there.clone(), b"x = 3\n".to_vec()));
        let current = table.current("a").unwrap();
        assert_eq!(current.bytes, b"x = 3\n");
        assert_eq!(current.path, there);
    }

    #[test]
    fn a_given_source_that_failed_is_not_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = table_with(dir.path(), &[("a", "x = 1\n")]);
        let there = PathBuf::from("/elsewhere/a.py");
        let change = table.given("a", there.clone(), b"x = (\n".to_vec(), false);
        let change = change.unwrap();
        table.fail("a", change.stat, change.hash);
        assert!(table
            .given("a", there.clone(), b"x = (\n".to_vec(), false)
            .is_none());
        assert!(table
            .given("a", there, b"x = 4\n".to_vec(), false)
            .is_some());
    }

    #[test]
    fn each_module_is_planned_from_its_own_last_outline() {
        // The last committed outline is kept unpacked for the next edit of that module
        // only: another module's edit, or the same module's, plans from what each runs.
        let dir = tempfile::tempdir().unwrap();
        let v = |n: u32| format!("X = {n}\n\ndef f():\n    return X + {n}\n");
        let mut table = table_with(dir.path(), &[("a", &v(1)), ("b", &v(1))]);
        let none = AHashSet::new();
        let step = |table: &mut ModuleTable, name: &str, n: u32| {
            fs::write(dir.path().join(format!("{name}.py")), v(n)).unwrap();
            let changes = scan(table, None, &none);
            let [change] = changes.as_slice() else {
                panic!("{changes:?}")
            };
            let entry = &table.entries[table.find(name).unwrap()];
            let unpacked = entry.kept.outline().unwrap();
            let expected = diff_with(
                &unpacked,
                change.outline.as_deref().unwrap(),
                &External::default(),
            );
            assert_eq!(table.plan(change, &External::default()), Some(expected));
            table.commit(change);
        };
        step(&mut table, "a", 2);
        step(&mut table, "a", 3); // from the kept outline of a's version 2
        step(&mut table, "b", 2); // not from a's
        step(&mut table, "a", 4);
        assert!(table
            .last_outline
            .as_ref()
            .is_some_and(|(name, ..)| name == "a"));
    }
}
