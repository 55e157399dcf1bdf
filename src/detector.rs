//! Which files to look at before a cell: the ones the watcher saw change, plus every
//! file the watcher cannot vouch for, which is polled.
//!
//! Polling (a stat of every tracked file) is the fallback, directory by directory or
//! for the whole session: when the watcher cannot start, when the OS runs out of
//! watches, for directories on network file systems (which deliver no events for
//! changes made elsewhere), when events were lost, when the watcher stops answering,
//! and when the user asks for it (`FASTAUTORELOAD_POLL=1`).
//!
//! A tracked file that is a symbolic link is edited where it leads: the directory of its
//! target is watched too, and an event there names the tracked file. Links are resolved
//! when a file is first tracked and again whenever an event names it (re-pointed, or
//! replaced by a link or by a plain file), never on a quiet cell.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ahash::AHashSet;

use crate::activity::Activity;
use crate::module_key::{ByPath, ModuleKey};
use crate::path_index::{resolve, Links};
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
    /// Every file given to `watch`, to notice when one becomes a link (shared with the
    /// module table: no copy of each path).
    files: AHashSet<ByPath>,
    links: Links,
    /// Watches released while reloading is off: every file is looked at when asked.
    suspended: bool,
    /// Events were not followed for a while: the next check looks at every file.
    rescan: bool,
    /// What a thread waits on before asking for a check (see `activity.rs`).
    activity: Arc<Activity>,
    /// Whether a file system that may be a network one is mounted: most machines have
    /// none, and then directories are watched without asking each one's (`statfs`).
    network_mounts: bool,
}

impl Detector {
    /// Starts watching, unless `force_poll` asks for polling only.
    pub fn new(force_poll: bool) -> Detector {
        if force_poll {
            return Detector::polling(
                "polling was asked for (FASTAUTORELOAD_POLL=1, --poll or poll=True)".into(),
            );
        }
        Detector::from_start(Watcher::start())
    }

    /// A detector around the outcome of starting a watcher: polling if it failed.
    pub fn from_start(started: Result<Watcher, String>) -> Detector {
        match started {
            Ok(watcher) => Detector {
                activity: watcher.activity(),
                watcher: Some(watcher),
                mode: Mode::Events,
                polled_dirs: AHashSet::new(),
                notes: Vec::new(),
                limit_noted: false,
                files: AHashSet::new(),
                links: Links::default(),
                suspended: false,
                rescan: false,
                network_mounts: true,
            },
            Err(err) => Detector::polling(format!("the file watcher could not start ({err})")),
        }
    }

    fn polling(reason: String) -> Detector {
        let activity = Arc::new(Activity::default());
        activity.set_polling(true);
        Detector {
            activity,
            watcher: None,
            notes: vec![format!("changes are detected by polling: {reason}")],
            mode: Mode::Polling(reason),
            polled_dirs: AHashSet::new(),
            limit_noted: false,
            files: AHashSet::new(),
            links: Links::default(),
            suspended: false,
            rescan: false,
            network_mounts: true,
        }
    }

    /// Releases every OS watch (reloading is off): until `resume`, checks look at every
    /// file, so nothing saved meanwhile is missed.
    pub fn suspend(&mut self) {
        if let Some(watcher) = self.watcher.as_mut() {
            watcher.release_all();
            self.suspended = true;
        }
    }

    /// Watches again the directories of every tracked file; the next check looks at
    /// every file, for what changed while the watches were off.
    pub fn resume(&mut self) {
        if !self.suspended {
            return;
        }
        self.suspended = false;
        self.rescan = true;
        self.follow_all();
        let dirs: AHashSet<PathBuf> = self
            .files
            .iter()
            .filter_map(|f| f.0.path().parent().map(Path::to_path_buf))
            .collect();
        for dir in dirs {
            self.watch_dir(&dir);
        }
    }

