//! Reading import statements, and the block each sits in, out of logical lines.

use super::{Context, Import};
use crate::lexer::{header_colon, logical_lines, simple_statements, Line, Token};

/// Every import statement of `source`, in source order.
pub fn scan(source: &[u8]) -> Vec<Import> {
    scan_lines(&logical_lines(source))
}

/// Every import statement of already lexed source, in source order.
pub fn scan_lines(lines: &[Line<'_>]) -> Vec<Import> {
    let mut imports = Vec::new();
    let mut blocks: Vec<(usize, Block)> = Vec::new();
    for line in lines {
        while blocks
            .last()
            .is_some_and(|(indent, _)| *indent >= line.indent)
        {
            blocks.pop();
        }
        let outer = context_of(blocks.iter().map(|(_, b)| *b));
        let opened = scan_line(line, outer, &mut imports);
        if let Some(block) = opened {
            blocks.push((line.indent, block));
        }
    }
    imports
}

/// The kind of block a compound statement opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Function,
    TypeChecking,
    Other,
}

fn context_of(blocks: impl Iterator<Item = Block>) -> Context {
    let mut context = Context::Module;
    for block in blocks {
        match block {
            Block::Function => return Context::Function,
            Block::TypeChecking => context = Context::TypeChecking,
            Block::Other => {}
        }
    }
    context
}

/// Scans one logical line's statements; returns the block it opens for the lines that
/// follow (a compound header with no body on the same line).
fn scan_line(line: &Line<'_>, outer: Context, imports: &mut Vec<Import>) -> Option<Block> {
    let mut context = outer;
    let mut opened = None;
    for statement in simple_statements(&line.tokens) {
        match header(statement) {
            Some((block, body)) => {
                context = context_of([block].into_iter()).max_with(context);
                if body.is_empty() {
                    opened = Some(block);
                } else {
                    // `if TYPE_CHECKING: import x`: the body shares the header's line.
                    scan_statement(body, context, line.line, imports);
                }
            }
            None => scan_statement(statement, context, line.line, imports),
        }
    }
    opened
}

impl Context {
    /// The more restrictive of two contexts (a function inside TYPE_CHECKING never runs
    /// at import either way; Function wins since it is what calls would see).
    fn max_with(self, other: Context) -> Context {
        match (self, other) {
            (Context::Function, _) | (_, Context::Function) => Context::Function,
            (Context::TypeChecking, _) | (_, Context::TypeChecking) => Context::TypeChecking,
            _ => Context::Module,
        }
    }
}

const COMPOUND: [&str; 14] = [
    "if", "elif", "else", "for", "while", "try", "except", "finally", "with", "def", "class",
    "async", "match", "case",
];

/// For a compound statement header, the block kind and the body that follows its colon
/// on the same line (empty if the body is on the next lines).
fn header<'t, 'a>(tokens: &'t [Token<'a>]) -> Option<(Block, &'t [Token<'a>])> {
    let Token::Name(first) = tokens.first()? else {
        return None;
    };
    if !COMPOUND.contains(first) {
        return None;
    }
    // `match` and `case` are soft keywords: `match = 3` is an assignment.
    if matches!(*first, "match" | "case")
        && matches!(tokens.get(1), Some(Token::Op("=" | "." | "(")))
    {
        return None;
    }
    let colon = header_colon(tokens)?;
    let block = match *first {
        "def" => Block::Function,
        "async" if tokens.get(1) == Some(&Token::Name("def")) => Block::Function,
        "if" if is_type_checking_test(&tokens[1..colon]) => Block::TypeChecking,
        _ => Block::Other,
    };
    Some((block, &tokens[colon + 1..]))
}

