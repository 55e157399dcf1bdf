//! The names a statement binds and reads when it runs.
//!
//! Reads are over-approximated (an attribute name is never a read, anything else that
//! looks like a name may be), which only ever re-runs more. Function bodies are not
//! read at definition time and are skipped; class bodies run at once and are read.
//! Attribute names (`x.name`) are kept apart: the differ uses them to tell which
//! methods a statement may call, whatever object they are reached through.

use crate::lexer::{header_colon, simple_statements, split_top_level, Line, Token};

/// What one statement binds and reads.
#[derive(Debug, Default)]
pub struct Names<'a> {
    pub binds: Vec<&'a str>,
    pub reads: Vec<&'a str>,
    /// Names whose object it changes in place (`x.append(1)`, `x.a = 1`, `x[k] = 1`).
    pub mutates: Vec<&'a str>,
    /// Names read inside the bodies of the functions it defines (when they are called).
    pub body_reads: Vec<&'a str>,
    /// Attribute names (after a `.`) it uses when it runs.
    pub attrs: Vec<&'a str>,
    /// Attribute names used inside the bodies of the functions it defines.
    pub body_attrs: Vec<&'a str>,
    pub star_import: bool,
}

impl<'a> Names<'a> {
    fn bind(&mut self, name: &'a str) {
        if !self.binds.contains(&name) {
            self.binds.push(name);
        }
    }

    fn mutate(&mut self, name: &'a str) {
        if !is_keyword(name) && !self.mutates.contains(&name) {
            self.mutates.push(name);
        }
    }

    /// Records what a function body (analysed as `body`) reads from outside itself.
    fn body_globals(&mut self, body: &Names<'a>, params: &[&'a str]) {
        let used = body
            .reads
            .iter()
            .chain(&body.body_reads)
            .chain(&body.mutates);
        for name in used {
            let local = body.binds.contains(name) || params.contains(name);
            if !local && !self.body_reads.contains(name) {
                self.body_reads.push(name);
            }
        }
        for attr in body.attrs.iter().chain(&body.body_attrs) {
            push_new(&mut self.body_attrs, attr);
        }
    }

    /// Records the attribute names in `tokens` (each name right after a `.`).
    fn note_attrs(&mut self, tokens: &[Token<'a>]) {
        for pair in tokens.windows(2) {
            if let [Token::Op("."), Token::Name(name)] = pair {
                push_new(&mut self.attrs, name);
            }
        }
    }

    fn read(&mut self, name: &'a str) {
        if !is_keyword(name) && !self.reads.contains(&name) {
            self.reads.push(name);
        }
    }

    /// Every name in `tokens` that is not an attribute (after a `.`).
    fn read_all(&mut self, tokens: &[Token<'a>]) {
        for (i, token) in tokens.iter().enumerate() {
            if let Token::Name(name) = token {
                if i == 0 || tokens[i - 1] != Token::Op(".") {
                    self.read(name);
                }
            }
        }
    }

    /// Adds what `other`, a statement of the same block run after those seen so far,
    /// binds and reads: the same lists, in the same order, as reading both in one pass.
    pub fn absorb(&mut self, other: &Names<'a>) {
        let lists = [
            (&mut self.binds, &other.binds),
            (&mut self.reads, &other.reads),
            (&mut self.mutates, &other.mutates),
            (&mut self.body_reads, &other.body_reads),
            (&mut self.attrs, &other.attrs),
            (&mut self.body_attrs, &other.body_attrs),
        ];
        for (mine, theirs) in lists {
            for name in theirs {
                push_new(mine, name);
            }
        }
        self.star_import |= other.star_import;
    }
}

fn push_new<'a>(list: &mut Vec<&'a str>, name: &'a str) {
    if !list.contains(&name) {
        list.push(name);
    }
}

/// Python's keywords: never a name read or bound. (A `match`, not a list searched: it
/// is asked for every name of every statement.)
fn is_keyword(name: &str) -> bool {
    matches!(
        name,
        "False"
            | "None"
            | "True"
            | "and"
            | "as"
            | "assert"
            | "async"
            | "await"
            | "break"
            | "class"
            | "continue"
            | "def"
            | "del"
            | "elif"
            | "else"
            | "except"
            | "finally"
            | "for"
            | "from"
            | "global"
            | "if"
            | "import"
            | "in"
            | "is"
            | "lambda"
            | "nonlocal"
            | "not"
            | "or"
            | "pass"
            | "raise"
            | "return"
            | "try"
            | "while"
            | "with"
            | "yield"
    )
}

fn is_compound(keyword: &str) -> bool {
    matches!(
        keyword,
        "if" | "elif" | "else" | "for" | "while" | "try" | "except" | "finally" | "with" | "async"
    )
}

