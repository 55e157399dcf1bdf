//! Baselines read lazily: what each module's file held when the module was first seen.
//!
//! Loading records only a stat key per module. The content hash, and for the user's own
//! modules the import scan and the outline, are read afterwards by a background thread
//! (the user's code first, installed libraries last), or on demand. A read is taken as
//! the baseline only when the file's stat is still the one recorded at load, before and
//! after reading, and that stat could be trusted then (not modified within the racy
//! window): otherwise the file changed since load, the imported content is unknown, and
//! the module is reloaded whole when its change is found, so no edit is ever missed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::fingerprint::{ContentHash, Snapshot, StatKey};
use crate::imports::PackedImports;
use crate::module_key::ModuleKey;
use crate::module_table::analyze_to_keep;
use crate::outline::PackedOutline;

/// One module whose baseline is to be read.
#[derive(Debug, Clone)]
pub struct Job {
    /// The module's name and source path.
    pub key: ModuleKey,
    pub object_id: usize,
    /// The stat key recorded when the module was first seen, and whether it could be
    /// trusted then (`stat_trusted`).
    pub stat: StatKey,
    pub trusted: bool,
    /// Installed code: only its hash is needed until it changes.
    pub library: bool,
}

/// What reading a baseline found.
#[derive(Debug)]
pub struct Baseline {
    pub key: ModuleKey,
    pub object_id: usize,
    pub stat: StatKey,
    /// None: the file changed since the module was seen (or cannot be trusted or read),
    /// so the content the module was loaded from is unknown.
    pub hash: Option<ContentHash>,
    pub analysis: Option<(PackedImports, PackedOutline)>,
}

/// Whether `job` must be read at once rather than in the background: its file was
/// modified so recently that a later write could leave its stat key unchanged, so only a
/// read now can tell what the module was loaded from.
pub fn urgent(job: &Job) -> bool {
    !job.trusted
}

/// Reads one baseline now, as part of loading: what the file holds is what the module
/// was loaded from, if the stat did not move while it was read.
pub fn read_now(job: &Job) -> Baseline {
    read_checked(job, false)
}

/// Reads one baseline later (see the module comment for when it counts).
pub fn read(job: &Job) -> Baseline {
    read_checked(job, true)
}

fn read_checked(job: &Job, later: bool) -> Baseline {
    let mut baseline = Baseline {
        key: job.key.clone(),
        object_id: job.object_id,
        stat: job.stat,
        hash: None,
        analysis: None,
    };
    if later && urgent(job) {
        return baseline;
    }
    let Ok(snap) = Snapshot::read(job.key.path()) else {
        return baseline;
    };
    let unchanged_after = StatKey::of(job.key.path()).is_ok_and(|after| after == job.stat);
    if snap.stat != job.stat || !unchanged_after {
        return baseline;
    }
    baseline.hash = Some(snap.hash);
    if !job.library {
        baseline.analysis = Some(analyze_to_keep(&snap.bytes));
    }
    baseline
}

/// Jobs per slice: the thread checks for a stop (and the test hold) between slices.
const SLICE: usize = 64;

/// Test-only: while set, background readers wait before each slice.
static HOLD: AtomicBool = AtomicBool::new(false);

/// Test-only: hold (or release) every background reader before its next slice.
pub fn hold(on: bool) {
    HOLD.store(on, Ordering::SeqCst);
}

/// A background thread reading baselines; results are taken with `take`.
#[derive(Debug)]
pub struct Reader {
    /// Behind a mutex only so that the table can be shared with threads (it is read
    /// from one thread at a time).
    results: Mutex<Receiver<Baseline>>,
    /// How many results were sent and not taken yet: the thread waits for them to be
    /// taken before it hands the memory they were read with back.
    untaken: Arc<Untaken>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Baselines taken from a reader. Dropped after them, it tells the reader they are gone:
/// the reader then hands back the memory they were read with (memory they still held
/// when it did would stay resident in its arena; at 10,000 modules, 2 MB).
pub struct Taken {
    untaken: Arc<Untaken>,
    count: usize,
}

impl Drop for Taken {
    fn drop(&mut self) {
        if self.count > 0 {
            self.untaken.add(self.count, false);
        }
    }
}

#[derive(Debug, Default)]
struct Untaken {
    count: Mutex<usize>,
    changed: Condvar,
}

impl Untaken {
    fn add(&self, n: usize, sent: bool) {
        if let Ok(mut count) = self.count.lock() {
            *count = if sent {
                *count + n
            } else {
                count.saturating_sub(n)
            };
            self.changed.notify_all();
        }
    }

    /// Waits until every result sent was taken, or `stop`.
    fn wait_taken(&self, stop: &AtomicBool) {
        let Ok(mut count) = self.count.lock() else {
            return;
        };
        while *count > 0 && !stop.load(Ordering::SeqCst) {
            match self.changed.wait(count) {
                Ok(next) => count = next,
                Err(_) => return,
            }
        }
    }
}

impl Reader {
    /// Starts reading `jobs`, the user's modules first.
    pub fn start(mut jobs: Vec<Job>) -> Reader {
        jobs.sort_by_key(|job| job.library);
        let (send, results) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let untaken = Arc::new(Untaken::default());
        let (stopping, counting) = (Arc::clone(&stop), Arc::clone(&untaken));
        let thread = std::thread::Builder::new()
            .name("fastautoreload-baselines".into())
            .spawn(move || {
                yield_to_the_session();
                work(&jobs, &send, &counting, &stopping);
                drop(jobs);
                // Once the table holds the results, what remains of the reads here is
                // free memory: hand it back, off the cells' path.
                counting.wait_taken(&stopping);
                release_free_memory();
            })
            .ok();
        Reader {
            results: Mutex::new(results),
            untaken,
            stop,
            thread,
        }
    }

