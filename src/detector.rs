//! Which files to look at before a cell: the ones the watcher saw change, plus every
//! file the watcher cannot vouch for, which is polled.
//!
//! Polling (a stat of every tracked file) is the fallback, directory by directory or
//! for the whole session: when the watcher cannot start, when the OS runs out of
//! watches, for directories on network file systems (which deliver no events for
//! changes made elsewhere), when events were lost, when the watcher stops answering,
//! and when the user asks for it (`FASTAUTORELOAD_POLL=1`).

use std::path::{Path, PathBuf};

use ahash::AHashSet;

use crate::watcher::{WatchError, Watcher};

/// The files a check must look at.
#[derive(Debug)]
pub enum Candidates {
    /// Every tracked file.
    All,
    /// Files at these paths, and every file in these directories.
    Some {
        paths: AHashSet<PathBuf>,
        dirs: AHashSet<PathBuf>,
    },
}

/// How changes are detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Events,
    Polling(String),
}

pub struct Detector {
    watcher: Option<Watcher>,
    mode: Mode,
    /// Directories the watcher cannot vouch for, polled on every check.
    polled_dirs: AHashSet<PathBuf>,
    /// Messages for the user, each said once.
    notes: Vec<String>,
    limit_noted: bool,
}

impl Detector {
    /// Starts watching, unless `force_poll` asks for polling only.
    pub fn new(force_poll: bool) -> Detector {
        if force_poll {
            return Detector::polling("polling was asked for (FASTAUTORELOAD_POLL)".into());
        }
        Detector::from_start(Watcher::start())
    }

    /// A detector around the outcome of starting a watcher: polling if it failed.
    pub fn from_start(started: Result<Watcher, String>) -> Detector {
        match started {
            Ok(watcher) => Detector {
                watcher: Some(watcher),
                mode: Mode::Events,
                polled_dirs: AHashSet::new(),
                notes: Vec::new(),
                limit_noted: false,
            },
            Err(err) => Detector::polling(format!("the file watcher could not start ({err})")),
        }
    }

    fn polling(reason: String) -> Detector {
        Detector {
            watcher: None,
            notes: vec![format!("changes are detected by polling: {reason}")],
            mode: Mode::Polling(reason),
            polled_dirs: AHashSet::new(),
            limit_noted: false,
        }
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn watched_dirs(&self) -> usize {
        self.watcher.as_ref().map_or(0, Watcher::watched_dirs)
    }

    pub fn polled_dirs(&self) -> usize {
        self.polled_dirs.len()
    }

    /// Messages not yet given to the user.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Starts watching the directory of a newly tracked file. Call it before reading the
    /// file's baseline, so no change can fall between the read and the watch.
    pub fn watch(&mut self, file: &Path) {
        let Some(dir) = file.parent() else { return };
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        if self.polled_dirs.contains(dir) || watcher.is_watching(dir) {
            return;
        }
        if let Some(fs) = network_file_system(dir) {
            self.polled_dirs.insert(dir.to_path_buf());
            self.notes.push(format!(
                "{} is on a {fs} file system, which reports no changes: it is polled",
                dir.display()
            ));
            return;
        }
        match watcher.watch_dir(dir) {
            Ok(()) => {}
            Err(WatchError::Limit) => {
                self.polled_dirs.insert(dir.to_path_buf());
                if !self.limit_noted {
                    self.limit_noted = true;
                    self.notes.push(
                        "the OS limit on file watches was reached (raise fs.inotify.max_user_watches); \
                         directories beyond it are polled"
                            .into(),
                    );
                }
            }
            Err(WatchError::Other(_)) => {
                // Usually a directory that does not exist (yet): poll it.
                self.polled_dirs.insert(dir.to_path_buf());
            }
        }
    }

    /// The files to look at now. In event mode this drains the watcher up to this very
    /// moment; it falls back to everything when events were lost or the watcher failed.
    pub fn candidates(&mut self) -> Candidates {
        let Some(watcher) = self.watcher.as_mut() else {
            return Candidates::All;
        };
        match watcher.drain() {
            Some(drained) => {
                self.polled_dirs.extend(drained.lost);
                if drained.rescan {
                    Candidates::All
                } else {
                    Candidates::Some {
                        paths: drained.paths,
                        dirs: self.polled_dirs.clone(),
                    }
                }
            }
            None => {
                let reason = "the file watcher stopped answering";
                self.watcher = None;
                self.notes
                    .push(format!("changes are detected by polling: {reason}"));
                self.mode = Mode::Polling(reason.into());
                Candidates::All
            }
        }
    }
}

/// The kind of network file system `dir` is on, if it is one (Linux only).
#[cfg(target_os = "linux")]
fn network_file_system(dir: &Path) -> Option<&'static str> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    let path = CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `stat` a writable statfs struct.
    if unsafe { libc::statfs(path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    match stat.f_type as u64 {
        0x6969 => Some("NFS"),
        0x517B | 0xFF53_4D42 | 0xFE53_4D42 => Some("SMB"),
        0x0102_1997 => Some("9p"),
        0x6573_5546 => Some("FUSE"),
        0x00C3_6400 => Some("Ceph"),
        0x786F_4256 => Some("VirtualBox shared folder"),
        _ => None,
    }
}

#[cfg(not(target_os = "linux"))]
fn network_file_system(_dir: &Path) -> Option<&'static str> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn events_mode_reports_only_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.py");
        fs::write(&file, "x = 1\n").unwrap();
        let mut detector = Detector::new(false);
        assert_eq!(*detector.mode(), Mode::Events);
        detector.watch(&file);
        match detector.candidates() {
            Candidates::Some { paths, dirs } => assert!(!paths.contains(&file) && dirs.is_empty()),
            Candidates::All => panic!("expected events"),
        }
        fs::write(&file, "x = 2\n").unwrap();
        match detector.candidates() {
            Candidates::Some { paths, .. } => assert!(paths.contains(&file), "{paths:?} {file:?}"),
            Candidates::All => panic!("expected events"),
        }
    }

    #[test]
    fn forced_polling_checks_everything_and_says_why_once() {
        let mut detector = Detector::new(true);
        assert!(matches!(detector.mode(), Mode::Polling(_)));
        assert!(matches!(detector.candidates(), Candidates::All));
        let notes = detector.take_notes();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("FASTAUTORELOAD_POLL"));
        assert!(detector.take_notes().is_empty());
    }

    #[test]
    fn a_watcher_that_cannot_start_means_polling_and_one_note() {
        let mut detector = Detector::from_start(Err("out of inotify instances".into()));
        match detector.mode() {
            Mode::Polling(reason) => assert!(reason.contains("out of inotify instances")),
            Mode::Events => panic!("expected polling"),
        }
        assert!(matches!(detector.candidates(), Candidates::All));
        assert_eq!(detector.take_notes().len(), 1);
    }

    #[test]
    fn a_directory_that_cannot_be_watched_is_polled() {
        let dir = tempfile::tempdir().unwrap();
        let mut detector = Detector::new(false);
        let missing = dir.path().join("not-yet").join("m.py");
        detector.watch(&missing);
        assert_eq!(detector.polled_dirs(), 1);
        match detector.candidates() {
            Candidates::Some { dirs, .. } => assert!(dirs.contains(missing.parent().unwrap())),
            Candidates::All => panic!("expected events"),
        }
    }
}