/// `TYPE_CHECKING` or `typing.TYPE_CHECKING` (any module prefix).
fn is_type_checking_test(test: &[Token<'_>]) -> bool {
    matches!(test.last(), Some(Token::Name("TYPE_CHECKING")))
        && test
            .iter()
            .all(|t| matches!(t, Token::Name(_) | Token::Op(".")))
}

fn scan_statement(tokens: &[Token<'_>], context: Context, line: u32, imports: &mut Vec<Import>) {
    match tokens.first() {
        Some(Token::Name("import")) => plain_import(&tokens[1..], context, line, imports),
        Some(Token::Name("from")) => imports.extend(from_import(&tokens[1..], context, line)),
        _ => {}
    }
}

/// `import a.b.c [as x], d`
fn plain_import(tokens: &[Token<'_>], context: Context, line: u32, imports: &mut Vec<Import>) {
    for clause in tokens.split(|t| *t == Token::Op(",")) {
        let (module, rest) = dotted_name(clause);
        if module.is_empty() {
            continue;
        }
        let alias = match rest {
            [Token::Name("as"), Token::Name(alias)] => alias.to_string(),
            _ => module.split('.').next().unwrap_or_default().to_string(),
        };
        imports.push(Import {
            level: 0,
            module,
            names: Vec::new(),
            binds_module_as: Some(alias),
            context,
            line,
        });
    }
}

/// `from [.]*[dotted] import (names | (names) | *)`
fn from_import(tokens: &[Token<'_>], context: Context, line: u32) -> Option<Import> {
    let dots = tokens
        .iter()
        .take_while(|t| matches!(t, Token::Op("." | "...")))
        .count();
    let level: usize = tokens[..dots].iter().map(|t| t.text().len()).sum();
    let (module, rest) = dotted_name(&tokens[dots..]);
    let Some((Token::Name("import"), targets)) = rest.split_first() else {
        return None;
    };
    let mut names = Vec::new();
    for clause in targets.split(|t| *t == Token::Op(",")) {
        let clause: Vec<&Token<'_>> = clause
            .iter()
            .filter(|t| !matches!(t, Token::Op("(" | ")")))
            .collect();
        match clause.as_slice() {
            [Token::Op("*")] => names.push(("*".to_string(), "*".to_string())),
            [Token::Name(name)] => names.push((name.to_string(), name.to_string())),
            [Token::Name(name), Token::Name("as"), Token::Name(alias)] => {
                names.push((name.to_string(), alias.to_string()))
            }
            _ => {}
        }
    }
    Some(Import {
        level: level as u32,
        module,
        names,
        binds_module_as: None,
        context,
        line,
    })
}

/// A dotted name at the start of `tokens`, and the tokens after it.
fn dotted_name<'t, 'a>(tokens: &'t [Token<'a>]) -> (String, &'t [Token<'a>]) {
    let mut parts = Vec::new();
    let mut i = 0;
    while let Some(Token::Name(part)) = tokens.get(i) {
        if *part == "import" || *part == "as" {
            break;
        }
        parts.push(*part);
        i += 1;
        if tokens.get(i) != Some(&Token::Op(".")) {
            break;
        }
        i += 1;
    }
    (parts.join("."), &tokens[i..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(source: &str) -> Vec<String> {
        scan(source.as_bytes())
            .iter()
            .map(|i| {
                let names: Vec<String> = i
                    .names
                    .iter()
                    .map(|(n, a)| {
                        if n == a {
                            n.clone()
                        } else {
                            format!("{n}>{a}")
                        }
                    })
                    .collect();
                let binds = i
                    .binds_module_as
                    .clone()
                    .map(|a| format!(" as {a}"))
                    .unwrap_or_default();
                format!(
                    "{}{}{} [{}] {:?}@{}",
                    ".".repeat(i.level as usize),
                    i.module,
                    binds,
                    names.join(","),
                    i.context,
                    i.line
                )
            })
            .collect()
    }

    #[test]
    fn plain_and_from_imports_with_aliases() {
        let s = "import os, a.b.c as abc\nfrom x.y import p, q as r\n";
        assert_eq!(
            summary(s),
            [
                "os as os [] Module@1",
                "a.b.c as abc [] Module@1",
                "a.b.c as abc [] Module@1"
            ][..2]
                .iter()
                .map(|s| s.to_string())
                .chain(["x.y [p,q>r] Module@2".to_string()])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn plain_dotted_import_binds_the_top_package() {
        assert_eq!(summary("import a.b.c\n"), ["a.b.c as a [] Module@1"]);
    }

    #[test]
    fn relative_star_and_parenthesised_imports() {
        let s = "from . import sibling\nfrom ..pkg import *\nfrom .m import (\n    a,\n    b as c,\n)\n";
        assert_eq!(
            summary(s),
            [
                ".  [sibling] Module@1".replace("  ", " "),
                "..pkg [*] Module@2".into(),
                ".m [a,b>c] Module@3".into()
            ]
        );
    }

    #[test]
    fn contexts_function_type_checking_and_conditional() {
        let s = "\
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from heavy import Model
else:
    import light
try:
    import fast
except ImportError:
    import slow
def f():
    import lazy
    if x:
        import deeper
class C:
    import in_class
async def g(): import inline_in_async
if typing.TYPE_CHECKING: import inline_tc
import after
";
        let got = summary(s);
        let expect = [
            "typing [TYPE_CHECKING] Module@1",
            "heavy [Model] TypeChecking@3",
            "light as light [] Module@5",
            "fast as fast [] Module@7",
            "slow as slow [] Module@9",
            "lazy as lazy [] Function@11",
            "deeper as deeper [] Function@13",
            "in_class as in_class [] Module@15",
            "inline_in_async as inline_in_async [] Function@16",
            "inline_tc as inline_tc [] TypeChecking@17",
            "after as after [] Module@18",
        ];
        assert_eq!(got, expect);
    }

    #[test]
    fn imports_in_strings_and_comments_are_not_imports() {
        let s = "'''\nimport no\n'''\n# import no2\nx = 'import no3'; import yes\n";
        assert_eq!(summary(s), ["yes as yes [] Module@5"]);
    }

    #[test]
    fn soft_keywords_and_lambdas_do_not_open_blocks() {
        let s = "match = 1\nf = lambda x: x\nif cond(lambda y: y): import z\nimport top\n";
        assert_eq!(summary(s), ["z as z [] Module@3", "top as top [] Module@4"]);
    }

    #[test]
    fn from_import_of_attribute_named_like_keyword_is_ignored_gracefully() {
        assert!(summary("from\n").is_empty());
        assert!(summary("import\n").is_empty());
        assert_eq!(summary("from a import\n"), ["a [] Module@1"]);
    }

    #[test]
    fn a_leading_bom_changes_no_import() {
        let s = "import os\nfrom . import x as y\ndef f():\n    import lazy\n";
        let bom = format!("\u{feff}{s}");
        assert_eq!(summary(&bom), summary(s));
        assert_eq!(summary(&bom)[0], "os as os [] Module@1");
    }
}