/// The names of a statement spanning `lines` (its first line at its block's indent).
pub fn of_statement<'a>(lines: &[Line<'a>]) -> Names<'a> {
    let mut names = Names::default();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        i += 1;
        for simple in simple_statements(&line.tokens) {
            if let Some(function) = definition(simple, &mut names) {
                if let Some(params) = function {
                    // A def body runs later, when the function is called: the globals
                    // it reads then are recorded apart (not its parameters and locals).
                    let start = i;
                    while i < lines.len() && lines[i].indent > line.indent {
                        i += 1;
                    }
                    let mut body = of_statement(&lines[start..i]);
                    // `def f(): return X`: the body after the colon runs later too.
                    if let Some(inline) = header_colon(simple).and_then(|c| simple.get(c + 1..)) {
                        simple_statement(inline, &mut body);
                    }
                    names.body_globals(&body, &params);
                }
                continue;
            }
            simple_statement(simple, &mut names);
        }
    }
    names
}

/// A decorator, `def` or `class` line: records its names and, for a `def`, returns its
/// parameter names (the lines below are its body). None for any other statement.
fn definition<'a>(tokens: &[Token<'a>], names: &mut Names<'a>) -> Option<Option<Vec<&'a str>>> {
    let tokens = match tokens {
        [Token::Name("async"), rest @ ..] if rest.first() == Some(&Token::Name("def")) => rest,
        _ => tokens,
    };
    match tokens {
        [Token::Op("@"), rest @ ..] => {
            names.read_all(rest);
            names.note_attrs(rest);
            Some(None)
        }
        [Token::Name("def"), Token::Name(name), rest @ ..] => {
            names.bind(name);
            // Defaults and annotations run now; an inline body runs when called.
            let colon = header_colon(rest).unwrap_or(rest.len());
            names.note_attrs(&rest[..colon]);
            Some(Some(signature_reads(rest, names)))
        }
        [Token::Name("class"), Token::Name(name), rest @ ..] => {
            names.bind(name);
            names.read_all(rest);
            names.note_attrs(rest);
            Some(None)
        }
        _ => None,
    }
}

/// A def's defaults, annotations and return annotation are evaluated when it runs; its
/// parameter names are not reads. (An inline body after the colon is skipped.)
fn signature_reads<'a>(tokens: &[Token<'a>], names: &mut Names<'a>) -> Vec<&'a str> {
    let mut params = Vec::new();
    let mut depth = 0i32;
    let mut segment_start = true;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Op("(" | "[") => {
                depth += 1;
                segment_start = depth == 1;
            }
            Token::Op("{") => depth += 1,
            Token::Op(")" | "]" | "}") => depth -= 1,
            Token::Op(",") if depth == 1 => segment_start = true,
            Token::Op(":") if depth == 0 => return params,
            Token::Op("*" | "**" | "/") if segment_start => {}
            Token::Name(name) => {
                if segment_start && depth == 1 {
                    segment_start = false; // the parameter (or type parameter) itself
                    params.push(*name);
                } else if i == 0 || tokens[i - 1] != Token::Op(".") {
                    names.read(name);
                }
            }
            _ => segment_start = false,
        }
    }
    params
}

fn simple_statement<'a>(tokens: &[Token<'a>], names: &mut Names<'a>) {
    let Some(first) = tokens.first() else { return };
    match first {
        Token::Name("import") => return import_names(&tokens[1..], names),
        Token::Name("from") => return from_import_names(tokens, names),
        _ => names.note_attrs(tokens),
    }
    match first {
        Token::Name("del") => {
            for name in target_names(&tokens[1..], names) {
                names.bind(name);
            }
            return;
        }
        Token::Name(kw) if is_compound(kw) => return compound_header(tokens, names),
        _ => {}
    }
    walrus_binds(tokens, names);
    // `x.append(1)`, `x.attr.update(...)`: a statement calling a method on a name changes
    // that name's object, as far as anyone can tell.
    if let [Token::Name(name), Token::Op("."), ..] = tokens {
        if tokens.contains(&Token::Op("(")) && split_top_level(tokens, "=").len() == 1 {
            names.mutate(name);
        }
    }
    let parts = split_top_level(tokens, "=");
    let Some((value, targets)) = parts.split_last() else {
        return;
    };
    for target in targets {
        let target = annotation_split(target, names);
        for name in target_names(target, names) {
            names.bind(name);
        }
    }
    if let Some(op) = value.iter().position(|t| matches!(t, Token::Op(op) if op.len() >= 2 && op.ends_with('=') && !matches!(*op, "==" | "!=" | "<=" | ">=")))
    {
        // Augmented assignment: `x += 1` reads and binds `x`.
        for name in target_names(&value[..op], names) {
            names.bind(name);
            names.read(name);
        }
        names.read_all(&value[op + 1..]);
        return;
    }
    let value = if targets.is_empty() {
        annotation_split(value, names)
    } else {
        value
    };
    names.read_all(value);
}

