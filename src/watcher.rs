//! Event-driven change detection: one watcher thread, directories not files.
//!
//! The watcher records the paths that saw activity; the cell hook drains them, so its
//! cost follows the number of changed files, not the number of modules. Watching
//! directories (non-recursively) catches editors that save by writing a temporary file
//! and renaming it over the original.
//!
//! Draining is exact, not approximate: every change saved before the drain began has
//! been recorded when it reads the set. On Linux the backend flushes: the kernel queues
//! an event before the write that caused it returns, and the drain reads that queue
//! itself (`watcher/linux.rs`). Elsewhere `drain` writes a sentinel file and waits for
//! the watcher to report it: events from one watcher arrive in order. A watcher that
//! cannot be read, or does not deliver the sentinel in time, is declared broken, and
//! the caller falls back to polling. The sentinel is created in the temp directory
//! itself (watched for that) and removed as soon as it is seen: no directory of ours
//! exists between drains, so a process killed without cleanup (SIGHUP, SIGKILL) leaves
//! nothing behind.
//!
//! Each directory is watched by the OS while at least one subscriber asks for it: a
//! subscriber that stops (the reloader turned off, the extension unloaded) releases its
//! watches, and the last one to release a directory ends its OS watch.
//!
//! A directory reached under several names (a symbolic link to it, a path through a
//! linked directory) is watched once, under the first name: the OS keeps one watch per
//! directory, and a second watch would take the first one's events. Events are reported
//! under every name it was asked for.
//!
//! The OS side is a `Backend`: inotify itself on Linux (`watcher/linux.rs`), where a
//! watch is then one system call on the caller's thread, and the `notify` crate
//! elsewhere (`watcher/portable.rs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::Duration;

use ahash::{AHashMap, AHashSet};

use crate::activity::Activity;

// The OS side: `Backend::start(handler)`, `watch(dir)`, `unwatch(dir)`.
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux::Backend;
#[cfg(not(target_os = "linux"))]
mod portable;
#[cfg(not(target_os = "linux"))]
use portable::Backend;

/// What the OS side reports: paths that may have changed, or that events were lost.
#[derive(Debug, Default)]
struct Report {
    paths: Vec<PathBuf>,
    /// Events were lost (a queue overflowed, the OS watcher failed): check everything.
    lost: bool,
}

impl Report {
    fn lost() -> Report {
        Report {
            paths: Vec::new(),
            lost: true,
        }
    }
}

/// How many changed paths an inbox holds before it gives up listing them.
const MAX_DIRTY: usize = 10_000;

/// How long `drain` waits for its sentinel before declaring the watcher broken.
const BARRIER_TIMEOUT: Duration = Duration::from_millis(500);

/// How long the first `drain` waits for the temp directory's watch (see `TempWatch`).
const TEMP_WATCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The process's one watcher thread, shared by every `Watcher` (each reloader has one;
/// OS limits on watcher instances are low, 128 by default on Linux), with the id of the
/// process that started it.
///
/// A child made by `fork` inherits the hub's memory but not its thread, and shares its
/// inotify descriptor with the parent: a drain there would read, and so take away, the
/// parent's events. A process that finds the hub started by another starts its own.
static HUB: Mutex<Option<(u32, &'static Result<Hub, String>)>> = Mutex::new(None);

/// This process's hub, started on first use.
fn process_hub() -> &'static Result<Hub, String> {
    let pid = std::process::id();
    let mut slot = HUB
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match *slot {
        Some((owner, hub)) if owner == pid => hub,
        _ => {
            // Never freed: the hub lives as long as the process (a parent's, inherited
            // by a fork, is left as it is; its thread is not there to stop).
            let hub: &'static Result<Hub, String> =
                Box::leak(Box::new(Hub::start(Backend::FLUSHES)));
            *slot = Some((pid, hub));
            hub
        }
    }
}

