//! Finding a module's imports from its source, without Python.
//!
//! `crate::lexer` splits source into logical lines; `scan` reads the import statements
//! out of them, with the names each binds and where it sits (top level, inside a function,
//! under `if TYPE_CHECKING`).

mod packed;
mod scan;

pub use packed::PackedImports;
pub use scan::{scan, scan_lines};

/// Where an import statement sits, which decides when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Runs when the module executes (top level, class bodies, `try`/`if` blocks).
    Module,
    /// Inside a function: runs when the function is called.
    Function,
    /// Under `if TYPE_CHECKING:`: never runs.
    TypeChecking,
}

/// One imported module, and the names the statement binds from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Leading dots of a relative import (0 for absolute).
    pub level: u32,
    /// The dotted module name as written (empty for `from . import x`).
    pub module: String,
    /// `from` imports: `(name, bound_as)` pairs (`*` for a star import). Empty for
    /// `import a.b [as x]`, which binds the module itself.
    pub names: Vec<(String, String)>,
    /// For `import a.b as x`: `x`; for `import a.b`: `a`. None for `from` imports.
    pub binds_module_as: Option<String>,
    pub context: Context,
    pub line: u32,
}

impl Import {
    /// The absolute name of the imported module, resolving relative imports against
    /// `package` (the importing module's `__package__`). None if it climbs above the
    /// top-level package.
    pub fn absolute_module(&self, package: &str) -> Option<String> {
        if self.level == 0 {
            return Some(self.module.clone());
        }
        let mut base: Vec<&str> = if package.is_empty() {
            Vec::new()
        } else {
            package.split('.').collect()
        };
        // Each dot past the first climbs one package; the top-level package is the limit.
        let up = self.level as usize - 1;
        if up >= base.len() {
            return None;
        }
        base.truncate(base.len() - up);
        if !self.module.is_empty() {
            base.push(&self.module);
        }
        Some(base.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relative(level: u32, module: &str) -> Import {
        Import {
            level,
            module: module.into(),
            names: vec![],
            binds_module_as: None,
            context: Context::Module,
            line: 1,
        }
    }

    #[test]
    fn resolves_relative_imports_against_the_package() {
        assert_eq!(
            relative(1, "config").absolute_module("pkg.sub").as_deref(),
            Some("pkg.sub.config")
        );
        assert_eq!(
            relative(2, "config").absolute_module("pkg.sub").as_deref(),
            Some("pkg.config")
        );
        assert_eq!(
            relative(1, "").absolute_module("pkg").as_deref(),
            Some("pkg")
        );
        assert_eq!(
            relative(0, "os.path").absolute_module("pkg").as_deref(),
            Some("os.path")
        );
        assert_eq!(relative(3, "x").absolute_module("pkg.sub"), None);
        assert_eq!(relative(1, "x").absolute_module(""), None);
    }
}
