//! From the paths a detector names to the tracked modules they hold.
//!
//! A module file may be a symbolic link to a file elsewhere: its edits happen at the
//! target's path. `Links` maps targets back to the tracked paths that lead to them.

use std::path::{Path, PathBuf};

use ahash::{AHashMap, AHashSet};

use crate::detector::Candidates;

/// Module positions by source path and by directory, kept as sorted `(hash, position)`
/// pairs: 8 bytes a module instead of a map holding a copy of every path. Two paths
/// with the same 32-bit hash only make one more module looked at (a stat that finds it
/// unchanged), never one less (among 10,000 paths, any two share one about once in 80).
#[derive(Debug, Default)]
pub struct PathIndex {
    by_path: Vec<(u32, u32)>,
    by_dir: Vec<(u32, u32)>,
}

/// The same for every spelling of a path (as `Path`'s own hash, which hashes component
/// by component: a tenth of the first check after loading thousands of modules), from
/// its bytes when they are its only spelling. Fixed seeds: the index is rebuilt whole,
/// never merged, so any seeds do.
fn path_hash(path: &Path) -> u32 {
    use std::hash::BuildHasher;
    let seeds = ahash::RandomState::with_seeds(0x5eed, 0xfa57, 0xa070, 0x7e10);
    let mut state = seeds.build_hasher();
    crate::source_path::hash_spelling(path, &mut state);
    let hash = std::hash::Hasher::finish(&state);
    (hash >> 32) as u32 ^ hash as u32
}

impl PathIndex {
    /// Indexes `paths`, the source paths of modules `0..`.
    pub fn build<'a>(paths: impl Iterator<Item = &'a Path>) -> PathIndex {
        let mut index = PathIndex::default();
        for (i, path) in paths.enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            index.by_path.push((path_hash(path), i));
            if let Some(dir) = crate::source_path::parent_of(path) {
                index.by_dir.push((path_hash(dir), i));
            }
        }
        index.by_path.sort_unstable();
        index.by_dir.sort_unstable();
        index.by_path.shrink_to_fit();
        index.by_dir.shrink_to_fit();
        index
    }

    /// The positions of the modules `candidates` names, in order, each once; `count` is
    /// the number of modules (all of them, for `Candidates::All`).
    pub fn select(&self, candidates: &Candidates, count: usize) -> Vec<usize> {
        let Candidates::Some { paths, dirs } = candidates else {
            return (0..count).collect();
        };
        let from_paths = paths.iter().flat_map(|p| positions(&self.by_path, p));
        let from_dirs = dirs.iter().flat_map(|d| positions(&self.by_dir, d));
        let mut selected: Vec<usize> = from_paths.chain(from_dirs).filter(|&i| i < count).collect();
        selected.sort_unstable();
        selected.dedup();
        selected
    }
}

/// The positions recorded under `path`'s hash in `pairs` (sorted).
fn positions<'a>(pairs: &'a [(u32, u32)], path: &Path) -> impl Iterator<Item = usize> + 'a {
    let hash = path_hash(path);
    let start = pairs.partition_point(|&(h, _)| h < hash);
    pairs[start..]
        .iter()
        .take_while(move |&&(h, _)| h == hash)
        .map(|&(_, i)| i as usize)
}

/// Where `file` leads if it is a symbolic link (through any number of links, to a file
/// that exists); None for a file that is not one, or a link that leads nowhere.
///
/// A plain file in a linked directory is not resolved: the watch on its directory
/// follows the link, and reports its events under the tracked path.
pub fn resolve(file: &Path) -> Option<PathBuf> {
    if !std::fs::symlink_metadata(file).ok()?.is_symlink() {
        return None;
    }
    std::fs::canonicalize(file)
        .ok()
        .filter(|target| target != file)
}

/// Tracked files that are symbolic links, and the files they lead to.
#[derive(Debug, Default)]
pub struct Links {
    target_of: AHashMap<PathBuf, PathBuf>,
    /// The tracked links by the file they lead to (several links may share one).
    links_to: AHashMap<PathBuf, AHashSet<PathBuf>>,
}

impl Links {
    /// Records that `file` leads to `target` (None: `file` is not a link). Returns
    /// whether that is new.
    pub fn set(&mut self, file: &Path, target: Option<PathBuf>) -> bool {
        if self.target_of.get(file) == target.as_ref() {
            return false;
        }
        if let Some(old) = self.target_of.remove(file) {
            self.unlink(&old, file);
        }
        if let Some(target) = target {
            let links = self.links_to.entry(target.clone()).or_default();
            links.insert(file.to_path_buf());
            self.target_of.insert(file.to_path_buf(), target);
        }
        true
    }

    fn unlink(&mut self, target: &Path, file: &Path) {
        if let Some(links) = self.links_to.get_mut(target) {
            links.remove(file);
            if links.is_empty() {
                self.links_to.remove(target);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.target_of.is_empty()
    }

    /// The tracked links that lead to `target`.
    pub fn leading_to<'a>(&'a self, target: &Path) -> impl Iterator<Item = &'a PathBuf> {
        self.links_to.get(target).into_iter().flatten()
    }

