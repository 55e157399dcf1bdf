//! A module's import list as the table keeps it between changes: one byte string.
//!
//! As structs, `import os` and `from pkg import a as b` take some 370 bytes (two 88-byte
//! `Import`s and seven small string allocations); packed they take about 35. The list is
//! unpacked only when the import graph is built or a change is compared with it. The
//! encoding is canonical (one list, one byte string), so comparing packed lists compares
//! the lists.

use super::{Context, Import};
use crate::varint;

/// An import list, packed (see the module comment). Empty lists allocate nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedImports(Box<[u8]>);

impl PackedImports {
    pub fn pack(imports: &[Import]) -> PackedImports {
        let mut out = Vec::new();
        for import in imports {
            write_import(&mut out, import);
        }
        PackedImports(out.into_boxed_slice())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether this is the packed form of `imports`.
    pub fn holds(&self, imports: &[Import]) -> bool {
        *self == PackedImports::pack(imports)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn unpack(&self) -> Vec<Import> {
        PackedImports::unpack_from(&self.0)
    }

    /// Unpacks what `as_bytes` gave (kept elsewhere, as `Kept` does).
    pub fn unpack_from(bytes: &[u8]) -> Vec<Import> {
        let mut reader = Reader { bytes, at: 0 };
        let mut imports = Vec::new();
        while reader.at < reader.bytes.len() {
            match read_import(&mut reader) {
                Some(import) => imports.push(import),
                None => break, // cannot happen: the bytes were written by `pack`
            }
        }
        imports
    }
}

fn write_import(out: &mut Vec<u8>, import: &Import) {
    let context = match import.context {
        Context::Module => 0,
        Context::Function => 1,
        Context::TypeChecking => 2,
    };
    // The context and whether the statement binds the module, in one byte.
    let binds = u8::from(import.binds_module_as.is_some());
    out.push(context | binds << 2);
    write_number(out, u64::from(import.level));
    write_number(out, u64::from(import.line));
    write_text(out, &import.module);
    if let Some(bound) = &import.binds_module_as {
        write_text(out, bound);
    }
    write_number(out, import.names.len() as u64);
    for (name, bound_as) in &import.names {
        write_text(out, name);
        // Most names are bound under their own name: 0 says so.
        if bound_as == name {
            write_number(out, 0);
        } else {
            write_number(out, bound_as.len() as u64 + 1);
            out.extend_from_slice(bound_as.as_bytes());
        }
    }
}

fn read_import(reader: &mut Reader<'_>) -> Option<Import> {
    let flags = reader.byte()?;
    let context = match flags & 3 {
        0 => Context::Module,
        1 => Context::Function,
        _ => Context::TypeChecking,
    };
    let level = u32::try_from(reader.number()?).ok()?;
    let line = u32::try_from(reader.number()?).ok()?;
    let module = reader.text()?;
    let binds_module_as = if flags & 4 != 0 {
        Some(reader.text()?)
    } else {
        None
    };
    let count = reader.number()?;
    let mut names = Vec::new();
    for _ in 0..count {
        let name = reader.text()?;
        let bound_as = match reader.number()? {
            0 => name.clone(),
            len => reader.chars(usize::try_from(len - 1).ok()?)?,
        };
        names.push((name, bound_as));
    }
    Some(Import {
        level,
        module,
        names,
        binds_module_as,
        context,
        line,
    })
}

/// LEB128: seven bits a byte, low bits first.
fn write_number(out: &mut Vec<u8>, n: u64) {
    varint::write(out, n);
}

fn write_text(out: &mut Vec<u8>, text: &str) {
    write_number(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn number(&mut self) -> Option<u64> {
        varint::read(self.bytes, &mut self.at)
    }

    fn text(&mut self) -> Option<String> {
        let len = usize::try_from(self.number()?).ok()?;
        self.chars(len)
    }

    fn chars(&mut self, len: usize) -> Option<String> {
        let end = self.at.checked_add(len)?;
        let text = std::str::from_utf8(self.bytes.get(self.at..end)?).ok()?;
        self.at = end;
        Some(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imports::scan;

    fn round_trip(source: &str) -> Vec<Import> {
        let imports = scan(source.as_bytes());
        let packed = PackedImports::pack(&imports);
        assert_eq!(packed.unpack(), imports, "{source}");
        assert!(packed.holds(&imports));
        imports
    }

    #[test]
    fn every_kind_of_import_comes_back_as_it_was() {
        round_trip("import os\nimport a.b.c as d, e\n");
        round_trip("from . import x\nfrom ..pkg.sub import (y as z, w)\nfrom m import *\n");
        round_trip("def f():\n    import json\nif TYPE_CHECKING:\n    from t import T\n");
        round_trip("from é import ü as ö\n");
        let many: String = (0..300).map(|i| format!("import m{i}\n")).collect();
        assert_eq!(round_trip(&many)[299].line, 300);
    }

    #[test]
    fn no_imports_take_no_memory() {
        let packed = PackedImports::pack(&[]);
        assert!(packed.is_empty());
        assert!(packed.unpack().is_empty());
    }

    #[test]
    fn packed_lists_are_equal_only_for_equal_lists() {
        let a = PackedImports::pack(&scan(b"from m import x as y\n"));
        let b = PackedImports::pack(&scan(b"from m import x\n"));
        let c = PackedImports::pack(&scan(b"from m import x as y\n"));
        assert_ne!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn a_typical_module_packs_small() {
        let packed = PackedImports::pack(&scan(b"import os\nfrom genpkg import m1 as previous\n"));
        assert!(packed.0.len() < 40, "{} bytes", packed.0.len());
    }
}
