//! `ChangeSignal`: what a thread of the Python side waits on, GIL released, to learn
//! that a check may find something (a program has no cell hook to check before).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use crate::activity::{Activity, Woken};

/// The longest a single wait may last, so a bad timeout never overflows an `Instant`.
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 3600);

#[pyclass(module = "fastautoreload._native", frozen)]
pub struct ChangeSignal {
    activity: Arc<Activity>,
    /// The count seen by the last wait that returned.
    seen: AtomicU64,
}

impl ChangeSignal {
    pub fn new(activity: Arc<Activity>) -> ChangeSignal {
        let seen = AtomicU64::new(activity.count());
        ChangeSignal { activity, seen }
    }
}

#[pymethods]
impl ChangeSignal {
    /// Waits up to `timeout` seconds. Returns "changed" (files may have changed since
    /// the last wait that returned), "poll" (the time passed while some files are
    /// polled), "quiet" (the time passed, nothing happened) or "closed".
    fn wait(&self, py: Python<'_>, timeout: f64) -> &'static str {
        let timeout = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(LONGEST_WAIT);
        let seen = self.seen.load(Ordering::Acquire);
        let activity = &self.activity;
        match py.detach(|| activity.wait(seen, timeout.min(LONGEST_WAIT))) {
            Woken::Changed(count) => {
                self.seen.store(count, Ordering::Release);
                "changed"
            }
            Woken::PollDue => "poll",
            Woken::Quiet => "quiet",
            Woken::Closed => "closed",
        }
    }

    /// Ends the current wait and every later one.
    fn close(&self) {
        self.activity.close();
    }
}
