//! The OS side of the watcher on Linux: inotify, spoken to directly.
//!
//! A watch is one `inotify_add_watch` system call made on the caller's thread (a few
//! microseconds), not a round trip to the reading thread: loading the extension in a
//! session of 2,000 modules watches some 250 directories, and the round trips cost more
//! than everything else loading does. The reading thread only reads and translates.
//!
//! Only events that may change a file are asked for: not opens, reads or closes after
//! reading, which imports, the background pass and editors cause by the thousand.
//!
//! The kernel queues an inotify event before the system call that caused it returns, so
//! whatever was saved before a drain is in the queue when the drain starts: `flush`
//! reads the queue on the caller's thread and hands everything over before returning.
//! The queue is only ever read under one lock (the reading thread waits for it to be
//! readable without the lock), so no event read by the thread can still be on its way
//! when a flush returns. No barrier file is needed.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ::inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
use ahash::AHashMap;

use super::{Report, WatchError};

/// What one read of the inotify queue may hold (about 1,000 events with short names).
const BUFFER: usize = 64 * 1024;

pub struct Backend {
    table: Arc<Mutex<Table>>,
    queue: Arc<Queue>,
}

/// The inotify queue and what its events go to.
struct Queue {
    fd: RawFd,
    /// Held while reading and handing over: see the module comment.
    reading: Mutex<(Inotify, Vec<u8>)>,
    handler: Box<dyn Fn(Report) + Send + Sync>,
    /// The reading thread stopped (waiting for events failed): flushes fail too, so the
    /// hub falls back to polling rather than drain a queue nobody else watches.
    broken: AtomicBool,
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
    /// what each read found (on that thread, or on the thread that calls `flush`).
    pub fn start(handler: impl Fn(Report) + Send + Sync + 'static) -> Result<Backend, String> {
        let inotify = Inotify::init().map_err(|e| e.to_string())?;
        let table = Arc::new(Mutex::new(Table {
            watches: inotify.watches(),
            dirs: AHashMap::new(),
            descriptors: AHashMap::new(),
        }));
        let queue = Arc::new(Queue {
            fd: inotify.as_raw_fd(),
            reading: Mutex::new((inotify, vec![0u8; BUFFER])),
            handler: Box::new(handler),
            broken: AtomicBool::new(false),
        });
        let (reader_table, reader_queue) = (Arc::clone(&table), Arc::clone(&queue));
        std::thread::Builder::new()
            .name("fastautoreload-watcher".into())
            .spawn(move || read_forever(&reader_queue, &reader_table))
            .map_err(|e| e.to_string())?;
        Ok(Backend { table, queue })
    }

    /// Whether `flush` works here.
    pub const FLUSHES: bool = true;

    /// Hands over every event queued before the call. None if the queue cannot be read
    /// (the watcher is broken).
    pub fn flush(&self) -> Option<()> {
        if self.queue.broken.load(Ordering::Acquire) {
            return None;
        }
        self.queue.read_queued(&self.table).ok()
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

/// Waits for events and reads them until waiting or reading fails for good; flushes
/// then fail too, and the hub falls back to polling.
fn read_forever(queue: &Queue, table: &Mutex<Table>) {
    loop {
        let mut ready = libc::pollfd {
            fd: queue.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, and the descriptor lives as long as `queue`.
        let polled = unsafe { libc::poll(&mut ready, 1, -1) };
        if polled < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if polled < 0 || queue.read_queued(table).is_err() {
            queue.broken.store(true, Ordering::Release);
            (queue.handler)(Report::lost());
            return;
        }
    }
}

impl Queue {
    /// Reads what the queue held when called, handing each batch over under the lock.
    /// Bounded by that amount: files that never stop changing cannot keep a drain (or
    /// the thread, and a drain waiting for its lock) reading.
    fn read_queued(&self, table: &Mutex<Table>) -> io::Result<()> {
        let mut reading = self.reading.lock().map_err(|_| io::ErrorKind::Other)?;
        let (inotify, buffer) = &mut *reading;
        // A read returns whole events, filling all but at most one event's room of the
        // buffer when more is queued: half a buffer a read is a safe bound.
        let mut reads = self.queued_bytes()?.div_ceil(BUFFER / 2) + 1;
        while reads > 0 {
            let report = match inotify.read_events(buffer) {
                Ok(events) => match table.lock() {
                    Ok(table) => translate(&table, events),
                    Err(_) => Report::lost(),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            reads -= 1;
            (self.handler)(report);
        }
        Ok(())
    }

    /// How many bytes of events the queue holds.
    fn queued_bytes(&self) -> io::Result<usize> {
        let mut bytes: libc::c_int = 0;
        // SAFETY: FIONREAD on our own inotify descriptor writes one int.
        if unsafe { libc::ioctl(self.fd, libc::FIONREAD, &mut bytes) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(usize::try_from(bytes).unwrap_or(0))
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
