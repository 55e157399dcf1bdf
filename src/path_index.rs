//! From the paths a detector names to the tracked modules they hold.

use std::path::{Path, PathBuf};

use ahash::AHashMap;

use crate::detector::Candidates;

/// Module positions by source path and by directory.
#[derive(Debug, Default)]
pub struct PathIndex {
    by_path: AHashMap<PathBuf, Vec<usize>>,
    by_dir: AHashMap<PathBuf, Vec<usize>>,
}

impl PathIndex {
    /// Indexes `paths`, the source paths of modules `0..`.
    pub fn build<'a>(paths: impl Iterator<Item = &'a Path>) -> PathIndex {
        let mut index = PathIndex::default();
        for (i, path) in paths.enumerate() {
            index.by_path.entry(path.to_path_buf()).or_default().push(i);
            if let Some(dir) = path.parent() {
                index.by_dir.entry(dir.to_path_buf()).or_default().push(i);
            }
        }
        index
    }

    /// The positions of the modules `candidates` names, in order, each once; `count` is
    /// the number of modules (all of them, for `Candidates::All`).
    pub fn select(&self, candidates: &Candidates, count: usize) -> Vec<usize> {
        let Candidates::Some { paths, dirs } = candidates else {
            return (0..count).collect();
        };
        let from_paths = paths.iter().filter_map(|p| self.by_path.get(p));
        let from_dirs = dirs.iter().filter_map(|d| self.by_dir.get(d));
        let mut selected: Vec<usize> = from_paths.chain(from_dirs).flatten().copied().collect();
        selected.sort_unstable();
        selected.dedup();
        selected
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
}
