//! Whether a module's namespace can be followed statically: the uses of `global`,
//! `exec`, `eval`, `globals()`, `locals()` and `vars()` that read or write names no
//! outline can list send the whole module down the full re-run.
//!
//! Only real uses count. A name that merely looks like one of these (a keyword argument
//! `eval=`, an attribute `.eval`, a parameter or a function named `eval`, a name bound by
//! an import) reads nothing behind the outline's back, and re-running a whole module for
//! it rebinds state that a statement-level reload keeps (a registry `signatures = {}`).

use crate::lexer::{Line, Token};

/// Builtins whose use hides what the code reads or binds. `vars` only without arguments
/// (`vars(obj)` is an object's `__dict__`).
const DYNAMIC: [&str; 5] = ["exec", "eval", "globals", "locals", "vars"];

/// The reason the module cannot be followed, if one of its lines really uses a
/// dynamic-namespace feature.
pub fn reason(lines: &[Line<'_>]) -> Option<String> {
    lines.iter().find_map(|line| {
        let tokens = line.tokens.as_slice();
        if matches!(tokens.first(), Some(Token::Name("import" | "from"))) {
            // `from m import eval` binds a name; it uses no builtin.
            return None;
        }
        let params = parameter_spans(tokens);
        (0..tokens.len()).find_map(|i| {
            let name = match tokens[i] {
                Token::Name("global") => return Some("it uses `global`".to_owned()),
                Token::Name(name) if DYNAMIC.contains(&name) => name,
                _ => return None,
            };
            let in_params = params.iter().any(|span| span.contains(&i));
            (is_use(tokens, i, in_params)).then(|| format!("it uses `{name}`"))
        })
    })
}

/// Whether the dynamic name at `tokens[i]` is a use of the builtin: a call or a
/// reference, not a binding of the same name or an attribute.
fn is_use(tokens: &[Token<'_>], i: usize, in_params: bool) -> bool {
    let before = i.checked_sub(1).map(|b| tokens[b]);
    let after = tokens.get(i + 1).copied();
    let bound_or_attribute = matches!(
        before,
        Some(Token::Op(".") | Token::Name("def" | "class" | "as" | "lambda"))
    ) || after == Some(Token::Op("="))
        || (in_params && matches!(before, Some(Token::Op("(" | "," | "*" | "**"))));
    if bound_or_attribute {
        return false;
    }
    // `vars(obj)` reads one object's attributes, not the namespace.
    tokens[i] != Token::Name("vars")
        || after != Some(Token::Op("("))
        || tokens.get(i + 2) == Some(&Token::Op(")"))
}

/// The token ranges that list parameters: a `def`'s parentheses, each `lambda`'s
/// parameters (up to its colon).
fn parameter_spans(tokens: &[Token<'_>]) -> Vec<std::ops::Range<usize>> {
    let mut spans: Vec<_> = def_parameters(tokens).into_iter().collect();
    for (i, _) in tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| **t == Token::Name("lambda"))
    {
        spans.push(i + 1..lambda_colon(tokens, i + 1));
    }
    spans
}

/// The index of the colon that ends a lambda's parameters starting at `start` (a
/// default value may hold brackets, and lambdas of its own).
fn lambda_colon(tokens: &[Token<'_>], start: usize) -> usize {
    let mut depth = 0usize;
    let mut lambdas = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(start) {
        match token {
            Token::Op("(" | "[" | "{") => depth += 1,
            Token::Op(")" | "]" | "}") if depth == 0 => return i,
            Token::Op(")" | "]" | "}") => depth -= 1,
            Token::Name("lambda") if depth == 0 => lambdas += 1,
            Token::Op(":") if depth == 0 && lambdas == 0 => return i,
            Token::Op(":") if depth == 0 => lambdas -= 1,
            _ => {}
        }
    }
    tokens.len()
}

/// The token indices inside a `def`'s parameter parentheses, for a `def` line.
fn def_parameters(tokens: &[Token<'_>]) -> Option<std::ops::Range<usize>> {
    let def = tokens.iter().position(|t| *t == Token::Name("def"))?;
    if def > 1 || (def == 1 && tokens[0] != Token::Name("async")) {
        return None;
    }
    let open = def + 2;
    if tokens.get(open) != Some(&Token::Op("(")) {
        return None;
    }
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::Op("(" | "[" | "{") => depth += 1,
            Token::Op(")" | "]" | "}") => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + 1..i);
                }
            }
            _ => {}
        }
    }
    Some(open + 1..tokens.len())
}

#[cfg(test)]
mod tests {
    use super::reason;
    use crate::lexer::logical_lines;

    fn unsure(source: &str) -> Option<String> {
        reason(&logical_lines(source.as_bytes()))
    }

    #[test]
    fn real_uses_are_unsure() {
        for source in [
            "exec('y = 1')\n",
            "x = eval('1 + 1')\n",
            "f = eval\n",
            "g = globals()\n",
            "def f():\n    return locals()\n",
            "d = vars()\n",
            "d = vars\n",
            "def f():\n    global X\n    X = 1\n",
            "run(exec)\n",
            "t = (eval, 1)\n",
            "x = 1 if eval else 2\n",
            "def f(a=eval):\n    pass\n",
            "f = lambda: eval('1')\n",
            "f = lambda source: exec(source)\n",
        ] {
            assert!(unsure(source).is_some(), "{source:?}");
        }
        assert_eq!(unsure("exec('x')\n").as_deref(), Some("it uses `exec`"));
        assert_eq!(
            unsure("def f():\n    global X\n").as_deref(),
            Some("it uses `global`")
        );
    }

    #[test]
    fn look_alikes_are_not_uses() {
        for source in [
            // toolz/_signatures.py: a table keyed by builtin names.
            "module_info = dict(\n    eval=[lambda source: None],\n    globals=[lambda: None],\n)\n",
            "x = obj.eval(1)\n",
            "df.eval('a + b')\n",
            "table = {'eval': 1, 'exec': 2}\n",
            "def f(eval, *, globals=None):\n    pass\n",
            "async def g(x, exec):\n    pass\n",
            "def f(*vars):\n    pass\n",
            "def eval(x):\n    return x\n",
            "class exec:\n    pass\n",
            "from builtins import eval, exec\n",
            "import numexpr as eval\n",
            "eval = None\n",
            "d = vars(obj)\n",
            "f = lambda eval: 1\n",
            "sigs = [lambda source, globals: None, lambda source, globals, locals: None]\n",
            "x = (0, lambda name, globals=None, locals=None, fromlist=None: None)\n",
            "f = lambda a=(1, 2), *vars, **exec: a\n",
            "text = 'globals() and exec'\n",
        ] {
            assert_eq!(unsure(source), None, "{source:?}");
        }
    }
}
