//! A module's outline: its top-level statements (and the statements of its class
//! bodies), each with a position-independent fingerprint, its line span, and the names
//! it binds and reads when the module executes. `diff` compares two outlines and plans
//! the least re-execution that gives what a fresh import of the new source would.

mod changes;
mod diff;
mod external;
pub mod fragment;
mod names;
mod packed;
mod stars;
mod unsure;

pub use diff::{diff, diff_with, rerun, BodyPatch, Plan, Shift, Span};
pub use external::{External, Star, Via};
pub use packed::PackedOutline;

use crate::lexer::{lexable, logical_lines, Line, Token};
use names::Names;

/// What kind of statement, with what the differ needs to know about each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `def` / `async def`, decorators included.
    Def {
        name: String,
        /// Decorators and signature (everything but the body).
        head: Fingerprint,
        /// The line of the `def` keyword (after any decorators).
        def_line: u32,
    },
    /// `class`, decorators included, with its body's statements.
    Class {
        name: String,
        head: Fingerprint,
        def_line: u32,
        body: Vec<Statement>,
    },
    Other,
}

/// A statement's (or a definition head's) fingerprint: 64 bits of a hash of its tokens.
/// It is only compared with the fingerprints of the same module's other version, where a
/// collision (one chance in 2^64 per pair) is out of reach; at half a content hash, it
/// keeps the outline kept for every module of the user's small.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    fn of(bytes: &[u8]) -> Fingerprint {
        let full = blake3::hash(bytes);
        let mut first = [0; 8];
        first.copy_from_slice(&full.as_bytes()[..8]);
        Fingerprint(u64::from_le_bytes(first))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub kind: Kind,
    pub first_line: u32,
    pub last_line: u32,
    pub fingerprint: Fingerprint,
    /// Names it binds in the namespace it runs in.
    pub binds: Box<[String]>,
    /// Names it reads when it runs (not those read later, inside function bodies).
    pub reads: Box<[String]>,
    /// Names whose object it changes in place.
    pub mutates: Box<[String]>,
    /// Names read by the functions it defines, when they are called.
    pub body_reads: Box<[String]>,
    /// Attribute names (`x.name`) it uses when it runs: the methods it may call.
    pub attrs: Box<[String]>,
    /// Attribute names used by the functions it defines, when they are called.
    pub body_attrs: Box<[String]>,
    /// A `from m import *`: binds names nobody can list.
    pub star_import: bool,
    /// A `from __future__ import ...`: changes how the rest compiles.
    pub future_import: bool,
    /// A lone string: the module's docstring when it comes first.
    pub docstring: bool,
    /// An `import` or `from ... import`: running it again gives the same module objects.
    pub import: bool,
}

impl Statement {
    pub fn name(&self) -> Option<&str> {
        match &self.kind {
            Kind::Def { name, .. } | Kind::Class { name, .. } => Some(name),
            Kind::Other => None,
        }
    }
}

/// A module's outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    pub statements: Vec<Statement>,
    /// Why statement-level reloading cannot be trusted for this source, if it cannot
    /// (`global` statements, `exec`, `globals()`...): the whole module re-executes.
    pub unsure: Option<String>,
}

/// Whether a top-level line is a `match` statement (its patterns bind names in ways
/// this outline does not follow).
fn is_match_statement(line: &Line<'_>) -> bool {
    matches!(line.tokens.as_slice(), [Token::Name("match"), second, ..] if !matches!(second, Token::Op("=" | "." | "(" | "[" | ":" | ",")))
        && line.tokens.last() == Some(&Token::Op(":"))
}

impl Outline {
    pub fn parse(source: &[u8]) -> Outline {
        Outline::from_lines(&logical_lines(&lexable(source)))
    }

    pub fn from_lines(lines: &[Line<'_>]) -> Outline {
        let unsure = unsure::reason(lines);
        let top_indent = lines.first().map_or(0, |l| l.indent);
        let unsure = unsure.or_else(|| {
            lines
                .iter()
                .any(|l| l.indent == top_indent && is_match_statement(l))
                .then(|| "it has a module-level `match` statement".to_owned())
        });
        let mut statements = statements(lines, None);
        shrink(&mut statements);
        Outline { statements, unsure }
    }
}

/// Frees the spare capacity the statements were built with: outlines are kept for every
/// module of the user's for the whole session (their name lists are boxed slices, exact).
fn shrink(statements: &mut Vec<Statement>) {
    statements.shrink_to_fit();
    for statement in statements {
        if let Kind::Class { body, .. } = &mut statement.kind {
            shrink(body);
        }
    }
}

/// Splits lines into the statements of one block (all at the first line's indentation).
/// What they bind and read is added to `block` when given (a class body's statements:
/// their class's names, so the class is not read twice).
fn statements<'a>(lines: &[Line<'a>], mut block: Option<&mut Names<'a>>) -> Vec<Statement> {
    let mut result = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let end = statement_end(lines, i);
        let (statement, names) = statement(&lines[i..end]);
        if let Some(block) = block.as_deref_mut() {
            block.absorb(&names);
        }
        result.push(statement);
        i = end;
    }
    result
}

/// One past the last line of the statement starting at `start`: its block (deeper
/// lines), its continuation clauses (`elif`, `else`, `except`, `finally`), and for
/// decorators the decorated definition.
fn statement_end(lines: &[Line<'_>], start: usize) -> usize {
    let indent = lines[start].indent;
    let mut i = start;
    while first_name(&lines[i]) == Some("@") && i + 1 < lines.len() && lines[i + 1].indent == indent
    {
        i += 1;
    }
    i += 1;
    while i < lines.len() {
        let line = &lines[i];
        let continues = line.indent > indent
            || (line.indent == indent
                && matches!(
                    first_name(line),
                    Some("elif" | "else" | "except" | "finally")
                ));
        if !continues {
            break;
        }
        i += 1;
    }
    i
}

fn first_name<'a>(line: &Line<'a>) -> Option<&'a str> {
    line.tokens.first().map(Token::text)
}

