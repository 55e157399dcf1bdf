//! A small Python lexer: just enough structure to find statements and their nesting.
//!
//! It splits source into logical lines (joining bracketed and backslash-continued
//! lines), records each line's indentation, and yields names, operators and opaque
//! literals. Strings are skipped whole, including f-strings whose replacement fields
//! hold strings of their own (allowed from Python 3.12). It never fails: malformed
//! input yields fewer or odder tokens, never an error.

use std::borrow::Cow;

/// One token of a logical line, with its exact text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Token<'a> {
    Name(&'a str),
    /// An operator or delimiter (`.`, `,`, `(`, `:`, `==`, `:=`, `+=`, `->`, ...).
    Op(&'a str),
    /// A string (prefix and quotes included) or a number.
    Literal(&'a str),
}

impl<'a> Token<'a> {
    pub fn text(&self) -> &'a str {
        match self {
            Token::Name(t) | Token::Op(t) | Token::Literal(t) => t,
        }
    }
}

/// A logical line: its tokens, indentation, and first and last physical lines (1-based).
#[derive(Debug)]
pub struct Line<'a> {
    pub indent: usize,
    pub line: u32,
    pub last_line: u32,
    pub tokens: Vec<Token<'a>>,
}

/// Operators of two or three characters, longest first.
const LONG_OPS: [&str; 23] = [
    "**=", "//=", ">>=", "<<=", "...", "->", ":=", "==", "!=", "<=", ">=", "**", "//", "<<", ">>",
    "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
];

/// The UTF-8 byte order mark some editors write at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The bytes to lex for `source`: valid UTF-8 as it is; anything else (a file declared
/// latin-1, say) byte for byte as the characters U+0000 to U+00FF. Tokens are text, and
/// bytes that are not UTF-8 would otherwise all read as one empty token, so an edit of a
/// non-ASCII string or name would look like no change at all. Newlines, and so line
/// numbers, are unchanged.
pub fn lexable(source: &[u8]) -> Cow<'_, [u8]> {
    if std::str::from_utf8(source).is_ok() {
        return Cow::Borrowed(source);
    }
    let text: String = source.iter().map(|&b| char::from(b)).collect();
    Cow::Owned(text.into_bytes())
}

/// Splits `source` into logical lines.
pub fn logical_lines(source: &[u8]) -> Vec<Line<'_>> {
    // Python ignores a leading BOM; left in, it would glue onto the first name.
    let start = if source.starts_with(BOM) {
        BOM.len()
    } else {
        0
    };
    Lexer {
        src: source,
        pos: start,
        line: 1,
    }
    .run()
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: u32,
}

