//! When a check may find something: a count of file events, waited on by a thread that
//! then asks for a check (a program running under fastautoreload has no cell hook).
//!
//! The count only goes up; a waiter remembers the last value it saw, so an event that
//! arrives while the check it caused is running is not lost: it wakes the waiter again.
//! Where some files are polled (no events for them), time passing is all there is, so a
//! wait that times out says a check is due anyway.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Activity {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// How many times something happened in a watched directory.
    count: u64,
    /// Some tracked files are polled: a timeout is a reason to check too.
    polling: bool,
    /// No more waiting: every wait returns at once.
    closed: bool,
}

/// Why a wait returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// Files changed (or events were lost): `count` is the new value to wait after.
    Changed(u64),
    /// The time passed while some files are polled: a check is due.
    PollDue,
    /// The time passed and nothing happened.
    Quiet,
    Closed,
}

impl Activity {
    /// Something happened in a watched directory (called by the watcher thread).
    pub fn bump(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.count = state.count.wrapping_add(1);
            self.changed.notify_all();
        }
    }

    /// Whether some files are polled, so timeouts count as reasons to check.
    pub fn set_polling(&self, polling: bool) {
        if let Ok(mut state) = self.state.lock() {
            state.polling = polling;
        }
    }

    /// Ends every wait, now and later.
    pub fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.closed = true;
            self.changed.notify_all();
        }
    }

    /// The current count, to wait after.
    pub fn count(&self) -> u64 {
        self.state.lock().map_or(0, |state| state.count)
    }

    /// Waits until the count moves past `seen`, the activity is closed, or `timeout`
    /// passes.
    pub fn wait(&self, seen: u64, timeout: Duration) -> Woken {
        let Ok(guard) = self.state.lock() else {
            return Woken::Closed;
        };
        let deadline = Instant::now() + timeout;
        let mut state = guard;
        loop {
            if state.closed {
                return Woken::Closed;
            }
            if state.count != seen {
                return Woken::Changed(state.count);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return if state.polling {
                    Woken::PollDue
                } else {
                    Woken::Quiet
                };
            }
            state = match self.changed.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(_) => return Woken::Closed,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_bump_before_the_wait_is_not_lost() {
        let activity = Activity::default();
        let seen = activity.count();
        activity.bump();
        assert_eq!(
            activity.wait(seen, Duration::ZERO),
            Woken::Changed(seen + 1)
        );
    }

    #[test]
    fn a_bump_from_another_thread_ends_the_wait() {
        let activity = Arc::new(Activity::default());
        let seen = activity.count();
        let other = Arc::clone(&activity);
        let bumper = std::thread::spawn(move || other.bump());
        // Bounded: the bump ends it long before; the timeout only guards a broken build.
        let woken = activity.wait(seen, Duration::from_secs(60));
        bumper.join().unwrap();
        assert_eq!(woken, Woken::Changed(seen + 1));
    }

    #[test]
    fn a_timeout_is_quiet_unless_files_are_polled() {
        let activity = Activity::default();
        assert_eq!(activity.wait(0, Duration::ZERO), Woken::Quiet);
        activity.set_polling(true);
        assert_eq!(activity.wait(0, Duration::ZERO), Woken::PollDue);
    }

    #[test]
    fn close_ends_waits_for_good() {
        let activity = Arc::new(Activity::default());
        let other = Arc::clone(&activity);
        let closer = std::thread::spawn(move || other.close());
        assert_eq!(activity.wait(0, Duration::from_secs(60)), Woken::Closed);
        closer.join().unwrap();
        activity.bump();
        assert_eq!(activity.wait(0, Duration::ZERO), Woken::Closed);
    }
}