struct Hub {
    backend: Backend,
    /// The process that started it: in a child made by `fork` (which inherits the hub
    /// but not its thread, and shares its inotify descriptor with the parent), drains
    /// report the watcher broken, and that child's detectors poll.
    pid: u32,
    /// Whether drains flush the backend (`Backend::FLUSHES`) rather than wait for a
    /// sentinel (tests turn it off to exercise the sentinels on Linux).
    flushes: bool,
    shared: Arc<HubShared>,
    sentinels: Sentinels,
    next_barrier: AtomicU64,
    watched: Mutex<Watches>,
    temp_watch: TempWatch,
    /// The temp directory's identity, looked up once (see `acquire`).
    temp_id: OnceLock<DirId>,
}

/// The watch of the temp directory, where the sentinels go, made by a thread of its own.
///
/// Watching a directory costs the kernel a walk over every name it has cached there,
/// and the temp directory caches the names of every file ever removed from it: on a
/// machine that ran a test suite, one `inotify_add_watch` on /tmp took 8.5 ms, a fifth
/// of loading the extension. Nothing needs the watch before the first drain, so it is
/// made while loading goes on, and the first drain waits for it.
#[derive(Default)]
struct TempWatch {
    started: OnceLock<()>,
    /// None until the watch is made; then whether it could be.
    outcome: Mutex<Option<Result<(), String>>>,
    done: Condvar,
}

/// Where the barrier files go: the temp directory, under names only this process uses.
#[derive(Clone)]
struct Sentinels {
    dir: PathBuf,
    prefix: String,
}

impl Sentinels {
    fn new() -> Sentinels {
        // The pid keeps processes apart; the nonce keeps a name planted in advance by
        // someone else from blocking the barrier (and `create_new` never follows one).
        let nonce = ahash::RandomState::new().hash_one(std::process::id()) as u32;
        Sentinels {
            dir: std::env::temp_dir(),
            prefix: format!("fastautoreload-barrier-{}-{nonce:08x}-", std::process::id()),
        }
    }

    fn path(&self, number: u64) -> PathBuf {
        self.dir.join(format!("{}{number}", self.prefix))
    }

    /// The barrier number `path` names, if it is one of ours.
    fn number(&self, path: &Path) -> Option<u64> {
        if path.parent() != Some(self.dir.as_path()) {
            return None;
        }
        let name = path.file_name()?.to_str()?;
        name.strip_prefix(&self.prefix)?.parse().ok()
    }

    fn is_in_dir(&self, path: &Path) -> bool {
        path.parent() == Some(self.dir.as_path()) || path == self.dir
    }
}

/// A directory's identity: device and inode (None where they are not available).
type DirId = Option<(u64, u64)>;

/// The directories the hub watches, under which names.
#[derive(Default)]
struct Watches {
    /// How many subscribers (the hub itself for the temp directory) ask for each name.
    refs: AHashMap<PathBuf, usize>,
    /// Every name asked for, with the identity of the directory it named then.
    ids: AHashMap<PathBuf, DirId>,
    /// The name each directory is watched under in the OS, by identity.
    names: AHashMap<(u64, u64), PathBuf>,
    /// The other names of a directory, by the name it is watched under.
    aliases: AHashMap<PathBuf, Vec<PathBuf>>,
}

impl Watches {
    /// The name `id` is already watched under, if any. A name that no longer leads to
    /// that directory does not count: it was removed, and the OS may reuse its inode.
    fn watched_as(&self, id: DirId) -> Option<&PathBuf> {
        let name = self.names.get(&id?)?;
        (dir_id(name) == id).then_some(name)
    }

    fn add(&mut self, dir: &Path, id: DirId) {
        self.ids.insert(dir.to_path_buf(), id);
        if let Some(id) = id {
            self.names.insert(id, dir.to_path_buf());
        }
    }

    fn add_alias(&mut self, dir: &Path, id: DirId, watched_as: PathBuf) {
        self.ids.insert(dir.to_path_buf(), id);
        self.aliases
            .entry(watched_as)
            .or_default()
            .push(dir.to_path_buf());
    }