impl<'a> Lexer<'a> {
    fn run(mut self) -> Vec<Line<'a>> {
        // Sized for about 30 bytes a logical line: growing by doubling from nothing
        // copied the list a dozen times in a big module.
        let mut lines = Vec::with_capacity(self.src.len() / 30 + 1);
        while self.pos < self.src.len() {
            let indent = self.indentation();
            let start_line = self.line;
            let (tokens, last_line) = self.logical_line();
            if !tokens.is_empty() {
                lines.push(Line {
                    indent,
                    line: start_line,
                    last_line,
                    tokens,
                });
            }
        }
        lines
    }

    fn peek(&self, offset: usize) -> u8 {
        self.src.get(self.pos + offset).copied().unwrap_or(0)
    }

    /// Reads leading blanks of a physical line; tabs advance to the next multiple of 8.
    fn indentation(&mut self) -> usize {
        let mut width = 0;
        loop {
            match self.peek(0) {
                b' ' => width += 1,
                b'\t' => width = (width / 8 + 1) * 8,
                b'\x0c' => width = 0,
                _ => return width,
            }
            self.pos += 1;
        }
    }

    /// Tokens up to the end of the logical line (a newline outside brackets), and the
    /// physical line its last token ends on.
    fn logical_line(&mut self) -> (Vec<Token<'a>>, u32) {
        // Most logical lines hold a few tokens: one allocation instead of two or three
        // growing to it (the lines are dropped once analysed).
        let mut tokens = Vec::with_capacity(8);
        let mut depth = 0usize;
        let mut last_line = self.line;
        while self.pos < self.src.len() {
            let c = self.peek(0);
            match c {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    if depth == 0 {
                        break;
                    }
                }
                b'\r' | b' ' | b'\t' | b'\x0c' => self.pos += 1,
                b'#' => self.skip_comment(),
                b'\\' if matches!(self.peek(1), b'\n' | b'\r') => {
                    self.pos += 1;
                    if self.peek(0) == b'\r' {
                        self.pos += 1;
                    }
                    if self.peek(0) == b'\n' {
                        self.pos += 1;
                    }
                    self.line += 1;
                }
                _ => {
                    let token = self.token(c, &mut depth);
                    tokens.push(token);
                    last_line = self.line;
                }
            }
        }
        (tokens, last_line)
    }

    fn token(&mut self, c: u8, depth: &mut usize) -> Token<'a> {
        let start = self.pos;
        match c {
            b'"' | b'\'' => {
                self.string(false);
                Token::Literal(self.text(start))
            }
            b'0'..=b'9' => self.number(),
            b'.' if self.peek(1).is_ascii_digit() => self.number(),
            _ if is_name_start(c) => self.name_or_string(),
            _ => {
                match c {
                    b'(' | b'[' | b'{' => *depth += 1,
                    b')' | b']' | b'}' => *depth = depth.saturating_sub(1),
                    _ => {}
                }
                self.operator()
            }
        }
    }

    fn text(&self, start: usize) -> &'a str {
        std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("")
    }

    fn operator(&mut self) -> Token<'a> {
        let start = self.pos;
        let rest = &self.src[self.pos..];
        let width = LONG_OPS
            .iter()
            .find(|op| rest.starts_with(op.as_bytes()))
            .map_or(1, |op| op.len());
        // A stray non-ASCII byte is not an operator, but keep its UTF-8 sequence whole.
        let mut end = start + width;
        while end < self.src.len() && (self.src[end] & 0xC0) == 0x80 {
            end += 1;
        }
        self.pos = end;
        Token::Op(self.text(start))
    }

    fn skip_comment(&mut self) {
        while self.pos < self.src.len() && self.peek(0) != b'\n' {
            self.pos += 1;
        }
    }

    fn number(&mut self) -> Token<'a> {
        let start = self.pos;
        while self.pos < self.src.len() {
            let c = self.peek(0);
            let exponent_sign = matches!(c, b'+' | b'-')
                && matches!(self.src.get(self.pos.wrapping_sub(1)), Some(b'e' | b'E'));
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exponent_sign {
                self.pos += 1;
            } else {
                break;
            }
        }
        Token::Literal(self.text(start))
    }

    /// A name, or a string when the name is a string prefix glued to a quote.
    fn name_or_string(&mut self) -> Token<'a> {
        let start = self.pos;
        while self.pos < self.src.len() && is_name_char(self.peek(0)) {
            self.pos += 1;
        }
        let word = &self.src[start..self.pos];
        if matches!(self.peek(0), b'"' | b'\'') && is_string_prefix(word) {
            let formatted = word.iter().any(|c| matches!(c, b'f' | b'F' | b't' | b'T'));
            self.string(formatted);
            return Token::Literal(self.text(start));
        }
        Token::Name(std::str::from_utf8(word).unwrap_or(""))
    }

    /// Skips a string starting at the opening quote; counts the newlines it spans.
    fn string(&mut self, formatted: bool) {
        let quote = self.peek(0);
        let triple = self.peek(1) == quote && self.peek(2) == quote;
        self.pos += if triple { 3 } else { 1 };
        while self.pos < self.src.len() {
            let c = self.peek(0);
            match c {
                b'\\' => {
                    // An escaped line end (also `\r\n` in a CRLF file) continues the string.
                    if self.peek(1) == b'\r' && self.peek(2) == b'\n' {
                        self.pos += 1;
                    }
                    if self.peek(1) == b'\n' {
                        self.line += 1;
                    }
                    self.pos += 2;
                }
                b'\n' if !triple => return, // unterminated: let the line end here
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b'{' if formatted && self.peek(1) == b'{' => self.pos += 2,
                b'{' if formatted => {
                    self.pos += 1;
                    self.replacement_field();
                }
                _ if c == quote
                    && (!triple || (self.peek(1) == quote && self.peek(2) == quote)) =>
                {
                    self.pos += if triple { 3 } else { 1 };
                    return;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// Skips an f-string replacement field after its `{`, nested strings included.
    fn replacement_field(&mut self) {
        let mut depth = 1usize;
        while self.pos < self.src.len() {
            let c = self.peek(0);
            match c {
                b'"' | b'\'' => self.string(false),
                _ if is_name_start(c) => {
                    self.name_or_string();
                }
                b'{' | b'(' | b'[' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'}' | b')' | b']' => {
                    depth -= 1;
                    self.pos += 1;
                    if depth == 0 {
                        return;
                    }
                }
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
    }
}

/// Splits `tokens` at each `separator` outside brackets.
pub fn split_top_level<'t, 'a>(tokens: &'t [Token<'a>], separator: &str) -> Vec<&'t [Token<'a>]> {
    let mut depth = 0i32;
    tokens
        .split(|t| {
            match t {
                Token::Op("(" | "[" | "{") => depth += 1,
                Token::Op(")" | "]" | "}") => depth -= 1,
                _ => {}
            }
            depth == 0 && t.text() == separator && matches!(t, Token::Op(_))
        })
        .collect()
}

/// The simple statements of a logical line (split at top-level `;`).
pub fn simple_statements<'t, 'a>(tokens: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let mut parts = split_top_level(tokens, ";");
    parts.retain(|s| !s.is_empty());
    parts
}

/// The colon ending a compound statement's header: the first one outside brackets and
/// lambdas.
pub fn header_colon(tokens: &[Token<'_>]) -> Option<usize> {
    let mut depth = 0i32;
    let mut lambdas = 0;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Op("(" | "[" | "{") => depth += 1,
            Token::Op(")" | "]" | "}") => depth -= 1,
            Token::Name("lambda") if depth == 0 => lambdas += 1,
            Token::Op(":") if depth == 0 && lambdas > 0 => lambdas -= 1,
            Token::Op(":") if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_name_char(c: u8) -> bool {
    is_name_start(c) || c.is_ascii_digit()
}

fn is_string_prefix(word: &[u8]) -> bool {
    word.len() <= 2
        && word
            .iter()
            .all(|c| matches!(c.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f' | b't'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_utf8_still_make_distinct_tokens() {
        let old = lexable(b"X = '\xe9'\n").into_owned();
        let new = lexable(b"X = '\xe8'\n").into_owned();
        let token = |src: &[u8]| logical_lines(src)[0].tokens[2].text().to_owned();
        assert_ne!(token(&old), token(&new));
        assert_eq!(logical_lines(&old)[0].line, 1);
        assert!(matches!(lexable(b"x = 1\n"), Cow::Borrowed(_)));
    }

    fn names(line: &Line<'_>) -> Vec<String> {
        line.tokens
            .iter()
            .map(|t| match t {
                Token::Literal(_) => "~".to_string(),
                other => other.text().to_string(),
            })
            .collect()
    }

    #[test]
    fn splits_logical_lines_with_indent_and_line_numbers() {
        let lines = logical_lines(b"import a\n\nif x:\n    import b  # note\n");
        assert_eq!(lines.len(), 3);
        assert_eq!((lines[0].indent, lines[0].line), (0, 1));
        assert_eq!((lines[2].indent, lines[2].line), (4, 4));
        assert_eq!(names(&lines[2]), ["import", "b"]);
    }

    #[test]
    fn joins_bracketed_and_continued_lines() {
        let lines = logical_lines(b"from a import (\n    b,\n    c,\n)\nx = 1 + \\\n    2\ny\n");
        assert_eq!(lines.len(), 3);
        assert_eq!(
            names(&lines[0]),
            ["from", "a", "import", "(", "b", ",", "c", ",", ")"]
        );
        assert_eq!(lines[2].line, 7);
    }

    #[test]
    fn strings_hide_their_content() {
        let src = b"s = '''\nimport fake\n'''\nt = \"import x\"  # import y\nu = rb'\\'import'\nimport real\n";
        let lines = logical_lines(src);
        assert_eq!(lines.len(), 4);
        assert_eq!(names(&lines[3]), ["import", "real"]);
        assert_eq!(lines[3].line, 6);
    }

    #[test]
    fn f_strings_with_nested_quotes_and_fields() {
        let src = b"x = f\"{d[\"k\"]:{w}} {{literal}}\"\nimport after\n";
        let lines = logical_lines(src);
        assert_eq!(names(&lines[1]), ["import", "after"]);
    }

    #[test]
    fn escaped_line_ends_in_strings_with_crlf() {
        let lines = logical_lines(b"x = 'a\\\r\nb'\r\nimport after\r\n");
        assert_eq!(lines.len(), 2);
        assert_eq!(names(&lines[1]), ["import", "after"]);
        assert_eq!(lines[1].line, 3);
    }

    #[test]
    fn unterminated_string_does_not_swallow_the_file() {
        let lines = logical_lines(b"x = 'oops\nimport still_seen\n");
        assert_eq!(names(&lines[1]), ["import", "still_seen"]);
    }

    #[test]
    fn numbers_and_dots() {
        let lines = logical_lines(b"x = 1.5e-3 + .5\nfrom ... import y\n");
        assert_eq!(names(&lines[1]), ["from", "...", "import", "y"]);
        assert_eq!(lines[0].tokens[2], Token::Literal("1.5e-3"));
    }

    #[test]
    fn multi_character_operators_and_literal_text() {
        let lines = logical_lines(b"if (y := f(x)) == 2: z **= 3\ns = rb'a\\'b'\n");
        let expect = [
            "if", "(", "y", ":=", "f", "(", "x", ")", ")", "==", "~", ":", "z", "**=", "~",
        ];
        assert_eq!(names(&lines[0]), expect);
        assert_eq!(lines[1].tokens[2], Token::Literal("rb'a\\'b'"));
    }

    #[test]
    fn logical_lines_know_their_last_physical_line() {
        let lines = logical_lines(b"x = (\n  1,\n)  # done\ny = 'a' \\\n  'b'\n\nz = 1\n");
        assert_eq!((lines[0].line, lines[0].last_line), (1, 3));
        assert_eq!((lines[1].line, lines[1].last_line), (4, 5));
        assert_eq!((lines[2].line, lines[2].last_line), (7, 7));
    }

    #[test]
    fn a_leading_bom_is_skipped() {
        let plain = b"import a\n    \nif x:\n    y = 1\n";
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), plain].concat();
        let (a, b) = (logical_lines(plain), logical_lines(&with_bom));
        assert_eq!(names(&b[0]), ["import", "a"]);
        let shape = |l: &[Line<'_>]| -> Vec<_> {
            l.iter()
                .map(|l| (l.indent, l.line, l.last_line, names(l)))
                .collect()
        };
        assert_eq!(shape(&a), shape(&b));
    }

    #[test]
    fn a_bom_elsewhere_is_not_skipped() {
        // Only a BOM at the very start is a BOM; later it is part of the text.
        let lines = logical_lines(b"x = 1\n\xEF\xBB\xBFy = 2\n");
        assert_ne!(names(&lines[1])[0], "y");
    }
}
