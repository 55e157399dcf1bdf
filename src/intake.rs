//! Taking in newly tracked files: each one's stat key recorded, its directory watched.
//!
//! At load, thousands of modules are found by walking `sys.modules`, which needs the
//! GIL and is bound by memory latency; the stat and the watch need neither and are
//! bound by the kernel. `Intake` does them on two threads of their own while the caller
//! goes on walking (one stats, then hands each batch to the other, which watches), so
//! loading costs about the longest of the three rather than their sum. A few files (a
//! cell that imported a module) are done on the caller's thread: no thread is started.
//!
//! Both are done before `finish` returns, which is what no edit being lost needs: a
//! change saved after that moves the stat key recorded, and the watcher reports it.
//! Their order within the intake does not matter (a change saved during it may be
//! taken for what was imported, as one saved just before it would).

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{Scope, ScopedJoinHandle};

use crate::detector::Detector;
use crate::dir_stats::DirStats;
use crate::fingerprint::StatKey;
use crate::module_key::ModuleKey;

/// Files handed to the threads at a time; fewer in all are done on the caller's thread.
const BATCH: usize = 64;

/// A file's stat key and whether its path is a symbolic link; None if it could not be
/// stat'ed.
pub type Stated = (ModuleKey, Option<(StatKey, bool)>);

pub struct Intake<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    detector: Option<&'env mut Detector>,
    batch: Vec<Stated>,
    threads: Option<Threads<'scope>>,
}

/// Batches go round: made here, stat keys filled in by one thread, watched by the
/// other, and sent back. What outlives a batch, but the detector's own records, is
/// allocated on the caller's thread: memory freed in a short-lived thread's malloc
/// arena would stay resident for the session.
struct Threads<'scope> {
    to_stat: Sender<Vec<Stated>>,
    /// Shared with the stat thread: the caller, done walking, takes batches too.
    stat_inbox: Arc<Mutex<Receiver<Vec<Stated>>>>,
    to_watch: Sender<Vec<Stated>>,
    done: Receiver<Vec<Stated>>,
    stats: ScopedJoinHandle<'scope, ()>,
    watches: ScopedJoinHandle<'scope, ()>,
}

impl<'scope, 'env> Intake<'scope, 'env> {
    /// Watches through `detector`; threads, when needed, are started in `scope`.
    pub fn new(scope: &'scope Scope<'scope, 'env>, detector: &'env mut Detector) -> Self {
        Intake {
            scope,
            detector: Some(detector),
            batch: Vec::with_capacity(BATCH),
            threads: None,
        }
    }

    /// Takes in one more file.
    pub fn add(&mut self, key: ModuleKey) {
        self.batch.push((key, None));
        if self.batch.len() == BATCH {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            self.send(batch);
        }
    }

    /// Waits until every file taken in is stat'ed and watched; returns the stat keys.
    pub fn finish(mut self) -> Vec<Stated> {
        let mut batch = std::mem::take(&mut self.batch);
        let Some(threads) = self.threads.take() else {
            stat_all(&mut batch);
            if let Some(detector) = self.detector.take() {
                detector.watch_files(keys(&batch), &[]);
            }
            return batch;
        };
        if !batch.is_empty() {
            // The receiving thread is gone only if it panicked: join says so below.
            let _ = threads.to_stat.send(batch);
        }
        drop(threads.to_stat);
        // Stats what the thread has not reached yet (thousands of files at load).
        stat_batches(&threads.stat_inbox, &threads.to_watch);
        drop(threads.to_watch);
        // A thread that panicked lost the batches it held: the caller is told (as a
        // panic of its own, which the bindings report as an internal error).
        for joined in [threads.stats.join(), threads.watches.join()] {
            if let Err(panic) = joined {
                std::panic::resume_unwind(panic);
            }
        }
        threads.done.try_iter().flatten().collect()
    }

    fn send(&mut self, batch: Vec<Stated>) {
        if self.threads.is_none() {
            self.threads = self.start();
        }
        match &self.threads {
            Some(threads) => {
                let _ = threads.to_stat.send(batch);
            }
            None => self.batch.extend(batch), // no thread could start: done in `finish`
        }
    }

