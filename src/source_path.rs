//! Where a module's source lives, from its `__file__`, by IPython's rules.

use std::path::{Path, PathBuf};

/// The `.py` file a module was loaded from, or `None` when it has no Python source.
///
/// `file` is the module's `__file__`. A `.py` file (any case) is its own source; a
/// PEP 3147 cache file (`pkg/__pycache__/mod.cpython-311.pyc`, optionally `.opt-1`)
/// maps back to `pkg/mod.py`. Anything else (C extensions, `.pyw`, legacy side-by-side
/// `.pyc` files) has no source we reload.
pub fn source_for(file: &str) -> Option<PathBuf> {
    // Most modules: `<name>.py`, told by its last bytes without parsing the path.
    let bytes = file.as_bytes();
    let named = bytes.len() > 4 && !std::path::is_separator(bytes[bytes.len() - 4] as char);
    if named && bytes[bytes.len() - 3..].eq_ignore_ascii_case(b".py") {
        return Some(PathBuf::from(file));
    }
    let path = Path::new(file);
    let ext = path.extension()?.to_str()?;
    if ext.eq_ignore_ascii_case("py") {
        return Some(path.to_path_buf());
    }
    if ext != "pyc" {
        return None;
    }
    source_from_cache(path)
}

/// Whether `path`'s bytes are the only way to spell it: no empty or `.` component after
/// the first, nor a trailing separator (which `Path`'s comparisons and hash skip), nor,
/// on Windows, a `/` beside `\`. Module paths are: byte comparisons then agree with
/// `Path`'s component-wise ones, without splitting thousands of paths into components.
pub fn is_plain(path: &Path) -> bool {
    let bytes = path.as_os_str().as_encoded_bytes();
    if cfg!(windows) && bytes.contains(&b'/') {
        return false;
    }
    let sep = |b: &u8| std::path::is_separator(*b as char);
    bytes
        .split(sep)
        .skip(1)
        .all(|part| !part.is_empty() && part != b".")
}

/// `path.parent()`, found on its bytes when it has one spelling (`is_plain`): the last
/// separator splits it, without `Path` parsing every component from the end.
pub fn parent_of(path: &Path) -> Option<&Path> {
    if !cfg!(unix) || !is_plain(path) {
        return path.parent();
    }
    let bytes = path.as_os_str().as_encoded_bytes();
    let dir = match bytes.iter().rposition(|b| *b == b'/') {
        Some(0) => &bytes[..1],
        Some(at) => &bytes[..at],
        None => &[],
    };
    // SAFETY: `dir` is a prefix of `path`'s bytes, cut just before an ASCII separator
    // (or empty), which is a valid boundary for an encoded OS string.
    Some(Path::new(unsafe {
        std::ffi::OsStr::from_encoded_bytes_unchecked(dir)
    }))
}

/// Hashes `path` the same for every spelling of it, as `Path`'s own hash does (component
/// by component, at several times the cost, for thousands of paths at load): by its
/// bytes when they are its only spelling (`is_plain`), else by its components'.
pub fn hash_spelling<H: std::hash::Hasher>(path: &Path, state: &mut H) {
    if cfg!(windows) {
        // `C:` and `c:` are one drive to `Path`'s comparisons: only its hash agrees.
        std::hash::Hash::hash(path, state);
        return;
    }
    if is_plain(path) {
        state.write(path.as_os_str().as_encoded_bytes());
    } else {
        let spelled: PathBuf = path.components().collect();
        state.write(spelled.as_os_str().as_encoded_bytes());
    }
}

/// Whether the source file `path` is the one module `name` would have: for `a.b`,
/// `.../a/b.py` or `.../a/b/__init__.py`, every part of the name matching a trailing
/// component of the path (toolz's `tlz.functoolz` copies `toolz/functoolz.py`'s
/// `__file__`: its last part alone would match).
pub fn is_named_for(path: &Path, name: &str) -> bool {
    if cfg!(unix) && is_plain(path) {
        // One spelling: its components are the bytes between its separators (split
        // here, not parsed by `Path`: this is asked for thousands of modules at load).
        let trailing = path.as_os_str().as_encoded_bytes().rsplit(|b| *b == b'/');
        return named_by(trailing, name);
    }
    let Some(file) = path.file_name() else {
        return false; // it ends in `..`
    };
    let dirs = path.parent().into_iter().flat_map(Path::ancestors);
    let trailing = std::iter::once(file)
        .chain(dirs.map_while(Path::file_name))
        .map(std::ffi::OsStr::as_encoded_bytes);
    named_by(trailing, name)
}

