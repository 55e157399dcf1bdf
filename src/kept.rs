//! What the module table keeps, between changes, of the content each module runs: its
//! imports (for the import graph) and, for the user's own modules, its outline (for the
//! differ). Both packed, in one allocation: the table holds one per module for the
//! whole session, and each allocation costs its header and rounding besides its bytes.

use crate::imports::{Import, PackedImports};
use crate::outline::{Outline, PackedOutline};
use crate::varint;

/// The length of the packed imports, then their bytes, then the packed outline's bytes
/// if there is an outline (a packed outline is never empty). Nothing known: no bytes,
/// and no allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept(Box<[u8]>);

impl Kept {
    pub fn new(imports: &PackedImports, outline: Option<&PackedOutline>) -> Kept {
        let imports = imports.as_bytes();
        let outline = outline.map_or(&[][..], PackedOutline::as_bytes);
        if imports.is_empty() && outline.is_empty() {
            return Kept::default();
        }
        let mut bytes = Vec::with_capacity(10 + imports.len() + outline.len());
        varint::write(&mut bytes, imports.len() as u64);
        bytes.extend_from_slice(imports);
        bytes.extend_from_slice(outline);
        Kept(bytes.into_boxed_slice())
    }

    pub fn imports(&self) -> Vec<Import> {
        PackedImports::unpack_from(self.parts().0)
    }

    /// Whether the imports kept are `imports`.
    pub fn holds_imports(&self, imports: &[Import]) -> bool {
        self.parts().0 == PackedImports::pack(imports).as_bytes()
    }

    pub fn outline(&self) -> Option<Outline> {
        let outline = self.parts().1;
        (!outline.is_empty()).then(|| PackedOutline::unpack_from(outline))
    }

    /// Whether an outline is kept (without unpacking it).
    pub fn outline_is_known(&self) -> bool {
        !self.parts().1.is_empty()
    }

    /// The imports' bytes and the outline's.
    fn parts(&self) -> (&[u8], &[u8]) {
        let mut at = 0;
        let len = varint::read(&self.0, &mut at).unwrap_or(0) as usize;
        let rest = &self.0[at.min(self.0.len())..];
        rest.split_at(len.min(rest.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_table::analyze;

    fn kept(source: &str, with_outline: bool) -> (Kept, Vec<Import>, Outline) {
        let (imports, outline) = analyze(source.as_bytes());
        let packed = PackedOutline::pack(&outline);
        let kept = Kept::new(
            &PackedImports::pack(&imports),
            with_outline.then_some(&packed),
        );
        (kept, imports, (*outline).clone())
    }

    #[test]
    fn keeps_imports_and_outline_in_one_allocation() {
        let (kept, imports, outline) = kept("import os\nfrom a import b as c\nX = os.sep\n", true);
        assert_eq!(kept.imports(), imports);
        assert!(kept.holds_imports(&imports));
        assert_eq!(kept.outline(), Some(outline));
    }

    #[test]
    fn an_installed_module_keeps_its_imports_only() {
        let (kept, imports, _) = kept("import json\n", false);
        assert_eq!(kept.imports(), imports);
        assert_eq!(kept.outline(), None);
    }

    #[test]
    fn long_import_lists_and_nothing_at_all() {
        let source: String = (0..300).map(|i| format!("import m{i}\n")).collect();
        let (kept, imports, outline) = kept(&source, true);
        assert_eq!(kept.imports().len(), 300);
        assert!(kept.holds_imports(&imports));
        assert_eq!(kept.outline(), Some(outline));
        let nothing = Kept::default();
        assert!(nothing.imports().is_empty() && nothing.outline().is_none());
        assert!(nothing.holds_imports(&[]));
    }
}
