//! A tracked module's name and source path, in one shared allocation.
//!
//! The module table holds one per module for the whole session, and the detector and
//! the background reads share it: as two shared strings they took two allocations and
//! two fat pointers a module (about 50 bytes more at 10,000 modules of the user's).

use std::ffi::OsStr;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

/// The name's bytes, a NUL (which neither a module name nor a path holds), then the
/// path's bytes as the OS string encodes them.
#[derive(Clone, PartialEq, Eq)]
pub struct ModuleKey(Arc<[u8]>);

impl ModuleKey {
    pub fn new(name: &str, path: &Path) -> ModuleKey {
        let path = path.as_os_str().as_encoded_bytes();
        let mut bytes = Vec::with_capacity(name.len() + 1 + path.len());
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(path);
        ModuleKey(Arc::from(bytes))
    }

    /// Whether `other` is this very key (the same module tracked once), not only equal.
    pub fn same(&self, other: &ModuleKey) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    fn split(&self) -> usize {
        self.0.iter().position(|&b| b == 0).unwrap_or(self.0.len())
    }

    pub fn name(&self) -> &str {
        let name = &self.0[..self.split()];
        // SAFETY: these bytes were copied from a `&str`, up to the NUL that follows it
        // (a `str` with a NUL in it ends the name there: still whole UTF-8 characters,
        // since NUL is one byte that no multi-byte character contains).
        unsafe { std::str::from_utf8_unchecked(name) }
    }

    pub fn path(&self) -> &Path {
        let start = (self.split() + 1).min(self.0.len());
        // SAFETY: these bytes are exactly those `as_encoded_bytes` gave for the path,
        // if the name held no NUL; one that did (never a module name) leaves a suffix of
        // them that starts after an ASCII byte, which the encoding allows splitting at.
        Path::new(unsafe { OsStr::from_encoded_bytes_unchecked(&self.0[start..]) })
    }
}

impl std::fmt::Debug for ModuleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.path().display())
    }
}

/// A key hashed and compared by its path (a set of the files being watched). Looked up
/// by a `ByPath` too (`ByPath::of`): its hash is `source_path::hash_spelling`, not
/// `Path`'s, so it cannot be looked up by a bare `Path`.
#[derive(Clone, Debug)]
pub struct ByPath(pub ModuleKey);

impl PartialEq for ByPath {
    fn eq(&self, other: &ByPath) -> bool {
        self.0.path() == other.0.path()
    }
}

impl Eq for ByPath {}

impl Hash for ByPath {
    fn hash<H: Hasher>(&self, state: &mut H) {
        crate::source_path::hash_spelling(self.0.path(), state);
    }
}

impl ByPath {
    /// A key for `path` alone, to look one up.
    pub fn of(path: &Path) -> ByPath {
        ByPath(ModuleKey::new("", path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn gives_back_the_name_and_the_path() {
        let key = ModuleKey::new("pkg.mod", Path::new("/src/pkg/mod.py"));
        assert_eq!(key.name(), "pkg.mod");
        assert_eq!(key.path(), Path::new("/src/pkg/mod.py"));
        let empty = ModuleKey::new("", Path::new(""));
        assert_eq!((empty.name(), empty.path()), ("", Path::new("")));
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_is_not_utf8_survives() {
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(OsStr::from_bytes(b"/src/caf\xe9.py"));
        assert_eq!(ModuleKey::new("caf", path).path(), path);
    }

    #[test]
    fn a_set_by_path_finds_keys_by_path() {
        let key = ModuleKey::new("a", Path::new("/x/a.py"));
        let set: HashSet<ByPath> = [ByPath(key)].into_iter().collect();
        assert!(set.contains(&ByPath::of(Path::new("/x/a.py"))));
        assert!(!set.contains(&ByPath::of(Path::new("/x/b.py"))));
        // However the path is spelled, as `Path`'s own comparisons go.
        assert!(set.contains(&ByPath::of(Path::new("/x//a.py"))));
        assert!(set.contains(&ByPath::of(Path::new("/x/./a.py"))));
    }
}