/// `is_named_for`, from a path's components last first (the file's name first).
fn named_by<'p>(mut trailing: impl Iterator<Item = &'p [u8]>, name: &str) -> bool {
    let Some(file) = trailing.next() else {
        return false;
    };
    let mut parts = name.rsplit('.').map(str::as_bytes);
    let stem = stem_of(file);
    if stem == b"__init__" {
        let package = trailing.next().filter(|p| !p.is_empty()); // not the root
        if package.is_none() || package != parts.next() {
            return false;
        }
    } else if file == b".." || parts.next() != Some(stem) {
        return false;
    }
    parts.all(|part| !part.is_empty() && trailing.next() == Some(part))
}

/// A file name less its extension, as `Path::file_stem` has it (`.bashrc` has none).
fn stem_of(file: &[u8]) -> &[u8] {
    match file.iter().rposition(|b| *b == b'.') {
        None | Some(0) => file,
        Some(dot) => &file[..dot],
    }
}

fn source_from_cache(pyc: &Path) -> Option<PathBuf> {
    let cache_dir = pyc.parent()?;
    if cache_dir.file_name()? != "__pycache__" {
        return None;
    }
    let name = pyc.file_name()?.to_str()?.strip_suffix(".pyc")?;
    let parts: Vec<&str> = name.split('.').collect();
    let module = match parts.as_slice() {
        [module, _tag] => module,
        [module, _tag, opt] if opt.starts_with("opt-") => module,
        _ => return None,
    };
    if module.is_empty() {
        return None;
    }
    Some(cache_dir.parent()?.join(format!("{module}.py")))
}

