//! Stat keys of many files, each directory's path walked once.
//!
//! At load, thousands of files in a few hundred directories are stat'ed. A stat by full
//! path walks every component of it in the kernel (ten or so under site-packages), and
//! that walk is most of the cost: on Linux, each directory is opened once (`O_PATH`, no
//! read access needed) and its files are stat'ed relative to it. Elsewhere, and for
//! anything unusual (a path spelled more than one way, or without a parent or a file
//! name), the full path is used.

use std::io;
use std::path::Path;

use crate::fingerprint::StatKey;

/// The directories opened so far, for files stat'ed one after another: a batch of
/// files taken from `sys.modules` comes mostly directory by directory.
#[derive(Default)]
pub struct DirStats {
    #[cfg(target_os = "linux")]
    open: Vec<(Vec<u8>, std::os::fd::OwnedFd)>,
}

/// Directories kept open at a time: a few, since files come grouped.
#[cfg(target_os = "linux")]
const KEEP_OPEN: usize = 4;

impl DirStats {
    /// `StatKey::of_and_is_link(path)`: the key of the file `path` leads to, and
    /// whether `path` itself is a symbolic link.
    pub fn of_and_is_link(&mut self, path: &Path) -> io::Result<(StatKey, bool)> {
        #[cfg(target_os = "linux")]
        if let Some(found) = self.in_dir(path) {
            return found;
        }
        StatKey::of_and_is_link(path)
    }

    /// The stat relative to the file's directory, or None to use the full path.
    #[cfg(target_os = "linux")]
    fn in_dir(&mut self, path: &Path) -> Option<io::Result<(StatKey, bool)>> {
        use std::os::fd::AsRawFd;
        use std::os::unix::ffi::OsStrExt;
        // `parent` and `file_name` skip a trailing `/` or `/.`, which the kernel does not:
        // only a path with one spelling is split.
        if !crate::source_path::is_plain(path) {
            return None;
        }
        let (dir, name) = (crate::source_path::parent_of(path)?, path.file_name()?);
        let name = std::ffi::CString::new(name.as_bytes()).ok()?;
        let dir = self.opened(dir)?;
        // SAFETY: `stat` is plain data written by the call; `name` is NUL-terminated and
        // `dir` an open descriptor.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        let done = unsafe {
            libc::fstatat(
                dir.as_raw_fd(),
                name.as_ptr(),
                &mut stat,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if done != 0 {
            return Some(Err(io::Error::last_os_error()));
        }
        if stat.st_mode & libc::S_IFMT == libc::S_IFLNK {
            // A link: the key is its target's (rare; by full path, following it).
            return Some(StatKey::of(path).map(|key| (key, true)));
        }
        Some(Ok((StatKey::from_stat(&stat), false)))
    }

    /// The open descriptor of `dir`, opened now if it is not among the last few.
    #[cfg(target_os = "linux")]
    fn opened(&mut self, dir: &Path) -> Option<&std::os::fd::OwnedFd> {
        use std::os::fd::{FromRawFd, OwnedFd};
        use std::os::unix::ffi::OsStrExt;
        let bytes = dir.as_os_str().as_bytes();
        if let Some(at) = self.open.iter().position(|(d, _)| d == bytes) {
            return Some(&self.open[at].1);
        }
        let c_dir = std::ffi::CString::new(bytes).ok()?;
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
        // SAFETY: a NUL-terminated path; the descriptor returned is owned below.
        let fd = unsafe { libc::open(c_dir.as_ptr(), flags) };
        if fd < 0 {
            return None; // the full path says why, if the file cannot be stat'ed
        }
        if self.open.len() == KEEP_OPEN {
            self.open.remove(0);
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        self.open.push((bytes.to_vec(), fd));
        self.open.last().map(|(_, fd)| fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn keys_equal_those_of_the_full_paths() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for d in 0..6 {
            let sub = dir.path().join(format!("d{d}"));
            fs::create_dir(&sub).unwrap();
            for f in 0..3 {
                let path = sub.join(format!("m{f}.py"));
                fs::write(&path, format!("x = {d}{f}\n")).unwrap();
                paths.push(path);
            }
        }
        // Interleaved, so that directories are opened again once dropped.
        paths.sort_by_key(|p| p.file_name().unwrap().to_owned());
        let mut stats = DirStats::default();
        for path in &paths {
            let expected = StatKey::of_and_is_link(path).unwrap();
            assert_eq!(stats.of_and_is_link(path).unwrap(), expected, "{path:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_gives_its_targets_key_and_says_it_is_one() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.py");
        fs::write(&target, "x = 1\n").unwrap();
        let link = dir.path().join("link.py");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut stats = DirStats::default();
        let (key, is_link) = stats.of_and_is_link(&link).unwrap();
        assert!(is_link);
        assert_eq!(key, StatKey::of(&target).unwrap());
        assert!(!stats.of_and_is_link(&target).unwrap().1);
    }

    #[test]
    fn a_path_ending_in_a_separator_is_stated_as_the_full_path_is() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.py");
        fs::write(&file, "x = 1\n").unwrap();
        let mut stats = DirStats::default();
        for spelled in [
            format!("{}/", file.display()),
            format!("{}/.", file.display()),
        ] {
            let path = Path::new(&spelled);
            let expected = StatKey::of_and_is_link(path).map_err(|e| e.kind());
            assert_eq!(stats.of_and_is_link(path).map_err(|e| e.kind()), expected);
        }
    }

    #[test]
    fn a_missing_file_or_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut stats = DirStats::default();
        assert!(stats.of_and_is_link(&dir.path().join("gone.py")).is_err());
        assert!(stats
            .of_and_is_link(&dir.path().join("no_dir").join("gone.py"))
            .is_err());
    }
}