fn statement<'a>(lines: &[Line<'a>]) -> (Statement, Names<'a>) {
    let first_line = lines[0].line;
    let last_line = lines.last().map_or(first_line, |l| l.last_line);
    let header = lines
        .iter()
        .position(|l| first_name(l) != Some("@"))
        .unwrap_or(0);
    let docstring = matches!(lines, [line] if matches!(line.tokens.as_slice(), [Token::Literal(text)] if is_string(text)));
    let future_import = matches!(
        lines[0].tokens.as_slice(),
        [
            Token::Name("from"),
            Token::Name("__future__"),
            Token::Name("import"),
            ..
        ]
    );
    let (kind, fingerprint, names) = match definition_keyword(&lines[header]) {
        Some((kw, name)) => {
            let head = fingerprint_of(&lines[..=header]);
            let def_line = lines[header].line;
            let body_lines = &lines[header + 1..];
            if kw == "def" {
                let kind = Kind::Def {
                    name: name.to_owned(),
                    head,
                    def_line,
                };
                (kind, fingerprint_of(lines), names::of_statement(lines))
            } else {
                // The body's statements are read once, for themselves and for the class.
                let mut names = names::of_statement(&lines[..=header]);
                let body = statements(body_lines, Some(&mut names));
                let fingerprint = class_fingerprint(head, &body);
                let kind = Kind::Class {
                    name: name.to_owned(),
                    head,
                    def_line,
                    body,
                };
                (kind, fingerprint, names)
            }
        }
        None => (
            Kind::Other,
            fingerprint_of(lines),
            names::of_statement(lines),
        ),
    };
    // A class body binds into the class, not the module.
    let binds = match &kind {
        Kind::Class { name, .. } => Box::new([name.clone()]),
        _ => owned(&names.binds),
    };
    let statement = Statement {
        kind,
        first_line,
        last_line,
        fingerprint,
        binds,
        reads: owned(&names.reads),
        mutates: owned(&names.mutates),
        body_reads: owned(&names.body_reads),
        attrs: owned(&names.attrs),
        body_attrs: owned(&names.body_attrs),
        star_import: names.star_import,
        future_import,
        docstring,
        import: matches!(
            lines[0].tokens.first(),
            Some(Token::Name("import" | "from"))
        ),
    };
    (statement, names)
}

/// A class's fingerprint, from its head's and its body statements': equal exactly when
/// the head and every body statement are (each body statement is hashed once, not also
/// as part of its class).
fn class_fingerprint(head: Fingerprint, body: &[Statement]) -> Fingerprint {
    let mut bytes = Vec::with_capacity(9 + 8 * body.len());
    bytes.push(b'c');
    bytes.extend_from_slice(&head.0.to_le_bytes());
    for statement in body {
        bytes.extend_from_slice(&statement.fingerprint.0.to_le_bytes());
    }
    Fingerprint::of(&bytes)
}

/// The names a statement keeps: its own copies, since the source goes away.
fn owned(names: &[&str]) -> Box<[String]> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

/// A hash of the statement's tokens and nesting, blind to positions, comments and
/// spacing: moving a statement or reformatting its whitespace does not change it.
fn is_string(literal: &str) -> bool {
    literal
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .starts_with(['"', '\''])
}

/// `("def" | "class", name)` for a definition's line.
fn definition_keyword<'a>(line: &Line<'a>) -> Option<(&'static str, &'a str)> {
    match line.tokens.as_slice() {
        [Token::Name("async"), Token::Name("def"), Token::Name(name), ..] => Some(("def", name)),
        [Token::Name("def"), Token::Name(name), ..] => Some(("def", name)),
        [Token::Name("class"), Token::Name(name), ..] => Some(("class", name)),
        _ => None,
    }
}

fn fingerprint_of(lines: &[Line<'_>]) -> Fingerprint {
    thread_local! {
        // One buffer per thread, reused: every statement and every definition's head is
        // fingerprinted, and a fresh buffer each time was a third of the outline's cost.
        static BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<usize>)> =
            const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    }
    BUFFERS.with_borrow_mut(|(bytes, indents)| {
        bytes.clear();
        indents.clear();
        fingerprint_bytes(lines, bytes, indents);
        let hash = Fingerprint::of(bytes);
        if bytes.capacity() > 1 << 20 {
            *bytes = Vec::new(); // a huge statement once should not stay resident
        }
        hash
    })
}

/// The bytes `fingerprint_of` hashes: each token's kind and text, and the nesting depth.
fn fingerprint_bytes(lines: &[Line<'_>], bytes: &mut Vec<u8>, indents: &mut Vec<usize>) {
    for line in lines {
        while indents.last().is_some_and(|&i| i > line.indent) {
            indents.pop();
        }
        if indents.last() != Some(&line.indent) {
            indents.push(line.indent);
        }
        bytes.push(indents.len() as u8);
        for token in &line.tokens {
            bytes.push(match token {
                Token::Name(_) => b'n',
                Token::Op(_) => b'o',
                Token::Literal(_) => b'l',
            });
            bytes.extend_from_slice(token.text().as_bytes());
            bytes.push(0);
        }
        bytes.push(b'\n');
    }
}

#[cfg(test)]
mod tests;