/// Module names that are never reloaded whatever their file: the interpreter's entry
/// points, fastautoreload itself, and a name holding a NUL (a `sys.modules` key made by
/// hand: the table keeps a name and its path apart by a NUL, see `module_key`).
pub fn is_reserved_name(name: &str) -> bool {
    matches!(name, "__main__" | "__mp_main__")
        || name.contains('\0')
        || name == "fastautoreload"
        || name.starts_with("fastautoreload.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_path_has_one_spelling() {
        for plain in ["/a/b.py", "/work/.venv/lib/x.py", "relative/x.py", "./x.py"] {
            assert!(is_plain(Path::new(plain)), "{plain}");
        }
        for spelled in ["/a//b.py", "/a/./b.py", "/a/b/", "a/./b"] {
            assert!(!is_plain(Path::new(spelled)), "{spelled}");
        }
    }

    #[test]
    fn a_file_is_named_for_the_module_whose_last_part_it_bears() {
        assert!(is_named_for(Path::new("/x/a/b.py"), "a.b"));
        assert!(is_named_for(Path::new("/x/a/b/__init__.py"), "a.b"));
        assert!(is_named_for(Path::new("/x/top.py"), "top"));
        assert!(is_named_for(Path::new("/x/a/b/c.py"), "a.b.c"));
        // toolz's `tlz` modules copy `toolz`'s `__file__`: their spec must be asked.
        assert!(!is_named_for(Path::new("/x/toolz/__init__.py"), "tlz"));
        assert!(!is_named_for(
            Path::new("/x/toolz/functoolz.py"),
            "tlz.functoolz"
        ));
        assert!(!is_named_for(Path::new("/x/b/c.py"), "a.b.c"));
        assert!(!is_named_for(Path::new("c.py"), "a.c"));
        assert!(!is_named_for(Path::new("/x/posixpath.py"), "os.path"));
        assert!(!is_named_for(Path::new("/x/a/__init__.py"), "a.__init__"));
    }

    #[test]
    fn however_a_path_is_spelled_it_is_named_for_the_same_modules() {
        // Plain paths are split as bytes, others by `Path`: both must agree.
        let paths = [
            "/x/a/b.py",
            "/x/a/b/__init__.py",
            "/x/a/b/__init__.pyc",
            "/x/top.py",
            "top.py",
            "/x/.hidden",
            "/x/a.b.py",
            "/x/a/..",
            "/__init__.py",
            "/x/a/b.tar.py",
            "a/b.py",
        ];
        let names = [
            "a.b", "b", "top", "x.top", "a", ".hidden", "a.b.c", "x.a.b", "", "a..b", "b.tar",
            "a.b.tar", "__init__", "x.a",
        ];
        for path in paths {
            let respelled = path.replacen('/', "//", 1).replace("/b", "/./b");
            for name in names {
                let plain = is_named_for(Path::new(path), name);
                let spelled = is_named_for(Path::new(&respelled), name);
                assert_eq!(plain, spelled, "{path} / {respelled} for {name:?}");
                if respelled == path {
                    continue;
                }
                assert!(!is_plain(Path::new(&respelled)) || respelled.starts_with("a/"));
            }
        }
        // A dotted stem is no module's last part.
        assert!(!is_named_for(Path::new("/x/a/b.tar.py"), "a.b.tar"));
        assert!(is_named_for(Path::new("/x/a/b.py"), "x.a.b"));
        assert!(is_named_for(Path::new("a/b.py"), "a.b"));
    }

    #[test]
    fn the_quick_look_at_a_py_name_agrees_with_paths() {
        for file in [
            "/a/m.py", "m.py", "/a/.py", ".py", "/a/..py", "/a/m.PY", "/a/m.py/", "a.py.pyc",
        ] {
            let path = Path::new(file);
            let by_path = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("py"));
            assert_eq!(
                source_for(file).is_some() && !file.ends_with(".pyc"),
                by_path,
                "{file}"
            );
        }
    }

    #[test]
    fn the_parent_found_on_bytes_is_paths() {
        for path in [
            "/a/b/c.py",
            "/c.py",
            "c.py",
            "a/c.py",
            "./c.py",
            "/a//c.py",
            "/a/./c.py",
        ] {
            let path = Path::new(path);
            assert_eq!(parent_of(path), path.parent(), "{path:?}");
        }
    }

    #[test]
    fn py_file_is_its_own_source() {
        assert_eq!(source_for("/a/b/m.py"), Some(PathBuf::from("/a/b/m.py")));
        assert_eq!(source_for("/a/b/M.PY"), Some(PathBuf::from("/a/b/M.PY")));
    }

    #[test]
    fn cache_file_maps_back_to_source() {
        assert_eq!(
            source_for("/a/b/__pycache__/m.cpython-311.pyc"),
            Some(PathBuf::from("/a/b/m.py"))
        );
        assert_eq!(
            source_for("/a/__pycache__/m.cpython-312.opt-1.pyc"),
            Some(PathBuf::from("/a/m.py"))
        );
    }

    #[test]
    fn no_source_for_extensions_and_legacy_pyc() {
        assert_eq!(source_for("/a/_json.cpython-311-x86_64-linux-gnu.so"), None);
        assert_eq!(source_for("/a/m.pyd"), None);
        assert_eq!(source_for("/a/m.pyw"), None);
        assert_eq!(source_for("/a/m.pyc"), None);
        assert_eq!(source_for("/a/__pycache__/m.pyc"), None);
        assert_eq!(source_for("/a/__pycache__/m.cpython-311.bad.pyc"), None);
        assert_eq!(source_for("/a/noext"), None);
    }

    #[test]
    fn reserved_names() {
        assert!(is_reserved_name("__main__"));
        assert!(is_reserved_name("__mp_main__"));
        assert!(is_reserved_name("fastautoreload"));
        assert!(is_reserved_name("fastautoreload._native"));
        assert!(!is_reserved_name("fastautoreloader"));
        assert!(!is_reserved_name("mypkg"));
        assert!(is_reserved_name("made\0by_hand"));
    }
}