    /// The tracked links whose target is in one of `dirs`.
    pub fn into_dirs<'a>(
        &'a self,
        dirs: &'a AHashSet<PathBuf>,
    ) -> impl Iterator<Item = &'a PathBuf> + 'a {
        self.target_of
            .iter()
            .filter(|(_, target)| target.parent().is_some_and(|dir| dirs.contains(dir)))
            .map(|(link, _)| link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ahash::AHashSet;

    #[test]
    fn selects_by_path_and_by_directory() {
        let paths = [
            PathBuf::from("/a/x.py"),
            PathBuf::from("/a/y.py"),
            PathBuf::from("/b/z.py"),
        ];
        let index = PathIndex::build(paths.iter().map(PathBuf::as_path));
        assert_eq!(index.select(&Candidates::All, 3), [0, 1, 2]);
        let some = |p: &[&str], d: &[&str]| Candidates::Some {
            paths: p.iter().map(PathBuf::from).collect::<AHashSet<_>>(),
            dirs: d.iter().map(PathBuf::from).collect::<AHashSet<_>>(),
        };
        assert_eq!(
            index.select(&some(&["/b/z.py", "/c/unknown.py"], &[]), 3),
            [2]
        );
        assert_eq!(index.select(&some(&["/a/x.py"], &["/a"]), 3), [0, 1]);
        assert!(index.select(&some(&[], &[]), 3).is_empty());
    }

    #[test]
    fn a_path_is_found_however_it_is_spelled() {
        let paths = [PathBuf::from("/a//x.py"), PathBuf::from("/b/y.py")];
        let index = PathIndex::build(paths.iter().map(PathBuf::as_path));
        let some = |p: &str, d: &str| Candidates::Some {
            paths: [PathBuf::from(p)]
                .into_iter()
                .filter(|p| p != Path::new(""))
                .collect(),
            dirs: [PathBuf::from(d)]
                .into_iter()
                .filter(|d| d != Path::new(""))
                .collect(),
        };
        assert_eq!(index.select(&some("/a/x.py", ""), 2), [0]);
        assert_eq!(index.select(&some("/a/./x.py", ""), 2), [0]);
        assert_eq!(index.select(&some("/b//y.py", ""), 2), [1]);
        assert_eq!(index.select(&some("", "/b/"), 2), [1]);
    }

    #[test]
    fn a_path_shared_by_several_modules_selects_them_all() {
        let paths = [
            PathBuf::from("/a/x.py"),
            PathBuf::from("/b/y.py"),
            PathBuf::from("/a/x.py"),
        ];
        let index = PathIndex::build(paths.iter().map(PathBuf::as_path));
        let candidates = Candidates::Some {
            paths: [PathBuf::from("/a/x.py")].into_iter().collect(),
            dirs: AHashSet::new(),
        };
        assert_eq!(index.select(&candidates, 3), [0, 2]);
        let dirs = Candidates::Some {
            paths: AHashSet::new(),
            dirs: [PathBuf::from("/b")].into_iter().collect(),
        };
        assert_eq!(index.select(&dirs, 3), [1]);
    }

    #[test]
    fn links_map_targets_back_to_the_tracked_paths() {
        let mut links = Links::default();
        let (a, b) = (Path::new("/p/a.py"), Path::new("/p/b.py"));
        let target = PathBuf::from("/t/m.py");
        assert!(links.set(a, Some(target.clone())));
        assert!(!links.set(a, Some(target.clone())));
        assert!(links.set(b, Some(target.clone())));
        let mut both: Vec<_> = links.leading_to(&target).collect();
        both.sort();
        assert_eq!(both, [a, b]);
        let dirs: AHashSet<PathBuf> = [PathBuf::from("/t")].into_iter().collect();
        assert_eq!(links.into_dirs(&dirs).count(), 2);
        assert!(links.set(a, Some(PathBuf::from("/u/m.py"))));
        assert!(links.set(b, None));
        assert_eq!(links.leading_to(&target).count(), 0);
        assert_eq!(
            links.leading_to(Path::new("/u/m.py")).collect::<Vec<_>>(),
            [a]
        );
        assert!(links.set(a, None));
        assert!(links.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn resolve_follows_file_and_directory_links() {
        use std::os::unix::fs::symlink;
        let root = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(root.path()).unwrap();
        let (real, other) = (root.join("real"), root.join("other"));
        std::fs::create_dir(&real).unwrap();
        std::fs::create_dir(&other).unwrap();
        let target = real.join("m.py");
        std::fs::write(&target, "x = 1\n").unwrap();
        assert_eq!(resolve(&target), None);
        // other/m.py -> linked/m.py, where linked -> real: two links, one of a directory.
        symlink(&real, root.join("linked")).unwrap();
        let file = other.join("m.py");
        symlink(root.join("linked").join("m.py"), &file).unwrap();
        assert_eq!(resolve(&file), Some(target.clone()));
        // A plain file reached through a linked directory is left as it is.
        assert_eq!(resolve(&root.join("linked").join("m.py")), None);
        let dangling = other.join("gone.py");
        symlink(root.join("nowhere.py"), &dangling).unwrap();
        assert_eq!(resolve(&dangling), None);
    }
}
