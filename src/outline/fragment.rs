//! The source fragments a plan compiles: the statements to run again and the function
//! bodies to patch, each at its real line numbers (blank lines pad the gaps), so
//! tracebacks and debuggers point at the file as it is.

use super::{BodyPatch, Plan, Span};

/// A module's new source, decoded, with its line offsets.
pub struct Source<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Source<'t> {
    pub fn new(text: &'t str) -> Source<'t> {
        Source {
            text,
            starts: line_starts(text),
        }
    }

    /// Whether every span of `plan` lies within this source.
    pub fn fits(&self, plan: &Plan) -> bool {
        fits(plan, self.starts.len() - 1)
    }

    /// The statements `plan` runs (with the `__future__` imports in front), or None when
    /// it runs none. Call only for a plan that `fits`.
    pub fn run_fragment(&self, plan: &Plan) -> Option<String> {
        if plan.run.is_empty() {
            return None;
        }
        let mut spans: Vec<Span> = plan.future.iter().chain(&plan.run).copied().collect();
        spans.sort_by_key(|span| span.first);
        spans.dedup();
        let guard = plan.future.is_empty();
        Some(fragment(self.text, &self.starts, &spans, guard))
    }

    /// The definitions of every body `plan` patches, compiled together (CPython's compile
    /// has a fixed cost far above that of a small function), or None when there are none.
    pub fn bodies_fragment(&self, plan: &Plan) -> Option<String> {
        if plan.bodies.is_empty() {
            return None;
        }
        Some(bodies_fragment(
            self.text,
            &self.starts,
            &plan.future,
            &plan.bodies,
        ))
    }

    /// Whether the method `patch` is compiled inside its class (see `Block`).
    pub fn in_class(&self, patch: &BodyPatch) -> bool {
        patch.class.is_some() && needs_class(span_text(self.text, &self.starts, patch.def_span))
    }
}

/// Whether every span of `plan` lies within a file of `line_count` lines.
fn fits(plan: &Plan, line_count: usize) -> bool {
    let line_count = line_count as u32;
    let ok = |span: &Span| span.first >= 1 && span.first <= span.last && span.last <= line_count;
    plan.run.iter().chain(&plan.future).all(ok)
        && plan
            .bodies
            .iter()
            .all(|b| ok(&b.def_span) && b.first_line >= 1 && b.first_line <= b.def_span.first)
}

/// Byte offsets where each line starts (line 1 at index 0), plus the end.
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    starts.push(text.len());
    starts
}

/// The lines of `spans`, each at its own line number (blank lines in between).
///
/// A string statement first in the fragment would become the module's `__doc__`: a
/// `pass` on line 1 comes before it (`guard`: no `__future__` import, which must come
/// first, is in the fragment).
fn fragment(text: &str, starts: &[usize], spans: &[Span], guard: bool) -> String {
    let mut out = String::new();
    let mut line = 1u32;
    // The real docstring never runs partially (a changed one reloads the whole module).
    if guard && spans.first().is_some_and(|span| span.first > 1) {
        out.push_str("pass\n");
        line = 2;
    }
    for span in spans {
        let first = span.first.max(line);
        out.extend(std::iter::repeat_n('\n', (first - line) as usize));
        push_lines(&mut out, text, starts, first, span.last);
        line = span.last + 1;
    }
    out
}

/// The patched functions' definitions, each at its own lines. Their decorators are not
/// run: they become one identity decorator on the first decorator's line, so the new
/// code starts on the same line as a fresh import's would. Methods sit in a
/// `class <name>:` line just above the first patched method of that class.
///
/// The module's `__future__` imports come first, so the bodies compile as they would in
/// the file (`annotations` leaves annotations unevaluated).
fn bodies_fragment(text: &str, starts: &[usize], future: &[Span], bodies: &[BodyPatch]) -> String {
    let mut out = String::new();
    let mut line = 1u32;
    for span in future {
        pad_to(&mut out, &mut line, span.first);
        push_lines(&mut out, text, starts, span.first, span.last);
        line = span.last + 1;
    }
    let mut open = Block::None;
    for patch in bodies {
        let def = patch.def_span;
        let first = patch.first_line;
        let indent: String = text[starts[(def.first - 1) as usize]..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let block = match patch.class.as_deref() {
            Some(class) if needs_class(span_text(text, starts, def)) => {
                Block::Class(class.to_owned())
            }
            Some(_) => Block::If(indent.clone()),
            None => Block::None,
        };
        if block != open {
            if let Some(header) = block.header() {
                pad_to(&mut out, &mut line, first - 1);
                out.push_str(&header);
                line += 1;
            }
            open = block;
        }
        pad_to(&mut out, &mut line, first);
        if first < def.first {
            out.push_str(&format!("{indent}@(lambda function: function)\n"));
            line += 1;
            pad_to(&mut out, &mut line, def.first);
        }
        push_lines(&mut out, text, starts, def.first, def.last);
        line = def.last + 1;
    }
    out
}

/// What an indented method definition is compiled inside: its class, when its code
/// depends on the class (`super()`, `__class__`, private names that get mangled), or
/// else a plain `if True:` block, which compiles much faster than a class.
#[derive(PartialEq, Eq)]
enum Block {
    None,
    Class(String),
    If(String),
}

impl Block {
    fn header(&self) -> Option<String> {
        match self {
            Block::None => None,
            Block::Class(name) => Some(format!("class {name}:\n")),
            Block::If(_) => Some("if True:\n".to_owned()),
        }
    }
}

fn span_text<'t>(text: &'t str, starts: &[usize], span: Span) -> &'t str {
    let end = starts[(span.last as usize).min(starts.len() - 1)];
    &text[starts[(span.first - 1) as usize]..end]
}