    /// Starts both threads, or neither (then `finish` does the work, and the detector
    /// stays here: it is handed to the watching thread only once both have started).
    fn start(&mut self) -> Option<Threads<'scope>> {
        let (to_stat, stat_inbox) = channel::<Vec<Stated>>();
        let stat_inbox = Arc::new(Mutex::new(stat_inbox));
        let (to_watch, watch_inbox) = channel::<Vec<Stated>>();
        let (to_caller, done) = channel::<Vec<Stated>>();
        let (give_detector, detector_inbox) = channel::<&'env mut Detector>();
        let watches = std::thread::Builder::new()
            .name("fastautoreload-watch".into())
            .spawn_scoped(self.scope, move || {
                if let Ok(detector) = detector_inbox.recv() {
                    watch_batches(detector, watch_inbox, to_caller);
                }
            })
            .ok()?;
        let (inbox, watch) = (Arc::clone(&stat_inbox), to_watch.clone());
        let stats = std::thread::Builder::new()
            .name("fastautoreload-stat".into())
            .spawn_scoped(self.scope, move || stat_batches(&inbox, &watch));
        let Ok(stats) = stats else {
            drop(give_detector);
            let _ = watches.join();
            return None;
        };
        if let Err(refused) = give_detector.send(self.detector.take()?) {
            self.detector = Some(refused.0); // the watching thread is gone: done here
            return None;
        }
        Some(Threads {
            to_stat,
            stat_inbox,
            to_watch,
            done,
            stats,
            watches,
        })
    }
}

/// Fills in the stat key of every file of `batch`.
pub fn stat_all(batch: &mut [Stated]) {
    let mut stats = DirStats::default();
    for (key, stat) in batch {
        *stat = stats.of_and_is_link(key.path()).ok();
    }
}

fn keys(batch: &[Stated]) -> Vec<ModuleKey> {
    batch.iter().map(|(key, _)| key.clone()).collect()
}

/// Stats batch after batch until the inbox is closed and empty.
fn stat_batches(inbox: &Mutex<Receiver<Vec<Stated>>>, to_watch: &Sender<Vec<Stated>>) {
    loop {
        // Waits for the next batch holding the lock: another taker waits on the lock.
        let next = match inbox.lock() {
            Ok(inbox) => inbox.recv(),
            Err(_) => return, // the other taker panicked: its join says so
        };
        let Ok(mut batch) = next else { return };
        stat_all(&mut batch);
        let _ = to_watch.send(batch);
    }
}

fn watch_batches(
    detector: &mut Detector,
    inbox: Receiver<Vec<Stated>>,
    to_caller: Sender<Vec<Stated>>,
) {
    detector.look_at_mounts();
    for batch in inbox {
        detector.watch_more(keys(&batch), &[]);
        let _ = to_caller.send(batch);
    }
    detector.forget_mounts();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// `count` files spread over `dirs` directories, taken in; returns the stat keys.
    fn take_in(detector: &mut Detector, root: &std::path::Path, count: usize) -> Vec<Stated> {
        let keys: Vec<ModuleKey> = (0..count)
            .map(|i| {
                let dir = root.join(format!("d{}", i % 7));
                fs::create_dir_all(&dir).unwrap();
                let path = dir.join(format!("m{i}.py"));
                fs::write(&path, format!("x = {i}\n")).unwrap();
                ModuleKey::new(&format!("m{i}"), &path)
            })
            .collect();
        std::thread::scope(|scope| {
            let mut intake = Intake::new(scope, detector);
            for key in keys {
                intake.add(key);
            }
            intake.finish()
        })
    }

    fn assert_stated(stated: &[Stated], count: usize) {
        assert_eq!(stated.len(), count);
        for (key, stat) in stated {
            let expected = StatKey::of_and_is_link(key.path()).unwrap();
            assert_eq!(stat.unwrap(), expected, "{}", key.name());
        }
    }

    #[test]
    fn thousands_of_files_are_all_stated_and_their_directories_watched() {
        let dir = tempfile::tempdir().unwrap();
        let mut detector = Detector::new(false);
        let stated = take_in(&mut detector, dir.path(), 20 * BATCH + 5);
        assert_stated(&stated, 20 * BATCH + 5);
        assert_eq!(*detector.mode(), crate::detector::Mode::Events);
        assert_eq!(detector.watched_dirs(), 7);
        // Watched by the intake's thread, reported to the caller's drain.
        let edited = stated[BATCH * 10].0.path().to_path_buf();
        fs::write(&edited, "x = 'edited'\n").unwrap();
        match detector.candidates() {
            crate::detector::Candidates::Some { paths, .. } => assert!(paths.contains(&edited)),
            crate::detector::Candidates::All => panic!("expected events"),
        }
    }

    #[test]
    fn a_few_files_are_taken_in_on_the_callers_thread() {
        let dir = tempfile::tempdir().unwrap();
        let mut detector = Detector::new(false);
        let stated = take_in(&mut detector, dir.path(), 3);
        assert_stated(&stated, 3);
        assert_eq!(detector.watched_dirs(), 3);
    }

    #[test]
    fn a_file_that_cannot_be_stated_has_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut detector = Detector::new(false);
        let missing = ModuleKey::new("gone", &dir.path().join("gone.py"));
        let stated = std::thread::scope(|scope| {
            let mut intake = Intake::new(scope, &mut detector);
            intake.add(missing);
            intake.finish()
        });
        assert_eq!(stated.len(), 1);
        assert!(stated[0].1.is_none());
    }
}
