//! Event-driven change detection: one watcher thread, directories not files.
//!
//! The watcher records the paths that saw activity; the cell hook drains them, so its
//! cost follows the number of changed files, not the number of modules. Watching
//! directories (non-recursively) catches editors that save by writing a temporary file
//! and renaming it over the original.
//!
//! Draining is exact, not approximate: before reading the set, `drain` writes a sentinel
//! file in a directory of its own and waits for the watcher to report it. Events from
//! one watcher arrive in order, so every change saved before the drain began has been
//! recorded by then. A watcher that does not deliver the sentinel in time is declared
//! broken, and the caller falls back to polling.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use ahash::AHashSet;
use notify::{Event, RecursiveMode, Watcher as _};

/// How long `drain` waits for its sentinel before declaring the watcher broken.
const BARRIER_TIMEOUT: Duration = Duration::from_millis(500);

/// What the watcher thread shares with the cell hook.
#[derive(Default)]
struct Shared {
    dirty: Mutex<AHashSet<PathBuf>>,
    /// Events were lost (queue overflow, watcher error): everything must be checked.
    rescan: AtomicBool,
    /// The last sentinel number the watcher reported, with a condvar to wait on it.
    barrier: Mutex<u64>,
    arrived: Condvar,
}

/// What `drain` found.
#[derive(Debug, Default)]
pub struct Drained {
    /// Paths that saw activity since the last drain.
    pub paths: AHashSet<PathBuf>,
    /// Events may have been lost: check every file.
    pub rescan: bool,
}

/// Why a directory could not be watched.
#[derive(Debug)]
pub enum WatchError {
    /// The OS limit on watches was reached (inotify's `max_user_watches`).
    Limit,
    Other(String),
}

pub struct Watcher {
    inner: notify::RecommendedWatcher,
    shared: Arc<Shared>,
    sentinel_dir: PathBuf,
    next_barrier: AtomicU64,
    watched: AHashSet<PathBuf>,
}

impl Watcher {
    /// Starts the watcher thread and its sentinel directory.
    pub fn start() -> Result<Watcher, String> {
        let shared = Arc::new(Shared::default());
        let sentinel_dir =
            unique_temp_dir().map_err(|e| format!("cannot create a sentinel directory: {e}"))?;
        let handler_shared = Arc::clone(&shared);
        let handler_sentinel = sentinel_dir.clone();
        let inner = notify::recommended_watcher(move |event: notify::Result<Event>| {
            record(&handler_shared, &handler_sentinel, event);
        })
        .map_err(|e| e.to_string())?;
        let mut watcher = Watcher {
            inner,
            shared,
            sentinel_dir: sentinel_dir.clone(),
            next_barrier: AtomicU64::new(1),
            watched: AHashSet::new(),
        };
        watcher
            .watch_dir(&sentinel_dir)
            .map_err(|e| format!("cannot watch {}: {e:?}", sentinel_dir.display()))?;
        Ok(watcher)
    }

    /// Watches `dir` (not its subdirectories). Watching a directory twice is a no-op.
    pub fn watch_dir(&mut self, dir: &Path) -> Result<(), WatchError> {
        if self.watched.contains(dir) {
            return Ok(());
        }
        match self.inner.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.watched.insert(dir.to_path_buf());
                Ok(())
            }
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => Err(WatchError::Limit),
            Err(e) => Err(WatchError::Other(e.to_string())),
        }
    }

    pub fn watched_dirs(&self) -> usize {
        self.watched.len().saturating_sub(1)
    }

    /// The paths that saw activity since the last drain, complete up to this call.
    /// Returns None when the watcher did not deliver its sentinel in time (broken).
    pub fn drain(&self) -> Option<Drained> {
        // Each barrier is a new file named by its number: the event names it, so a late
        // event of an earlier barrier can never pass for this one.
        let number = self.next_barrier.fetch_add(1, Ordering::Relaxed);
        let sentinel = self.sentinel_dir.join(number.to_string());
        fs::write(&sentinel, b"").ok()?;
        let _ = fs::remove_file(self.sentinel_dir.join((number - 1).to_string()));
        let guard = self.shared.barrier.lock().ok()?;
        let (guard, timeout) = self
            .shared
            .arrived
            .wait_timeout_while(guard, BARRIER_TIMEOUT, |seen| *seen < number)
            .ok()?;
        if timeout.timed_out() && *guard < number {
            return None;
        }
        drop(guard);
        let paths = std::mem::take(&mut *self.shared.dirty.lock().ok()?);
        let rescan = self.shared.rescan.swap(false, Ordering::AcqRel);
        Some(Drained { paths, rescan })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.sentinel_dir);
    }
}

/// The watcher thread's handler: record paths, note lost events, release barriers.
fn record(shared: &Shared, sentinel_dir: &Path, event: notify::Result<Event>) {
    let event = match event {
        Ok(event) => event,
        Err(_) => {
            shared.rescan.store(true, Ordering::Release);
            return;
        }
    };
    if event.need_rescan() {
        shared.rescan.store(true, Ordering::Release);
    }
    let mut barrier = None;
    if let Ok(mut dirty) = shared.dirty.lock() {
        for path in event.paths {
            if path.parent() == Some(sentinel_dir) {
                let number = path
                    .file_name()
                    .and_then(|n| n.to_str()?.parse::<u64>().ok());
                barrier = barrier.max(number);
            } else {
                dirty.insert(path);
            }
        }
    }
    if let Some(number) = barrier {
        if let Ok(mut seen) = shared.barrier.lock() {
            *seen = (*seen).max(number);
            shared.arrived.notify_all();
        }
    }
}

fn unique_temp_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("fastautoreload-{}-{n}", std::process::id()));
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(dir: &Path) -> Watcher {
        let mut watcher = Watcher::start().expect("watcher starts");
        watcher.watch_dir(dir).expect("dir watched");
        watcher
    }

    #[test]
    fn drain_sees_a_write_made_just_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let watcher = started(dir.path());
        let path = dir.path().join("m.py");
        fs::write(&path, "x = 1\n").unwrap();
        let drained = watcher.drain().expect("barrier arrives");
        assert!(drained.paths.contains(&path));
        assert!(!drained.rescan);
        assert!(watcher.drain().expect("barrier arrives").paths.is_empty());
    }

    #[test]
    fn atomic_save_by_rename_is_seen_under_the_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let watcher = started(dir.path());
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
        let watcher = started(watched.path());
        fs::write(other.path().join("m.py"), "x = 1\n").unwrap();
        assert!(watcher.drain().unwrap().paths.is_empty());
        assert_eq!(watcher.watched_dirs(), 1);
    }

    #[test]
    fn deleted_and_recreated_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.py");
        fs::write(&path, "x = 1\n").unwrap();
        let watcher = started(dir.path());
        fs::remove_file(&path).unwrap();
        fs::write(&path, "x = 2\n").unwrap();
        assert!(watcher.drain().unwrap().paths.contains(&path));
    }

    #[test]
    fn watching_a_missing_directory_fails_without_breaking_the_watcher() {
        let dir = tempfile::tempdir().unwrap();
        let mut watcher = started(dir.path());
        assert!(watcher.watch_dir(&dir.path().join("missing")).is_err());
        fs::write(dir.path().join("m.py"), "x = 1\n").unwrap();
        assert_eq!(watcher.drain().unwrap().paths.len(), 1);
    }
}
