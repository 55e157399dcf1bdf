//! An outline packed into a few hundred bytes, for keeping.
//!
//! The module table keeps the outline of what every module of the user's runs for the
//! whole session, yet reads one only when that module changes. Kept as structs, an
//! outline costs a heap string per name and a boxed list per name list (about 1.7 kB for
//! a five-statement module); packed, each distinct name is stored once per module, every
//! use of it is a one-byte index, a byte says which of a statement's six name lists are
//! not empty, and fingerprints take 8 bytes: the same outline takes 163 bytes (about 1.1
//! times its source). Packing is lossless: `unpack(pack(o)) == o`.

use ahash::AHashMap;

use super::{Fingerprint, Kind, Outline, Statement};
use crate::varint;

/// An outline in its kept form (see the module comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedOutline(Box<[u8]>);

const OTHER: u8 = 0;
const DEF: u8 = 1;
const CLASS: u8 = 2;
const STAR_IMPORT: u8 = 1 << 2;
const FUTURE_IMPORT: u8 = 1 << 3;
const DOCSTRING: u8 = 1 << 4;
const IMPORT: u8 = 1 << 5;

impl PackedOutline {
    pub fn pack(outline: &Outline) -> PackedOutline {
        let mut body = Writer::default();
        body.statements(&outline.statements);
        // The name table first, so that unpacking knows every name before its uses.
        let mut packed = Writer::default();
        packed.varint(body.table.len());
        for name in &body.table {
            packed.text(name);
        }
        match &outline.unsure {
            Some(reason) => {
                packed.out.push(1);
                packed.text(reason);
            }
            None => packed.out.push(0),
        }
        packed.out.extend_from_slice(&body.out);
        PackedOutline(packed.out.into_boxed_slice())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn unpack(&self) -> Outline {
        PackedOutline::unpack_from(&self.0)
    }

    /// Unpacks what `as_bytes` gave (kept elsewhere, as `Kept` does).
    pub fn unpack_from(bytes: &[u8]) -> Outline {
        let mut reader = Reader {
            bytes,
            at: 0,
            table: Vec::new(),
        };
        let count = reader.varint();
        reader.table = (0..count).map(|_| reader.text()).collect();
        let unsure = (reader.byte() == 1).then(|| reader.text());
        let statements = reader.statements();
        Outline { statements, unsure }
    }

    /// Bytes kept.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A statement's name lists, in the order they are packed.
fn name_lists(s: &Statement) -> [&[String]; 6] {
    [
        &s.binds,
        &s.reads,
        &s.mutates,
        &s.body_reads,
        &s.attrs,
        &s.body_attrs,
    ]
}

#[derive(Default)]
struct Writer<'o> {
    out: Vec<u8>,
    names: AHashMap<&'o str, usize>,
    table: Vec<&'o str>,
}

impl<'o> Writer<'o> {
    fn statements(&mut self, statements: &'o [Statement]) {
        self.varint(statements.len());
        for statement in statements {
            self.statement(statement);
        }
    }

    fn statement(&mut self, s: &'o Statement) {
        let flags = [
            (s.star_import, STAR_IMPORT),
            (s.future_import, FUTURE_IMPORT),
            (s.docstring, DOCSTRING),
            (s.import, IMPORT),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, bit)| acc | bit);
        let kind = match s.kind {
            Kind::Other => OTHER,
            Kind::Def { .. } => DEF,
            Kind::Class { .. } => CLASS,
        };
        self.out.push(kind | flags);
        self.varint(s.first_line as usize);
        self.varint(s.last_line.saturating_sub(s.first_line) as usize);
        self.fingerprint(s.fingerprint);
        match &s.kind {
            Kind::Other => {}
            Kind::Def {
                name,
                head,
                def_line,
            } => self.definition(name, head, *def_line),
            Kind::Class {
                name,
                head,
                def_line,
                body,
            } => {
                self.definition(name, head, *def_line);
                self.statements(body);
            }
        }
        // Most of the six lists are empty: one byte says which are not.
        let lists = name_lists(s);
        let present = lists
            .iter()
            .enumerate()
            .filter(|(_, list)| !list.is_empty())
            .fold(0u8, |acc, (i, _)| acc | 1 << i);
        self.out.push(present);
        for list in lists.iter().filter(|list| !list.is_empty()) {
            self.varint(list.len());
            for name in list.iter() {
                self.name(name);
            }
        }
    }

    fn definition(&mut self, name: &'o str, head: &Fingerprint, def_line: u32) {
        self.name(name);
        self.fingerprint(*head);
        self.varint(def_line as usize);
    }

    fn fingerprint(&mut self, fingerprint: Fingerprint) {
        self.out.extend_from_slice(&fingerprint.0.to_le_bytes());
    }

    fn name(&mut self, name: &'o str) {
        let next = self.table.len();
        let index = *self.names.entry(name).or_insert(next);
        if index == next {
            self.table.push(name);
        }
        self.varint(index);
    }

