//! Where a module's source lives, from its `__file__`, by IPython's rules.

use std::path::{Path, PathBuf};

/// The `.py` file a module was loaded from, or `None` when it has no Python source.
///
/// `file` is the module's `__file__`. A `.py` file (any case) is its own source; a
/// PEP 3147 cache file (`pkg/__pycache__/mod.cpython-311.pyc`, optionally `.opt-1`)
/// maps back to `pkg/mod.py`. Anything else (C extensions, `.pyw`, legacy side-by-side
/// `.pyc` files) has no source we reload.
pub fn source_for(file: &str) -> Option<PathBuf> {
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

/// Hashes `path` the same for every spelling of it, as `Path`'s own hash does (component
/// by component, at several times the cost, for thousands of paths at load): by its
/// bytes when they are its only spelling (`is_plain`), else by its components'.
pub fn hash_spelling<H: std::hash::Hasher>(path: &Path, state: &mut H) {
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
    let Some(stem) = path.file_stem() else {
        return false;
    };
    let mut dirs = path.parent().into_iter().flat_map(Path::ancestors);
    let mut parts = name.rsplit('.');
    if stem == "__init__" {
        let package = dirs.next().and_then(Path::file_name);
        if package.is_none_or(|p| Some(p) != parts.next().map(std::ffi::OsStr::new)) {
            return false;
        }
    } else if parts.next().map(std::ffi::OsStr::new) != Some(stem) {
        return false;
    }
    parts.all(|part| dirs.next().and_then(Path::file_name) == Some(std::ffi::OsStr::new(part)))
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
