//! The OS side of the watcher outside Linux: the `notify` crate (FSEvents on macOS,
//! ReadDirectoryChangesW on Windows), its events reduced to what the hub needs.

use std::path::Path;
use std::sync::Mutex;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecursiveMode, Watcher as _};

use super::{Report, WatchError};

pub struct Backend {
    inner: Mutex<notify::RecommendedWatcher>,
}

impl Backend {
    /// Starts notify's watcher; `handler` gets what each of its events names.
    pub fn start(handler: impl Fn(Report) + Send + Sync + 'static) -> Result<Backend, String> {
        let inner = notify::recommended_watcher(move |event: notify::Result<Event>| {
            if let Some(report) = reduce(event) {
                handler(report);
            }
        })
        .map_err(|e| e.to_string())?;
        Ok(Backend {
            inner: Mutex::new(inner),
        })
    }

    /// Watches `dir` (not its subdirectories).
    pub fn watch(&self, dir: &Path) -> Result<(), WatchError> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|e| WatchError::Other(e.to_string()))?;
        match inner.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => Err(WatchError::Limit),
            Err(e) => Err(WatchError::Other(e.to_string())),
        }
    }

    /// notify cannot say when its events are all in: the hub writes a barrier file
    /// instead and waits for its event.
    pub fn flush(&self) -> Option<()> {
        None
    }

    /// Whether `flush` works here.
    pub const FLUSHES: bool = false;

    /// Ends the watch of `dir`, if there is one.
    pub fn unwatch(&self, dir: &Path) {
        if let Ok(mut inner) = self.inner.lock() {
            let _ = inner.unwatch(dir);
        }
    }
}

/// What an event tells the hub: None for one that changes nothing.
fn reduce(event: notify::Result<Event>) -> Option<Report> {
    let Ok(event) = event else {
        return Some(Report::lost());
    };
    let lost = event.need_rescan();
    if !lost && changes_nothing(&event.kind) {
        return None;
    }
    Some(Report {
        paths: event.paths,
        lost,
    })
}

/// Whether an event of this kind leaves the file as it was: an open, a read, a close
/// after reading. Imports, tracebacks and editors cause many: taken as activity, they
/// would have the next check look at thousands of files. Writes are reported as
/// modifications (truncating on open too) and as closes after writing.
fn changes_nothing(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Access(
            AccessKind::Open(_)
                | AccessKind::Read
                | AccessKind::Close(AccessMode::Read | AccessMode::Execute)
        )
    )
}