    fn text(&mut self, text: &str) {
        self.varint(text.len());
        self.out.extend_from_slice(text.as_bytes());
    }

    fn varint(&mut self, value: usize) {
        varint::write(&mut self.out, value as u64);
    }
}

/// Reads what `Writer` wrote; the bytes never come from anywhere else, so a malformed
/// input is a bug of ours (indexing panics, caught at the binding's boundary).
struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
    table: Vec<String>,
}

impl Reader<'_> {
    fn statements(&mut self) -> Vec<Statement> {
        let count = self.varint();
        (0..count).map(|_| self.statement()).collect()
    }

    fn statement(&mut self) -> Statement {
        let tag = self.byte();
        let first_line = self.varint() as u32;
        let last_line = first_line + self.varint() as u32;
        let fingerprint = self.fingerprint();
        let kind = match tag & 0b11 {
            DEF => {
                let (name, head, def_line) = self.definition();
                Kind::Def {
                    name,
                    head,
                    def_line,
                }
            }
            CLASS => {
                let (name, head, def_line) = self.definition();
                Kind::Class {
                    name,
                    head,
                    def_line,
                    body: self.statements(),
                }
            }
            _ => Kind::Other,
        };
        let present = self.byte();
        let mut lists = (0..6).map(|i| {
            if present & 1 << i != 0 {
                self.names()
            } else {
                Box::default()
            }
        });
        let mut next = || lists.next().unwrap_or_default();
        Statement {
            kind,
            first_line,
            last_line,
            fingerprint,
            binds: next(),
            reads: next(),
            mutates: next(),
            body_reads: next(),
            attrs: next(),
            body_attrs: next(),
            star_import: tag & STAR_IMPORT != 0,
            future_import: tag & FUTURE_IMPORT != 0,
            docstring: tag & DOCSTRING != 0,
            import: tag & IMPORT != 0,
        }
    }

    fn definition(&mut self) -> (String, Fingerprint, u32) {
        let name = self.name();
        let head = self.fingerprint();
        (name, head, self.varint() as u32)
    }

    fn names(&mut self) -> Box<[String]> {
        let count = self.varint();
        (0..count).map(|_| self.name()).collect()
    }

    fn name(&mut self) -> String {
        let index = self.varint();
        self.table[index].clone()
    }

    fn fingerprint(&mut self) -> Fingerprint {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(&self.bytes[self.at..self.at + 8]);
        self.at += 8;
        Fingerprint(u64::from_le_bytes(bytes))
    }

    fn text(&mut self) -> String {
        let len = self.varint();
        let text = &self.bytes[self.at..self.at + len];
        self.at += len;
        String::from_utf8_lossy(text).into_owned()
    }

    fn byte(&mut self) -> u8 {
        let byte = self.bytes[self.at];
        self.at += 1;
        byte
    }

    fn varint(&mut self) -> usize {
        let value = varint::read(self.bytes, &mut self.at).expect("bytes written by `Writer`");
        value as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(source: &str) -> (Outline, PackedOutline) {
        let outline = Outline::parse(source.as_bytes());
        let packed = PackedOutline::pack(&outline);
        assert_eq!(packed.unpack(), outline, "source:\n{source}");
        (outline, packed)
    }

    #[test]
    fn packing_loses_nothing() {
        round_trip("");
        round_trip("\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n");
        round_trip("from os import *\nimport sys\nx = sys.argv\nx.append(1)\n");
        round_trip(
            "@decorator(arg)\nasync def f(a, b=1):\n    return a + g(b).attr\n\n\n\
             class C(Base, metaclass=M):\n    x = 1\n\n    def m(self):\n        \
             return super().m() + self.y\n\n    class Inner:\n        def n(self):\n            \
             pass\n",
        );
        let (outline, _) = round_trip("x = eval('1')\n");
        assert!(outline.unsure.is_some());
    }

    #[test]
    fn large_line_numbers_and_many_names_survive() {
        let mut source = "\n".repeat(70_000);
        for i in 0..300 {
            source.push_str(&format!("name_{i} = other_{i} + name_{}\n", i / 2));
        }
        let (outline, _) = round_trip(&source);
        assert_eq!(outline.statements[0].first_line, 70_001);
    }

    #[test]
    fn packed_is_a_fraction_of_the_struct_form() {
        let source = "import os\nfrom pkg import m1 as previous\n\nVALUE = 2\n\n\n\
                      def work(x):\n    return x + VALUE\n\n\nclass Thing2:\n    \
                      def method(self):\n        return work(1)\n";
        let (outline, packed) = round_trip(source);
        let statements = outline.statements.len() + 1; // the method, in the class body
        let struct_form = statements * std::mem::size_of::<Statement>();
        assert!(packed.len() * 3 < struct_form, "{} bytes", packed.len());
    }
}