    /// Forgets the name `dir`. Returns whether the OS watch was under that name, and
    /// then the directory's other names, forgotten too (the caller watches them again).
    fn forget(&mut self, dir: &Path) -> (bool, Vec<PathBuf>) {
        let Some(id) = self.ids.remove(dir) else {
            return (false, Vec::new());
        };
        // A name without an identity was watched under itself.
        let owned = id.is_none_or(|id| self.names.get(&id).is_some_and(|n| n == dir));
        if !owned {
            for names in self.aliases.values_mut() {
                names.retain(|n| n != dir);
            }
            return (false, Vec::new());
        }
        if let Some(id) = id {
            self.names.remove(&id);
        }
        let aliases = self.aliases.remove(dir).unwrap_or_default();
        for alias in &aliases {
            self.ids.remove(alias);
        }
        (true, aliases)
    }

    /// `paths` with each path under (or at) a watched directory also given under the
    /// directory's other names.
    fn expand(&self, paths: &mut AHashSet<PathBuf>) {
        if self.aliases.is_empty() {
            return;
        }
        let mut more = Vec::new();
        for path in paths.iter() {
            if let Some(names) = self.aliases.get(path) {
                more.extend(names.iter().cloned());
            }
            let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
                continue;
            };
            if let Some(names) = self.aliases.get(dir) {
                more.extend(names.iter().map(|alias| alias.join(name)));
            }
        }
        paths.extend(more);
    }
}