    /// Ends watching for good (the extension is unloaded): checks poll from now on.
    pub fn close(&mut self) {
        self.watcher = None;
        self.update_polling();
        self.suspended = false;
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

    /// What a thread waits on to learn that a check may find something: file events,
    /// or time passing while some files are polled.
    pub fn activity(&self) -> Arc<Activity> {
        Arc::clone(&self.activity)
    }

    /// Tells waiters whether time alone can bring changes (some files are polled).
    fn update_polling(&self) {
        let polling = self.watcher.is_none() || !self.polled_dirs.is_empty();
        self.activity.set_polling(polling);
    }

    /// Messages not yet given to the user.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Starts watching the directory of a newly tracked file, and of the file it leads
    /// to if it is a link. Call it before reading the file's baseline, so no change can
    /// fall between the read and the watch.
    pub fn watch(&mut self, file: &Path) {
        let link = std::fs::symlink_metadata(file).is_ok_and(|m| m.file_type().is_symlink());
        let links = if link {
            vec![file.to_path_buf()]
        } else {
            Vec::new()
        };
        self.watch_files(vec![ModuleKey::new("", file)], &links);
    }

    /// `watch` for many files at once, `links` being those among them that are symbolic
    /// links (known from the stat the table took): only those are resolved.
    pub fn watch_files(&mut self, files: Vec<ModuleKey>, links: &[PathBuf]) {
        self.look_at_mounts();
        self.watch_more(files, links);
        self.forget_mounts();
    }

    /// Makes room for `more` files to watch, from the caller's thread: grown by a
    /// watching thread instead, the set would leave its old buffers resident in that
    /// thread's malloc arena.
    pub fn reserve_files(&mut self, more: usize) {
        if self.watcher.is_some() {
            self.files.reserve(more);
        }
    }

    /// Reads which file systems are mounted, for the `watch_more` calls that follow.
    pub fn look_at_mounts(&mut self) {
        self.network_mounts = any_network_mount();
    }

    /// Asks each directory again from now on (`resume`, a link followed at a check): a
    /// network file system may be mounted by then.
    pub fn forget_mounts(&mut self) {
        self.network_mounts = true;
    }

    /// `watch_files`, with the mounts as `look_at_mounts` found them (an intake watches
    /// batch after batch, then calls `forget_mounts`).
    pub fn watch_more(&mut self, files: Vec<ModuleKey>, links: &[PathBuf]) {
        // Polling stats the tracked path, which follows links: nothing to resolve.
        if self.watcher.is_none() {
            return;
        }
        if self.suspended {
            // Watched, and their links followed, on `resume`.
            self.files.extend(files.into_iter().map(ByPath));
            return;
        }
        // Thousands of files share a few hundred directories: each is looked up once
        // (told apart by their bytes, cheaper to hash than a `Path`; a directory
        // spelled two ways is found watched by `watch_dir`).
        let mut seen: AHashSet<&[u8]> = AHashSet::new();
        for dir in files
            .iter()
            .filter_map(|f| crate::source_path::parent_of(f.path()))
        {
            if seen.insert(dir.as_os_str().as_encoded_bytes()) {
                self.watch_dir(dir);
            }
        }
        self.files.extend(files.into_iter().map(ByPath));
        for link in links {
            self.follow(link);
        }
    }

    /// Resolves `file` (again) and watches the directory of its target.
    fn follow(&mut self, file: &Path) {
        let target = resolve(file);
        self.lead_to(file, target);
    }

    fn lead_to(&mut self, file: &Path, target: Option<PathBuf>) {
        if let Some(dir) = target.as_deref().and_then(Path::parent) {
            self.watch_dir(dir);
        }
        self.links.set(file, target);
    }

    fn watch_dir(&mut self, dir: &Path) {
        let polled = self.polled_dirs.len();
        self.watch_or_poll(dir);
        if self.polled_dirs.len() != polled {
            self.update_polling();
        }
    }

    fn watch_or_poll(&mut self, dir: &Path) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        if self.polled_dirs.contains(dir) || watcher.is_watching(dir) {
            return;
        }
        let network = self
            .network_mounts
            .then(|| network_file_system(dir))
            .flatten();
        if let Some(fs) = network {
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
        if self.suspended {
            return Candidates::All;
        }
        let rescan = std::mem::take(&mut self.rescan);
        match watcher.drain() {
            Some(drained) => {
                self.polled_dirs.extend(drained.lost);
                self.update_polling();
                if drained.rescan || rescan {
                    // Links may have changed unseen; every file is checked anyway.
                    self.follow_all();
                    Candidates::All
                } else {
                    let mut paths = drained.paths;
                    self.add_links(&mut paths);
                    Candidates::Some {
                        paths,
                        dirs: self.polled_dirs.clone(),
                    }
                }
            }
            None => {
                let reason = watcher.broken_reason();
                self.watcher = None;
                self.update_polling();
                self.notes
                    .push(format!("changes are detected by polling: {reason}"));
                self.mode = Mode::Polling(reason);
                Candidates::All
            }
        }
    }

    /// Resolves again the tracked files among `paths` (a file re-pointed, or replaced),
    /// then adds to `paths` the tracked links whose targets they name or are polled.
    fn add_links(&mut self, paths: &mut AHashSet<PathBuf>) {
        let touched: Vec<PathBuf> = paths
            .iter()
            .filter(|p| self.files.contains(&ByPath::of(p)))
            .cloned()
            .collect();
        for file in &touched {
            self.follow(file);
        }
        if self.links.is_empty() {
            return;
        }
        let mut linked: Vec<PathBuf> = paths
            .iter()
            .flat_map(|p| self.links.leading_to(p))
            .cloned()
            .collect();
        if !self.polled_dirs.is_empty() {
            linked.extend(self.links.into_dirs(&self.polled_dirs).cloned());
        }
        paths.extend(linked);
    }

    fn follow_all(&mut self) {
        let files: Vec<ModuleKey> = self.files.iter().map(|f| f.0.clone()).collect();
        for file in &files {
            self.follow(file.path());
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

/// Whether `/proc/self/mounts` lists a file system that is not known to be local (or
/// cannot be read): then each directory is asked. An allow-list, not a list of network
/// kinds: a shared folder of a kind not named here (virtiofs reports FUSE's number to
/// `statfs`) is asked about, as before, rather than watched in vain.
#[cfg(target_os = "linux")]
fn any_network_mount() -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return true;
    };
    mounts
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .any(|kind| !is_local_kind(kind))
}

#[cfg(not(target_os = "linux"))]
fn any_network_mount() -> bool {
    true
}

/// File system types (as `/proc/self/mounts` names them) whose changes inotify reports:
/// disks, memory, and the kernel's own.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn is_local_kind(kind: &str) -> bool {
    const LOCAL: &[&str] = &[
        "ext2",
        "ext3",
        "ext4",
        "xfs",
        "btrfs",
        "f2fs",
        "jfs",
        "reiserfs",
        "zfs",
        "bcachefs",
        "vfat",
        "msdos",
        "exfat",
        "ntfs3",
        "hfsplus",
        "iso9660",
        "udf",
        "squashfs",
        "erofs",
        "tmpfs",
        "ramfs",
        "overlay",
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "cgroup",
        "cgroup2",
        "mqueue",
        "securityfs",
        "debugfs",
        "tracefs",
        "pstore",
        "bpf",
        "hugetlbfs",
        "configfs",
        "fusectl",
        "binfmt_misc",
        "efivarfs",
        "selinuxfs",
        "nsfs",
        "autofs",
        "rpc_pipefs",
    ];
    LOCAL.contains(&kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn only_file_systems_known_to_be_local_skip_asking_each_directory() {
        for kind in [
            "ext4", "xfs", "btrfs", "tmpfs", "overlay", "proc", "fusectl", "cgroup2",
        ] {
            assert!(is_local_kind(kind), "{kind}");
        }
        let shared = [
            "nfs",
            "nfs4",
            "cifs",
            "smb3",
            "9p",
            "fuse.sshfs",
            "fuseblk",
            "ceph",
        ];
        for kind in shared
            .into_iter()
            .chain(["virtiofs", "vboxsf", "unknownfs"])
        {
            assert!(!is_local_kind(kind), "{kind}");
        }
    }

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
    fn suspended_detector_releases_its_watches_and_checks_everything_after() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.py");
        fs::write(&file, "x = 1\n").unwrap();
        let mut detector = Detector::new(false);
        detector.watch(&file);
        assert_eq!(detector.watched_dirs(), 1);
        detector.suspend();
        assert_eq!(detector.watched_dirs(), 0);
        assert!(matches!(detector.candidates(), Candidates::All));
        detector.resume();
        assert_eq!(detector.watched_dirs(), 1);
        // What was saved while the watches were off has left no event: look at all once.
        assert!(matches!(detector.candidates(), Candidates::All));
        assert!(matches!(detector.candidates(), Candidates::Some { .. }));
    }

    #[test]
    fn an_edit_wakes_a_thread_waiting_for_activity() {
        use crate::activity::Woken;
        use std::time::Duration;

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.py");
        fs::write(&file, "x = 1\n").unwrap();
        let mut detector = Detector::new(false);
        detector.watch(&file);
        let activity = detector.activity();
        let _ = detector.candidates();
        let seen = activity.count();
        fs::write(&file, "x = 2\n").unwrap();
        // Bounded: the event ends the wait; the timeout only guards a broken watcher.
        let woken = activity.wait(seen, Duration::from_secs(60));
        assert!(matches!(woken, Woken::Changed(_)), "{woken:?}");
        assert!(
            matches!(detector.candidates(), Candidates::Some { paths, .. } if paths.contains(&file))
        );
    }

    #[test]
    fn a_polling_detector_makes_timeouts_due_checks() {
        use crate::activity::Woken;

        let detector = Detector::new(true);
        let activity = detector.activity();
        assert_eq!(
            activity.wait(activity.count(), std::time::Duration::ZERO),
            Woken::PollDue
        );
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

    /// The paths the next check names, in event mode.
    fn changed(detector: &mut Detector) -> AHashSet<PathBuf> {
        match detector.candidates() {
            Candidates::Some { paths, .. } => paths,
            Candidates::All => panic!("expected events"),
        }
    }

    /// `link` made (or re-pointed) to lead to `target`, atomically as `ln -sfn` does.
    #[cfg(unix)]
    fn point(link: &Path, target: &Path) {
        let temp = link.with_extension("tmp-link");
        std::os::unix::fs::symlink(target, &temp).unwrap();
        fs::rename(&temp, link).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_edit_of_a_link_target_in_another_directory_names_the_link() {
        let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let target = there.path().join("m.py");
        fs::write(&target, "x = 1\n").unwrap();
        let file = here.path().join("m.py");
        point(&file, &target);
        let mut detector = Detector::new(false);
        detector.watch(&file);
        assert_eq!(detector.watched_dirs(), 2);
        assert!(!changed(&mut detector).contains(&file));
        fs::write(&target, "x = 2\n").unwrap();
        assert!(changed(&mut detector).contains(&file));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_through_a_linked_directory_is_followed_to_its_file() {
        let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let real = there.path().join("real");
        fs::create_dir(&real).unwrap();
        fs::write(real.join("m.py"), "x = 1\n").unwrap();
        let linked = there.path().join("linked");
        std::os::unix::fs::symlink(&real, &linked).unwrap();
        let file = here.path().join("m.py");
        point(&file, &linked.join("m.py"));
        let mut detector = Detector::new(false);
        detector.watch(&file);
        fs::write(real.join("m.py"), "x = 2\n").unwrap();
        assert!(changed(&mut detector).contains(&file));
    }

    #[cfg(unix)]
    #[test]
    fn a_re_pointed_link_is_followed_to_its_new_target() {
        let here = tempfile::tempdir().unwrap();
        let (old_dir, new_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (old, new) = (old_dir.path().join("m.py"), new_dir.path().join("m.py"));
        fs::write(&old, "x = 1\n").unwrap();
        fs::write(&new, "x = 2\n").unwrap();
        let file = here.path().join("m.py");
        point(&file, &old);
        let mut detector = Detector::new(false);
        detector.watch(&file);
        point(&file, &new);
        assert!(changed(&mut detector).contains(&file));
        fs::write(&new, "x = 3\n").unwrap();
        assert!(changed(&mut detector).contains(&file));
        // The old target no longer concerns the file.
        fs::write(&old, "x = 4\n").unwrap();
        assert!(!changed(&mut detector).contains(&file));
    }

    #[cfg(unix)]
    #[test]
    fn a_plain_file_replaced_by_a_link_and_back() {
        let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let file = here.path().join("m.py");
        fs::write(&file, "x = 1\n").unwrap();
        let target = there.path().join("m.py");
        fs::write(&target, "x = 2\n").unwrap();
        let mut detector = Detector::new(false);
        detector.watch(&file);
        assert_eq!(detector.watched_dirs(), 1);
        point(&file, &target);
        assert!(changed(&mut detector).contains(&file));
        fs::write(&target, "x = 3\n").unwrap();
        assert!(changed(&mut detector).contains(&file));
        let temp = here.path().join("m.py.new");
        fs::write(&temp, "x = 4\n").unwrap();
        fs::rename(&temp, &file).unwrap();
        assert!(changed(&mut detector).contains(&file));
        fs::write(&target, "x = 5\n").unwrap();
        assert!(!changed(&mut detector).contains(&file));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_into_a_directory_watched_under_another_name() {
        // here/m.py -> real/t.py, while real is also tracked as alias/ (alias -> real).
        let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let real = there.path().join("real");
        fs::create_dir(&real).unwrap();
        let alias = there.path().join("alias");
        std::os::unix::fs::symlink(&real, &alias).unwrap();
        let (neighbour, target) = (alias.join("n.py"), real.join("t.py"));
        fs::write(&neighbour, "x = 1\n").unwrap();
        fs::write(&target, "x = 1\n").unwrap();
        let file = here.path().join("m.py");
        point(&file, &target);
        let mut detector = Detector::new(false);
        detector.watch(&neighbour);
        detector.watch(&file);
        fs::write(&target, "x = 2\n").unwrap();
        fs::write(&neighbour, "x = 2\n").unwrap();
        let paths = changed(&mut detector);
        assert!(paths.contains(&file), "{paths:?}");
        assert!(paths.contains(&neighbour), "{paths:?}");
    }
}