    /// The baselines read since the last call, with the receipt to drop once they are
    /// gone (see `Taken`).
    pub fn take(&self) -> (Vec<Baseline>, Taken) {
        let taken: Vec<Baseline> = match self.results.lock() {
            Ok(results) => results.try_iter().collect(),
            Err(_) => Vec::new(),
        };
        let receipt = Taken {
            untaken: Arc::clone(&self.untaken),
            count: taken.len(),
        };
        (taken, receipt)
    }

    /// Whether the thread has finished (or never started).
    pub fn finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the thread and waits for it (at most one slice of reads).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.untaken.add(0, false); // wakes a thread waiting for its results to be taken
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop();
    }
}

fn work(jobs: &[Job], send: &Sender<Baseline>, untaken: &Untaken, stop: &AtomicBool) {
    for slice in jobs.chunks(SLICE) {
        while HOLD.load(Ordering::SeqCst) && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        if stop.load(Ordering::SeqCst) {
            return;
        }
        // One thread, not rayon's pool: the session's own work (the cell right after
        // loading, a check's parallel stats) keeps the other cores.
        for baseline in slice.iter().map(read) {
            // Counted before it can be taken, so the count never goes below zero.
            untaken.add(1, true);
            if send.send(baseline).is_err() {
                return; // the table is gone
            }
        }
    }
}

/// Lowers the reader thread's priority: it is background work, and the cells that run
/// meanwhile must not wait for it.
fn yield_to_the_session() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: setpriority on this thread's own id; raising niceness is always allowed.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}

/// Hands back to the OS the memory the reads freed. They ran on the reader's thread,
/// with its own malloc arena, where the file bytes and the unpacked
/// outlines they freed would otherwise stay resident for the rest of the session
/// (a few megabytes at 10,000 modules).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::module_table::{now_ns, stat_trusted};
    use std::fs;
    use std::path::PathBuf;

    fn job_for(path: PathBuf, recorded_at_ns: i64) -> Job {
        let stat = StatKey::of(&path).unwrap();
        Job {
            key: ModuleKey::new("m", &path),
            object_id: 1,
            stat,
            trusted: stat_trusted(&stat, recorded_at_ns),
            library: false,
        }
    }

    /// Sets `path`'s mtime `secs` seconds in the past, so that its stat is trusted.
    pub(crate) fn age(path: &std::path::Path, secs: u64) {
        let old = std::time::SystemTime::now() - Duration::from_secs(secs);
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }

    #[test]
    fn an_unchanged_file_gives_its_hash_and_outline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.py");
        fs::write(&path, "import os\nX = 1\n").unwrap();
        age(&path, 60);
        let baseline = read(&job_for(path, now_ns()));
        assert_eq!(baseline.hash, Some(ContentHash::of(b"import os\nX = 1\n")));
        assert_eq!(baseline.analysis.unwrap().0.unpack()[0].module, "os");
    }

    #[test]
    fn a_file_changed_since_load_has_no_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.py");
        fs::write(&path, "X = 1\n").unwrap();
        age(&path, 60);
        let job = job_for(path.clone(), now_ns());
        fs::write(&path, "X = 2\n").unwrap(); // same size, new mtime
        assert!(read(&job).hash.is_none());
    }

    #[test]
    fn a_stat_recorded_within_the_racy_window_is_read_at_once_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.py");
        fs::write(&path, "X = 1\n").unwrap();
        let job = job_for(path.clone(), StatKey::of(&path).unwrap().mtime_ns);
        assert!(urgent(&job));
        assert!(read(&job).hash.is_none());
        assert_eq!(read_now(&job).hash, Some(ContentHash::of(b"X = 1\n")));
    }

    #[test]
    fn the_reader_delivers_every_job_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let jobs: Vec<Job> = (0..200)
            .map(|i| {
                let path = dir.path().join(format!("m{i}.py"));
                fs::write(&path, format!("X = {i}\n")).unwrap();
                age(&path, 60);
                Job {
                    key: ModuleKey::new(&format!("m{i}"), &path),
                    library: i % 2 == 0,
                    ..job_for(path, now_ns())
                }
            })
            .collect();
        let mut reader = Reader::start(jobs);
        let mut got = Vec::new();
        while got.len() < 200 {
            let results = reader.results.lock().unwrap();
            got.extend(results.recv_timeout(Duration::from_secs(30)));
        }
        // The user's modules (odd numbers) come first.
        assert!(got[..100].iter().all(|b| b.analysis.is_some()));
        assert!(got.iter().all(|b| b.hash.is_some()));
        reader.stop();
        assert!(reader.finished());
    }
}