/// The identity of the directory `dir` names (following links).
#[cfg(unix)]
fn dir_id(dir: &Path) -> DirId {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(dir).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn dir_id(_dir: &Path) -> DirId {
    None
}

/// What the watcher thread shares with the subscribers.
#[derive(Default)]
struct HubShared {
    inboxes: Mutex<Vec<Weak<Inbox>>>,
    /// A subscriber watches the temp directory too (its modules live there): its events
    /// are then passed on, not only the sentinels'.
    temp_dir_wanted: AtomicBool,
    /// The highest sentinel number reported, with a condvar to wait on it.
    barrier: Mutex<u64>,
    arrived: Condvar,
}

/// One subscriber's view: the paths that saw activity since its last drain.
#[derive(Default)]
struct Inbox {
    dirty: Mutex<AHashSet<PathBuf>>,
    /// Events were lost (queue overflow, watcher error): everything must be checked.
    rescan: AtomicBool,
    /// Bumped whenever `dirty` or `rescan` gets something, for a thread waiting to check.
    activity: Arc<Activity>,
}

/// What `drain` found.
#[derive(Debug, Default)]
pub struct Drained {
    /// Paths that saw activity since the last drain.
    pub paths: AHashSet<PathBuf>,
    /// Events may have been lost: check every file.
    pub rescan: bool,
    /// Watched directories that went away and could not be watched again: poll them.
    pub lost: Vec<PathBuf>,
}

/// Why a directory could not be watched.
#[derive(Debug)]
pub enum WatchError {
    /// The OS limit on watches was reached (inotify's `max_user_watches`).
    Limit,
    Other(String),
}

/// A subscription to the process's watcher.
pub struct Watcher {
    hub: &'static Hub,
    inbox: Arc<Inbox>,
    /// The directories this subscriber asked for.
    watched: AHashSet<PathBuf>,
}

impl Watcher {
    /// Subscribes to the watcher thread, starting it on first use.
    pub fn start() -> Result<Watcher, String> {
        let hub = process_hub().as_ref().map_err(Clone::clone)?;
        Ok(Watcher::subscribe(hub))
    }

    fn subscribe(hub: &'static Hub) -> Watcher {
        hub.watch_temp_dir();
        let inbox = Arc::new(Inbox::default());
        if let Ok(mut inboxes) = hub.shared.inboxes.lock() {
            inboxes.retain(|weak| weak.strong_count() > 0);
            inboxes.push(Arc::downgrade(&inbox));
        }
        Watcher {
            hub,
            inbox,
            watched: AHashSet::new(),
        }
    }

    /// Watches `dir` (not its subdirectories). Watching a directory twice is a no-op.
    pub fn watch_dir(&mut self, dir: &Path) -> Result<(), WatchError> {
        if self.watched.contains(dir) {
            return Ok(());
        }
        self.hub.acquire(dir)?;
        self.watched.insert(dir.to_path_buf());
        Ok(())
    }

    /// Stops watching every directory this subscriber asked for (the OS watch ends when
    /// no other subscriber wants it), and forgets the paths seen so far.
    pub fn release_all(&mut self) {
        for dir in self.watched.drain() {
            self.hub.release(&dir);
        }
        if let Ok(mut dirty) = self.inbox.dirty.lock() {
            dirty.clear();
        }
    }

    pub fn watched_dirs(&self) -> usize {
        self.watched.len()
    }

    /// What a thread waits on to learn that this subscriber's next drain may find
    /// something.
    pub fn activity(&self) -> Arc<Activity> {
        Arc::clone(&self.inbox.activity)
    }

    pub fn is_watching(&self, dir: &Path) -> bool {
        self.watched.contains(dir)
    }

    /// Why `drain` found the watcher broken.
    pub fn broken_reason(&self) -> String {
        let outcome = self
            .hub
            .temp_watch
            .outcome
            .lock()
            .ok()
            .and_then(|o| o.clone());
        match outcome {
            Some(Err(error)) => format!("the file watcher could not start ({error})"),
            _ => "the file watcher stopped answering".into(),
        }
    }

    /// The paths that saw activity since the last drain, complete up to this call.
    /// Returns None when the watcher did not deliver its sentinel in time (broken).
    ///
    /// A watched directory that was itself removed, renamed or replaced loses its
    /// watch in the kernel: it is watched again (and everything checked), or reported
    /// as lost when it cannot be.
    pub fn drain(&mut self) -> Option<Drained> {
        self.hub.barrier()?;
        let mut paths = std::mem::take(&mut *self.inbox.dirty.lock().ok()?);
        self.hub.watched.lock().ok()?.expand(&mut paths);
        let mut rescan = self.inbox.rescan.swap(false, Ordering::AcqRel);
        let mut lost = Vec::new();
        let moved: Vec<PathBuf> = paths
            .iter()
            .filter(|p| self.watched.contains(*p))
            .cloned()
            .collect();
        for dir in moved {
            rescan = true;
            if self.hub.rewatch(&dir).is_err() {
                self.watched.remove(&dir);
                lost.push(dir);
            }
        }
        Some(Drained {
            paths,
            rescan,
            lost,
        })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.release_all();
    }
}

impl Hub {
    fn start(flushes: bool) -> Result<Hub, String> {
        let shared = Arc::new(HubShared::default());
        let handler_shared = Arc::clone(&shared);
        let sentinels = Sentinels::new();
        let handler_sentinels = sentinels.clone();
        let backend = Backend::start(move |report| {
            record(&handler_shared, &handler_sentinels, report);
        })?;
        let hub = Hub {
            backend,
            pid: std::process::id(),
            flushes,
            shared,
            sentinels,
            next_barrier: AtomicU64::new(1),
            watched: Mutex::new(Watches::default()),
            temp_watch: TempWatch::default(),
            temp_id: OnceLock::new(),
        };
        Ok(hub)
    }

    /// Starts watching the temp directory, once, on a thread of its own (on this one if
    /// no thread can be started). The hub's own reference: held for the life of the
    /// process.
    fn watch_temp_dir(&'static self) {
        if self.flushes {
            return; // no sentinels: see `barrier`
        }
        self.temp_watch.started.get_or_init(|| {
            let spawned = std::thread::Builder::new()
                .name("fastautoreload-watch-temp".into())
                .spawn(|| self.make_temp_watch());
            if spawned.is_err() {
                self.make_temp_watch();
            }
        });
    }

    fn make_temp_watch(&self) {
        let dir = &self.sentinels.dir;
        let outcome = self
            .acquire_name(dir)
            .map_err(|e| format!("cannot watch {}: {e:?}", dir.display()));
        if let Ok(mut slot) = self.temp_watch.outcome.lock() {
            *slot = Some(outcome);
            self.temp_watch.done.notify_all();
        }
    }

    /// Waits (bounded) for the temp directory's watch; its error if it could not be
    /// made.
    fn temp_dir_watched(&self) -> Result<(), String> {
        let slot = self.temp_watch.outcome.lock().map_err(|e| e.to_string())?;
        let (slot, _) = self
            .temp_watch
            .done
            .wait_timeout_while(slot, TEMP_WATCH_TIMEOUT, |outcome| outcome.is_none())
            .map_err(|e| e.to_string())?;
        slot.clone().unwrap_or_else(|| {
            let dir = self.sentinels.dir.display();
            Err(format!("watching {dir} took over {TEMP_WATCH_TIMEOUT:?}"))
        })
    }

    /// One more subscriber wants `dir` watched; the first one starts the OS watch.
    fn acquire(&self, dir: &Path) -> Result<(), WatchError> {
        self.acquire_name(dir)?;
        // Whether `dir` is the temp directory under another name: by the identity just
        // recorded for it, against the temp directory's (one stat in all, not one more
        // per directory watched).
        let id = self.watched.lock().ok().and_then(|w| *w.ids.get(dir)?);
        let temp = &self.sentinels.dir;
        let temp_id = || *self.temp_id.get_or_init(|| dir_id(temp));
        if dir == temp || id.is_some_and(|id| Some(id) == temp_id()) {
            self.shared.temp_dir_wanted.store(true, Ordering::Release);
        }
        Ok(())
    }

    fn acquire_name(&self, dir: &Path) -> Result<(), WatchError> {
        let first = {
            let mut watched = self
                .watched
                .lock()
                .map_err(|e| WatchError::Other(e.to_string()))?;
            let count = watched.refs.entry(dir.to_path_buf()).or_insert(0);
            *count += 1;
            *count == 1
        };
        if !first {
            return Ok(());
        }
        let result = self.watch_dir(dir);
        if result.is_err() {
            if let Ok(mut watched) = self.watched.lock() {
                watched.refs.remove(dir);
            }
        }
        result
    }

    /// A subscriber no longer wants `dir`; the last one ends the OS watch. Other names
    /// of the same directory that are still wanted are watched under their own name.
    fn release(&self, dir: &Path) {
        let (owned, aliases) = {
            let Ok(mut watched) = self.watched.lock() else {
                return;
            };
            match watched.refs.get_mut(dir) {
                Some(count) if *count > 1 => {
                    *count -= 1;
                    return;
                }
                Some(_) => {
                    watched.refs.remove(dir);
                }
                None => return,
            }
            watched.forget(dir)
        };
        if owned {
            self.backend.unwatch(dir);
        }
        for alias in aliases {
            let _ = self.watch_dir(&alias);
        }
    }

    fn watch_dir(&self, dir: &Path) -> Result<(), WatchError> {
        let mut watched = self
            .watched
            .lock()
            .map_err(|e| WatchError::Other(e.to_string()))?;
        if watched.ids.contains_key(dir) {
            return Ok(());
        }
        let id = dir_id(dir);
        if let Some(name) = watched.watched_as(id).cloned() {
            watched.add_alias(dir, id, name);
            return Ok(());
        }
        self.backend.watch(dir)?;
        watched.add(dir, id);
        Ok(())
    }

    /// Watches `dir` again after its watch may have gone (the directory was replaced).
    /// Its other names are looked at again too: they may name another directory now.
    fn rewatch(&self, dir: &Path) -> Result<(), WatchError> {
        let (owned, aliases) = match self.watched.lock() {
            Ok(mut watched) => watched.forget(dir),
            Err(_) => (false, Vec::new()),
        };
        if owned {
            self.backend.unwatch(dir);
        }
        let result = self.watch_dir(dir);
        for alias in aliases {
            // Subscribers that asked for an alias still count on its events; it is
            // reported as moved too, so theirs notice if it cannot be watched now.
            let _ = self.watch_dir(&alias);
        }
        result
    }

    /// Returns once every event that happened before the call has been recorded: at
    /// once where the backend flushes, or else when a sentinel's event arrives.
    ///
    /// Each sentinel is a new file named by its number: the event names it, so a late
    /// event of an earlier barrier can never pass for this one.
    fn barrier(&self) -> Option<()> {
        if self.pid != std::process::id() {
            return None;
        }
        if self.flushes {
            return self.backend.flush();
        }
        self.temp_dir_watched().ok()?;
        let number = self.next_barrier.fetch_add(1, Ordering::Relaxed);
        let sentinel = self.sentinels.path(number);
        signal(&sentinel)?;
        let guard = self.shared.barrier.lock().ok()?;
        let (guard, _) = self
            .shared
            .arrived
            .wait_timeout_while(guard, BARRIER_TIMEOUT, |seen| *seen < number)
            .ok()?;
        let arrived = *guard >= number;
        drop(guard);
        let _ = fs::remove_file(&sentinel);
        arrived.then_some(())
    }
}

/// Makes the event that names `sentinel`: a new file, removed once its event arrived
/// (event APIs that coalesce may not report a file that is already gone). create_new:
/// never follow or reuse something already at that path.
fn signal(sentinel: &Path) -> Option<()> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(sentinel)
        .ok()
        .map(drop)
}

