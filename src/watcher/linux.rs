//! The OS side of the watcher on Linux: inotify, spoken to directly.
//!
//! A watch is one `inotify_add_watch` system call made on the caller's thread (a few
//! microseconds), not a round trip to the reading thread: loading the extension in a
//! session of 2,000 modules watches some 250 directories, and the round trips cost more
//! than everything else loading does. The reading thread only reads and translates.
//!
//! Only events that may change a file are asked for: not opens, reads or closes after
//! reading, which imports, the background pass and editors cause by the thousand.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ::inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
use ahash::AHashMap;

use super::{Report, WatchError};

/// What one read of the inotify queue may hold (about 1,000 events with short names).
const BUFFER: usize = 64 * 1024;

pub struct Backend {
    table: Arc<Mutex<Table>>,
}

/// The watches, both ways. One lock covers adding a watch and recording it, and the
/// translation of the events read: an event of a new watch can never be read before its
/// directory is known.
struct Table {
    watches: Watches,
    dirs: AHashMap<WatchDescriptor, PathBuf>,
    descriptors: AHashMap<PathBuf, WatchDescriptor>,
}

impl Backend {
    /// Opens an inotify instance and starts the thread that reads it; `handler` gets
    /// what each read found.
    pub fn start(handler: impl Fn(Report) + Send + 'static) -> Result<Backend, String> {
        let inotify = Inotify::init().map_err(|e| e.to_string())?;
        let table = Arc::new(Mutex::new(Table {
            watches: inotify.watches(),
            dirs: AHashMap::new(),
            descriptors: AHashMap::new(),
        }));
        let reader_table = Arc::clone(&table);
        std::thread::Builder::new()
            .name("fastautoreload-watcher".into())
            .spawn(move || read_forever(inotify, &reader_table, &handler))
            .map_err(|e| e.to_string())?;
        Ok(Backend { table })
    }

    /// Watches `dir` (not its subdirectories).
    pub fn watch(&self, dir: &Path) -> Result<(), WatchError> {
        let mut table = self
            .table
            .lock()
            .map_err(|e| WatchError::Other(e.to_string()))?;
        let wd = table.watches.add(dir, mask()).map_err(watch_error)?;
        // The kernel keeps one watch per directory: a name it already had is replaced.
        if let Some(old) = table.dirs.insert(wd.clone(), dir.to_path_buf()) {
            table.descriptors.remove(&old);
        }
        table.descriptors.insert(dir.to_path_buf(), wd);
        Ok(())
    }

    /// Ends the watch of `dir`, if there is one. A watch the kernel already dropped (the
    /// directory was removed) is only forgotten.
    pub fn unwatch(&self, dir: &Path) {
        let Ok(mut table) = self.table.lock() else {
            return;
        };
        if let Some(wd) = table.descriptors.remove(dir) {
            table.dirs.remove(&wd);
            let _ = table.watches.remove(wd);
        }
    }
}

fn mask() -> WatchMask {
    WatchMask::MODIFY
        | WatchMask::ATTRIB
        | WatchMask::CLOSE_WRITE
        | WatchMask::CREATE
        | WatchMask::DELETE
        | WatchMask::MOVED_FROM
        | WatchMask::MOVED_TO
        | WatchMask::DELETE_SELF
        | WatchMask::MOVE_SELF
}

fn watch_error(error: io::Error) -> WatchError {
    match error.raw_os_error() {
        Some(libc::ENOSPC) => WatchError::Limit,
        _ => WatchError::Other(error.to_string()),
    }
}

/// Reads events until reading fails for good; the hub then finds its barriers
/// unanswered and falls back to polling.
fn read_forever(mut inotify: Inotify, table: &Mutex<Table>, handler: &dyn Fn(Report)) {
    let mut buffer = vec![0u8; BUFFER];
    loop {
        let report = match inotify.read_events_blocking(&mut buffer) {
            Ok(events) => match table.lock() {
                Ok(table) => translate(&table, events),
                Err(_) => Report::lost(),
            },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => {
                handler(Report::lost());
                return;
            }
        };
        handler(report);
    }
}

/// The paths a batch of events names: the file's, or the watched directory's own when
/// the directory itself went (removed, renamed, unmounted).
fn translate<'a>(
    table: &Table,
    events: impl Iterator<Item = ::inotify::Event<&'a std::ffi::OsStr>>,
) -> Report {
    let mut report = Report::default();
    for event in events {
        if event.mask.contains(EventMask::Q_OVERFLOW) {
            report.lost = true;
            continue;
        }
        // Ours (an unwatch) or after a removal already reported by DELETE_SELF.
        if event.mask.contains(EventMask::IGNORED) {
            continue;
        }
        let Some(dir) = table.dirs.get(&event.wd) else {
            continue; // a watch ended meanwhile
        };
        report.paths.push(match event.name {
            Some(name) => dir.join(name),
            None => dir.clone(),
        });
    }
    report
}
