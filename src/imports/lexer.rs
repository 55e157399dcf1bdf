//! A small Python lexer: just enough structure to find statements and their nesting.
//!
//! It splits source into logical lines (joining bracketed and backslash-continued
//! lines), records each line's indentation, and yields names, operators and opaque
//! literals. Strings are skipped whole, including f-strings whose replacement fields
//! hold strings of their own (allowed from Python 3.12). It never fails: malformed
//! input yields fewer or odder tokens, never an error.

/// One token of a logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    Name(&'a str),
    /// A one-character operator or delimiter (`.`, `,`, `(`, `:`, `;`, `*`, ...).
    Op(u8),
    /// A string, number or multi-character operator: nothing the scanner looks into.
    Opaque,
}

/// A logical line: its tokens, indentation and first physical line (1-based).
#[derive(Debug)]
pub struct Line<'a> {
    pub indent: usize,
    pub line: u32,
    pub tokens: Vec<Token<'a>>,
}

/// Splits `source` into logical lines.
pub fn logical_lines(source: &[u8]) -> Vec<Line<'_>> {
    Lexer {
        src: source,
        pos: 0,
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
        let mut lines = Vec::new();
        while self.pos < self.src.len() {
            let indent = self.indentation();
            let start_line = self.line;
            let tokens = self.logical_line();
            if !tokens.is_empty() {
                lines.push(Line {
                    indent,
                    line: start_line,
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

    /// Tokens up to the end of the logical line (a newline outside brackets).
    fn logical_line(&mut self) -> Vec<Token<'a>> {
        let mut tokens = Vec::new();
        let mut depth = 0usize;
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
                b'"' | b'\'' => {
                    self.string(false);
                    tokens.push(Token::Opaque);
                }
                b'0'..=b'9' => {
                    self.number();
                    tokens.push(Token::Opaque);
                }
                b'.' if self.peek(1).is_ascii_digit() => {
                    self.number();
                    tokens.push(Token::Opaque);
                }
                _ if is_name_start(c) => tokens.push(self.name_or_string()),
                _ => {
                    self.pos += 1;
                    match c {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    tokens.push(Token::Op(c));
                }
            }
        }
        tokens
    }

    fn skip_comment(&mut self) {
        while self.pos < self.src.len() && self.peek(0) != b'\n' {
            self.pos += 1;
        }
    }

    fn number(&mut self) {
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
            return Token::Opaque;
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

    fn names(line: &Line<'_>) -> Vec<String> {
        line.tokens
            .iter()
            .map(|t| match t {
                Token::Name(n) => n.to_string(),
                Token::Op(c) => (*c as char).to_string(),
                Token::Opaque => "~".into(),
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
    fn unterminated_string_does_not_swallow_the_file() {
        let lines = logical_lines(b"x = 'oops\nimport still_seen\n");
        assert_eq!(names(&lines[1]), ["import", "still_seen"]);
    }

    #[test]
    fn numbers_and_dots() {
        let lines = logical_lines(b"x = 1.5e-3 + .5\nfrom ... import y\n");
        assert_eq!(names(&lines[1]), ["from", ".", ".", ".", "import", "y"]);
    }
}