/// The watcher thread's handler: record paths in every inbox, note lost events,
/// release barriers.
fn record(shared: &HubShared, sentinels: &Sentinels, report: Report) {
    let Ok(inboxes) = shared.inboxes.lock() else {
        return;
    };
    let inboxes: Vec<Arc<Inbox>> = inboxes.iter().filter_map(Weak::upgrade).collect();
    let mut news = report.lost;
    if news {
        inboxes
            .iter()
            .for_each(|inbox| inbox.rescan.store(true, Ordering::Release));
    }
    let mut barrier = None;
    let temp_dir_wanted = shared.temp_dir_wanted.load(Ordering::Acquire);
    for path in report.paths {
        if let Some(number) = sentinels.number(&path) {
            barrier = barrier.max(Some(number));
            continue;
        }
        // The temp directory is watched for the sentinels: the rest of its traffic is
        // nobody's business unless a subscriber asked for that directory too.
        if !temp_dir_wanted && sentinels.is_in_dir(&path) {
            continue;
        }
        news = true;
        for inbox in &inboxes {
            if let Ok(mut dirty) = inbox.dirty.lock() {
                // A reloader that is off is never drained: past a bound, forget the paths
                // and have its next check look at everything instead.
                if dirty.len() >= MAX_DIRTY {
                    dirty.clear();
                    inbox.rescan.store(true, Ordering::Release);
                }
                dirty.insert(path.clone());
            }
        }
    }
    if news {
        // After the paths are in: a woken thread's drain finds them.
        inboxes.iter().for_each(|inbox| inbox.activity.bump());
    }
    if let Some(number) = barrier {
        if let Ok(mut seen) = shared.barrier.lock() {
            *seen = (*seen).max(number);
            shared.arrived.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(dir: &Path) -> Watcher {
        let mut watcher = Watcher::start().expect("watcher starts");
        watcher.watch_dir(dir).expect("dir watched");
        watcher
    }

    fn os_watches(dir: &Path) -> bool {
        let hub = process_hub().as_ref().unwrap();
        hub.watched.lock().unwrap().ids.contains_key(dir)
    }

    #[test]
    fn sentinels_order_the_drains_where_the_backend_cannot_flush() {
        let hub: &'static Hub = Box::leak(Box::new(Hub::start(false).unwrap()));
        let dir = tempfile::tempdir().unwrap();
        let mut watcher = Watcher::subscribe(hub);
        watcher.watch_dir(dir.path()).unwrap();
        for round in 0..3 {
            let path = dir.path().join(format!("m{round}.py"));
            fs::write(&path, "x = 1\n").unwrap();
            let paths = watcher.drain().expect("the sentinel arrives").paths;
            assert!(paths.contains(&path), "round {round}: {paths:?}");
            assert!(paths.iter().all(|p| hub.sentinels.number(p).is_none()));
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_temp_directory_watched_under_another_name_gets_its_events_passed_on() {
        // With sentinels, the temp directory's own traffic is dropped unless a subscriber
        // wants it, under any of its names.
        let hub: &'static Hub = Box::leak(Box::new(Hub::start(false).unwrap()));
        let root = tempfile::tempdir().unwrap();
        let link = root.path().join("tmp-link");
        std::os::unix::fs::symlink(std::env::temp_dir(), &link).unwrap();
        let mut watcher = Watcher::subscribe(hub);
        watcher.drain().expect("the temp directory is watched"); // before its alias
        watcher.watch_dir(&link).unwrap();
        let name = format!("far-temp-alias-{}.py", std::process::id());
        let real = std::env::temp_dir().join(&name);
        fs::write(&real, "x = 1\n").unwrap();
        let paths = watcher.drain().expect("the sentinel arrives").paths;
        fs::remove_file(&real).unwrap();
        assert!(paths.contains(&link.join(&name)), "{paths:?}");
    }

    #[test]
    fn a_drain_finds_every_change_saved_before_it_however_many() {
        // Thousands of events: several reads of the queue, by the drain or the thread.
        let dir = tempfile::tempdir().unwrap();
        let mut watcher = started(dir.path());
        let paths: Vec<PathBuf> = (0..3000)
            .map(|i| dir.path().join(format!("m{i}.py")))
            .collect();
        for path in &paths {
            fs::write(path, "x = 1\n").unwrap();
        }
        let drained = watcher.drain().expect("the watcher answers").paths;
        let missing: Vec<_> = paths.iter().filter(|p| !drained.contains(*p)).collect();
        assert!(missing.is_empty(), "{} of 3000 not reported", missing.len());
    }

    #[test]
    fn the_last_subscriber_to_release_a_directory_ends_its_watch() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = started(dir.path());
        let mut second = started(dir.path());
        first.release_all();
        assert!(os_watches(dir.path()));
        let path = dir.path().join("m.py");
        fs::write(&path, "x = 1\n").unwrap();
        assert!(second.drain().unwrap().paths.contains(&path));
        drop(second);
        assert!(!os_watches(dir.path()));
        assert_eq!(first.watched_dirs(), 0);
    }

    #[test]
    fn drains_leave_nothing_in_the_temp_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut watcher = started(dir.path());
        watcher.drain().unwrap();
        let hub = process_hub().as_ref().unwrap();
        let ours = fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| hub.sentinels.number(&e.path()).is_some())
            .count();
        // Other tests drain in parallel: at most their sentinels are in flight.
        assert!(ours <= 8, "{ours} sentinels left");
    }

    #[test]
    fn temp_directory_traffic_is_not_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut watcher = started(dir.path());
        let stray = tempfile::NamedTempFile::new().unwrap();
        let paths = watcher.drain().unwrap().paths;
        let hub = process_hub().as_ref().unwrap();
        if !hub.shared.temp_dir_wanted.load(Ordering::Acquire) {
            assert!(!paths.contains(stray.path()), "{paths:?}");
        }
    }

    #[test]
    fn drain_sees_a_write_made_just_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut watcher = started(dir.path());
        let path = dir.path().join("m.py");
        fs::write(&path, "x = 1\n").unwrap();
        let drained = watcher.drain().expect("barrier arrives");
        assert!(drained.paths.contains(&path));
        assert!(!drained.rescan);
        // Other tests run in parallel and share the watcher thread: only this path counts.
        assert!(!watcher
            .drain()
            .expect("barrier arrives")
            .paths
            .contains(&path));
    }

    #[test]
    fn opening_and_reading_a_file_is_not_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.py");
        fs::write(&path, "x = 1\n").unwrap();
        let mut watcher = started(dir.path());
        watcher.drain().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"x = 1\n");
        assert!(!watcher.drain().unwrap().paths.contains(&path));
        fs::write(&path, "x = 2\n").unwrap(); // truncated on open, then written
        assert!(watcher.drain().unwrap().paths.contains(&path));
    }

    #[test]
    fn atomic_save_by_rename_is_seen_under_the_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut watcher = started(dir.path());
        let path = dir.path().join("m.py");
        let temp = dir.path().join(".m.py.swp");
        fs::write(&temp, "x = 2\n").unwrap();
        fs::rename(&temp, &path).unwrap();
        assert!(watcher.drain().unwrap().paths.contains(&path));
    }

    #[test]
    fn other_directories_are_not_reported() {
        let watched = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let mut watcher = started(watched.path());
        fs::write(other.path().join("m.py"), "x = 1\n").unwrap();
        assert!(!watcher
            .drain()
            .unwrap()
            .paths
            .iter()
            .any(|p| p.starts_with(other.path())));
        assert_eq!(watcher.watched_dirs(), 1);
    }

    #[test]
    fn deleted_and_recreated_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.py");
        fs::write(&path, "x = 1\n").unwrap();
        let mut watcher = started(dir.path());
        fs::remove_file(&path).unwrap();
        fs::write(&path, "x = 2\n").unwrap();
        assert!(watcher.drain().unwrap().paths.contains(&path));
    }

    #[test]
    fn watching_a_missing_directory_fails_without_breaking_the_watcher() {
        let dir = tempfile::tempdir().unwrap();
        let mut watcher = started(dir.path());
        assert!(watcher.watch_dir(&dir.path().join("missing")).is_err());
        let path = dir.path().join("m.py");
        fs::write(&path, "x = 1\n").unwrap();
        assert!(watcher.drain().unwrap().paths.contains(&path));
    }

    #[test]
    fn a_directory_removed_and_created_again_is_watched_again() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("pkg");
        fs::create_dir(&dir).unwrap();
        let mut watcher = started(&dir);
        fs::remove_dir(&dir).unwrap();
        fs::create_dir(&dir).unwrap();
        let drained = watcher.drain().unwrap();
        assert!(drained.rescan);
        assert!(drained.lost.is_empty());
        let path = dir.join("m.py");
        fs::write(&path, "x = 1\n").unwrap();
        assert!(watcher.drain().unwrap().paths.contains(&path));
    }

    #[test]
    fn every_subscriber_gets_every_event() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = started(dir.path());
        let mut second = started(dir.path());
        let path = dir.path().join("m.py");
        fs::write(&path, "x = 1\n").unwrap();
        assert!(first.drain().unwrap().paths.contains(&path));
        assert!(second.drain().unwrap().paths.contains(&path));
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_watched_under_two_names_reports_events_under_both() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut watcher = started(&real);
        watcher.watch_dir(&link).unwrap();
        assert_eq!(watcher.watched_dirs(), 2);
        fs::write(real.join("m.py"), "x = 1\n").unwrap();
        let paths = watcher.drain().unwrap().paths;
        assert!(paths.contains(&real.join("m.py")), "{paths:?}");
        assert!(paths.contains(&link.join("m.py")), "{paths:?}");
    }

    #[cfg(unix)]
    #[test]
    fn an_alias_watched_first_keeps_its_events_when_the_real_name_follows() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut first = started(&link);
        let mut second = started(&real);
        fs::write(real.join("m.py"), "x = 1\n").unwrap();
        assert!(first.drain().unwrap().paths.contains(&link.join("m.py")));
        assert!(second.drain().unwrap().paths.contains(&real.join("m.py")));
    }
}