/// Whether a method's code needs its class around it to compile the same.
fn needs_class(text: &str) -> bool {
    text.contains("super") || text.contains("__class__") || has_private_name(text)
}

/// A `__name` that Python mangles inside a class (not a `__dunder__`).
fn has_private_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    text.match_indices("__").any(|(i, _)| {
        if i > 0 && ident(bytes[i - 1]) {
            return false;
        }
        let end = (i..bytes.len())
            .find(|&k| !ident(bytes[k]))
            .unwrap_or(bytes.len());
        let name = &text[i..end];
        name.len() > 2 && !name.ends_with("__")
    })
}

/// Blank lines until the next line written is line `target`.
fn pad_to(out: &mut String, line: &mut u32, target: u32) {
    while *line < target {
        out.push('\n');
        *line += 1;
    }
}

fn push_lines(out: &mut String, text: &str, starts: &[usize], first: u32, last: u32) {
    let start = starts[(first - 1) as usize];
    let end = starts[(last as usize).min(starts.len() - 1)];
    out.push_str(&text[start..end]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(first: u32, last: u32) -> Span {
        Span { first, last }
    }

    const SOURCE: &str = "import os\nX = 1\n\n\ndef f():\n    return X\n\n\nclass C:\n    def m(self):\n        return super().m()\n\n    def n(self):\n        return 2\n";

    #[test]
    fn statements_keep_their_line_numbers() {
        let source = Source::new(SOURCE);
        let plan = Plan {
            run: vec![span(2, 2)],
            ..Plan::default()
        };
        assert!(source.fits(&plan));
        // A `pass` on line 1 keeps a string statement from becoming the docstring.
        assert_eq!(source.run_fragment(&plan).unwrap(), "pass\nX = 1\n");
    }

    #[test]
    fn no_fragment_for_a_plan_without_statements() {
        let source = Source::new(SOURCE);
        assert!(source.run_fragment(&Plan::default()).is_none());
        assert!(source.bodies_fragment(&Plan::default()).is_none());
    }

    #[test]
    fn a_plan_past_the_end_does_not_fit() {
        let source = Source::new(SOURCE);
        let plan = Plan {
            run: vec![span(3, 99)],
            ..Plan::default()
        };
        assert!(!source.fits(&plan));
    }

    fn body(class: Option<&str>, name: &str, first: u32, last: u32) -> BodyPatch {
        BodyPatch {
            class: class.map(str::to_owned),
            name: name.to_owned(),
            old_first_line: first,
            first_line: first,
            def_span: span(first, last),
        }
    }

    #[test]
    fn methods_compile_in_their_class_only_when_they_need_it() {
        let source = Source::new(SOURCE);
        let uses_super = body(Some("C"), "m", 10, 11);
        let plain = body(Some("C"), "n", 13, 14);
        assert!(source.in_class(&uses_super));
        assert!(!source.in_class(&plain));
        let plan = Plan {
            bodies: vec![body(None, "f", 5, 6), uses_super, plain],
            ..Plan::default()
        };
        let text = source.bodies_fragment(&plan).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[4], "def f():");
        assert_eq!(lines[8], "class C:");
        assert_eq!(lines[9], "    def m(self):");
        assert_eq!(lines[11], "if True:");
        assert_eq!(lines[12], "    def n(self):");
    }

    #[test]
    fn private_names_need_the_class_but_dunders_do_not() {
        assert!(has_private_name("return self.__secret"));
        assert!(!has_private_name("return self.__dict__"));
        assert!(!has_private_name("return a__b"));
    }
}