/// `x: T` binds `x` (when assigned) and reads `T`; returns the part before the colon.
fn annotation_split<'t, 'a>(tokens: &'t [Token<'a>], names: &mut Names<'a>) -> &'t [Token<'a>] {
    let mut depth = 0i32;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Op("(" | "[" | "{") => depth += 1,
            Token::Op(")" | "]" | "}") => depth -= 1,
            Token::Op(":") if depth == 0 => {
                names.read_all(&tokens[i + 1..]);
                if let [Token::Name(name)] = &tokens[..i] {
                    names.bind(name);
                }
                return &tokens[..i];
            }
            _ => {}
        }
    }
    tokens
}

/// The plain names a target binds (`a`, `a, b`, `(a, *b)`); names used otherwise in it
/// (`a.b`, `a[i]`) are reads.
fn target_names<'a>(tokens: &[Token<'a>], names: &mut Names<'a>) -> Vec<&'a str> {
    let mut bound = Vec::new();
    // `[` less `]` before the token: inside a subscript, names are read.
    let mut open_brackets = 0i32;
    for (i, token) in tokens.iter().enumerate() {
        let subscripted = open_brackets > 0;
        match token {
            Token::Op("[") => open_brackets += 1,
            Token::Op("]") => open_brackets -= 1,
            _ => {}
        }
        let Token::Name(name) = token else { continue };
        if is_keyword(name) {
            continue;
        }
        let after_dot = i > 0 && tokens[i - 1] == Token::Op(".");
        let used = matches!(tokens.get(i + 1), Some(Token::Op("." | "[" | "(")));
        if after_dot {
            continue;
        }
        if subscripted {
            names.read(name);
        } else if used {
            // `x.a = ...`, `x[k] = ...`: the object `x` names is changed in place.
            names.read(name);
            if i == 0 {
                names.mutate(name);
            }
        } else {
            bound.push(*name);
        }
    }
    bound
}

fn walrus_binds<'a>(tokens: &[Token<'a>], names: &mut Names<'a>) {
    for pair in tokens.windows(2) {
        if let [Token::Name(name), Token::Op(":=")] = pair {
            names.bind(name);
        }
    }
}

/// `for t in x:`, `with x as t:`, `except E as t:`, `if x:` ... and an inline body.
fn compound_header<'a>(tokens: &[Token<'a>], names: &mut Names<'a>) {
    let colon = header_colon(tokens).unwrap_or(tokens.len());
    let (header, body) = (&tokens[..colon], tokens.get(colon + 1..).unwrap_or(&[]));
    walrus_binds(header, names);
    let header = match header {
        [Token::Name("async"), rest @ ..] => rest,
        _ => header,
    };
    if let [Token::Name("for"), rest @ ..] = header {
        let in_at = rest
            .iter()
            .position(|t| *t == Token::Name("in"))
            .unwrap_or(rest.len());
        for name in target_names(&rest[..in_at], names) {
            names.bind(name);
        }
        names.read_all(rest.get(in_at + 1..).unwrap_or(&[]));
    } else {
        let mut after_as = false;
        let mut depth = 0i32;
        for (i, token) in header.iter().enumerate() {
            match token {
                Token::Name("as") => after_as = true,
                Token::Op("(" | "[") if after_as => depth += 1,
                Token::Op(")" | "]") if after_as => {
                    depth -= 1;
                    after_as = depth > 0;
                }
                Token::Op(",") if after_as && depth > 0 => {}
                Token::Name(name) if after_as => {
                    names.bind(name);
                    after_as = depth > 0;
                }
                Token::Name(name) if i == 0 || header[i - 1] != Token::Op(".") => names.read(name),
                _ => after_as = false,
            }
        }
    }
    if !body.is_empty() && definition(body, names).is_none() {
        simple_statement(body, names);
    }
}

/// `import a.b` binds `a`; `import a.b as c` binds `c`.
fn import_names<'a>(tokens: &[Token<'a>], names: &mut Names<'a>) {
    for clause in tokens.split(|t| *t == Token::Op(",")) {
        match clause {
            [.., Token::Name("as"), Token::Name(alias)] => names.bind(alias),
            [Token::Name(first), ..] => names.bind(first),
            _ => {}
        }
    }
}

/// `from m import x as y, z` binds `y` and `z`; `from m import *` binds unknown names.
fn from_import_names<'a>(tokens: &[Token<'a>], names: &mut Names<'a>) {
    let Some(at) = tokens.iter().position(|t| *t == Token::Name("import")) else {
        return;
    };
    for clause in tokens[at + 1..].split(|t| *t == Token::Op(",")) {
        let clause: Vec<&Token<'_>> = clause
            .iter()
            .filter(|t| !matches!(t, Token::Op("(" | ")")))
            .collect();
        match clause.as_slice() {
            [Token::Op("*")] => names.star_import = true,
            [.., Token::Name("as"), Token::Name(alias)] => names.bind(alias),
            [Token::Name(name)] => names.bind(name),
            _ => {}
        }
    }
}
