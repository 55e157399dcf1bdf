use super::*;

fn outline(source: &str) -> Outline {
    Outline::parse(source.as_bytes())
}

fn plan(old: &str, new: &str) -> Plan {
    diff(&outline(old), &outline(new), &[])
}

fn run_lines(plan: &Plan) -> Vec<(u32, u32)> {
    plan.run.iter().map(|s| (s.first, s.last)).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn splits_statements_with_decorators_clauses_and_spans() {
    let o = outline(
        "import os\n\n@deco\n@other(1)\ndef f(a, b=X):\n    return a\n\nif A:\n    x = 1\nelif B:\n    x = 2\nelse:\n    x = 3\nclass C(Base):\n    y = 1\n    def m(self):\n        return 2\n",
    );
    let spans: Vec<(u32, u32)> = o
        .statements
        .iter()
        .map(|s| (s.first_line, s.last_line))
        .collect();
    assert_eq!(spans, [(1, 1), (3, 6), (8, 13), (14, 17)]);
    match &o.statements[1].kind {
        Kind::Def { name, def_line, .. } => assert_eq!((name.as_str(), *def_line), ("f", 5)),
        other => panic!("{other:?}"),
    }
    match &o.statements[3].kind {
        Kind::Class { body, .. } => assert_eq!(body.len(), 2),
        other => panic!("{other:?}"),
    }
    assert!(o.unsure.is_none());
}

#[test]
fn binds_and_reads() {
    let o = outline(
        "import a.b, c as d\nfrom m import x as y, z\nP = Q = f(R.attr, key=S)\nT: Ann = U\nV += W\nobj.field = Z\nfor i, j in items: pass\nwith open(p) as fh: pass\ndef g(a: Hint = Default, *args, **kw) -> Ret:\n    return Body\nclass K(Base, metaclass=Meta):\n    attr = Val\n    def m(self, v=Dflt): return Inner\n(w := compute())\ndel Gone\n",
    );
    let s = &o.statements;
    assert_eq!(*s[0].binds, ["a", "d"]);
    assert_eq!(*s[1].binds, ["y", "z"]);
    assert_eq!(sorted(s[2].binds.to_vec()), ["P", "Q"]);
    // Keyword argument names count as reads: over-approximating only re-runs more.
    assert_eq!(sorted(s[2].reads.to_vec()), ["R", "S", "f", "key"]);
    assert_eq!(
        (s[3].binds.to_vec(), sorted(s[3].reads.to_vec())),
        (
            vec!["T".to_string()],
            vec!["Ann".to_string(), "U".to_string()]
        )
    );
    assert_eq!(
        (s[4].binds.to_vec(), sorted(s[4].reads.to_vec())),
        (
            vec!["V".to_string()],
            vec!["V".to_string(), "W".to_string()]
        )
    );
    assert!(s[5].binds.is_empty());
    assert_eq!(sorted(s[5].reads.to_vec()), ["Z", "obj"]);
    assert_eq!(sorted(s[6].binds.to_vec()), ["i", "j"]);
    assert_eq!(*s[7].binds, ["fh"]);
    assert_eq!(*s[8].binds, ["g"]);
    assert_eq!(sorted(s[8].reads.to_vec()), ["Default", "Hint", "Ret"]);
    assert_eq!(*s[9].binds, ["K"]);
    assert_eq!(
        sorted(s[9].reads.to_vec()),
        ["Base", "Dflt", "Meta", "Val", "metaclass"]
    );
    assert_eq!(*s[10].binds, ["w"]);
    assert_eq!(*s[11].binds, ["Gone"]);
}

#[test]
fn syntax_the_parser_must_not_choke_on() {
    let source = "\
async def fetch(url):\n    async with session() as s:\n        return await s.get(f\"{url!r:>{width}}\")\n\
match command:\n    case [\"go\", direction]:\n        pass\n    case _:\n        pass\n\
if (n := len(data)) > 10: big = True\n\
s = f\"{d[\"key\"]}\"\n\
def first[T](items: list[T]) -> T:\n    return items[0]\n\
class Box[T]:\n    item: T\n\
type Alias = list[int]\n\
lam = lambda x: x + 1\n\
@dataclass(frozen=True)\nclass P:\n    x: int = 0\n";
    let o = outline(source);
    let names: Vec<Option<&str>> = o.statements.iter().map(Statement::name).collect();
    assert_eq!(
        names,
        [
            Some("fetch"),
            None,
            None,
            None,
            Some("first"),
            Some("Box"),
            None,
            None,
            Some("P")
        ]
    );
    assert!(o.statements[2].binds.contains(&"n".to_string()));
    assert_eq!(o.statements[8].first_line, 17);
    assert!(o.unsure.as_deref().is_some_and(|r| r.contains("match")));
}

#[test]
fn whitespace_and_comment_changes_run_nothing() {
    let p = plan(
        "x = 1\ndef f():\n    return x\n",
        "x = 1  # one\n\n\ndef f():\n    # hi\n    return x\n",
    );
    assert!(p.run.is_empty() && p.bodies.is_empty() && p.delete.is_empty() && p.full.is_none());
    assert_eq!(p.shifts.len(), 1);
    assert_eq!(
        (p.shifts[0].old_first_line, p.shifts[0].new_first_line),
        (2, 4)
    );
    assert_eq!(p.summary(), "nothing to run");
}

#[test]
fn definitions_inside_a_moved_compound_statement_move_with_it() {
    let body = "try:\n    import itertools\nexcept ImportError:\n    pass\nelse:\n    def f():\n        return 1\n";
    let p = plan(
        &format!("X = 1\n{body}"),
        &format!("X = 1\nY = 2\nZ = 3\n{body}"),
    );
    let f = p.shifts.iter().find(|s| s.name == "f").expect("f moves");
    assert_eq!(
        (f.old_first_line, f.new_first_line, f.nested_until),
        (2, 4, Some(8))
    );
    // A name the moved statement binds and a statement that runs binds again is left to
    // what ran.
    let p = plan(&format!("{body}f = 0\n"), &format!("\n{body}f = 1\n"));
    assert!(p.shifts.iter().all(|s| s.name != "f"), "{:?}", p.shifts);
}

#[test]
fn a_changed_function_body_is_patched_not_run() {
    let p = plan(
        "@deco\ndef f():\n    return 1\nTABLE = 5\n",
        "@deco\ndef f():\n    return 2\nTABLE = 5\n",
    );
    assert!(p.run.is_empty());
    assert_eq!(p.bodies.len(), 1);
    assert_eq!(p.bodies[0].name, "f");
    assert_eq!(p.bodies[0].old_first_line, 1);
    assert_eq!(
        (p.bodies[0].def_span.first, p.bodies[0].def_span.last),
        (2, 3)
    );
    assert_eq!(p.summary(), "1 function patched");
}

#[test]
fn a_changed_decorator_runs_the_definition() {
    let p = plan(
        "@a\ndef f():\n    return 1\n",
        "@b\ndef f():\n    return 1\n",
    );
    assert_eq!(run_lines(&p), [(1, 3)]);
    assert!(p.bodies.is_empty());
}

#[test]
fn dependents_of_a_changed_binding_run_in_order_but_function_bodies_do_not() {
    let old = "X = 1\ndef f():\n    return X\ndef g(v=X):\n    return v\nY = X + 1\nZ = 3\n";
    let new = "X = 2\ndef f():\n    return X\ndef g(v=X):\n    return v\nY = X + 1\nZ = 3\n";
    assert_eq!(run_lines(&plan(old, new)), [(1, 1), (4, 5), (6, 6)]);
}

#[test]
fn a_call_to_a_patched_function_runs_again() {
    let old = "def build():\n    return 1\nTABLE = build()\n";
    let new = "def build():\n    return 2\nTABLE = build()\n";
    let p = plan(old, new);
    assert_eq!(p.bodies.len(), 1);
    assert_eq!(run_lines(&p), [(3, 3)]);
}

#[test]
fn method_bodies_are_patched_and_other_class_changes_run_the_class() {
    let old = "class C:\n    a = 1\n    def m(self):\n        return 1\n    def n(self):\n        return 1\n";
    let p = plan(old, "class C:\n    a = 1\n    def m(self):\n        return 2\n    def n(self):\n        return 1\n");
    assert!(p.run.is_empty());
    assert_eq!(p.bodies.len(), 1);
    assert_eq!(
        (p.bodies[0].class.as_deref(), p.bodies[0].name.as_str()),
        (Some("C"), "m")
    );
    let attr = plan(old, "class C:\n    a = 2\n    def m(self):\n        return 1\n    def n(self):\n        return 1\n");
    assert_eq!(run_lines(&attr), [(1, 6)]);
    let field = plan(
        "@dataclass\nclass P:\n    x: int\n",
        "@dataclass\nclass P:\n    x: int\n    y: int = 2\n",
    );
    assert_eq!(run_lines(&field), [(1, 4)]);
    let base = plan("class C(A):\n    pass\n", "class C(B):\n    pass\n");
    assert_eq!(run_lines(&base), [(1, 2)]);
    let member = plan(
        "class E(Enum):\n    A = 1\n",
        "class E(Enum):\n    A = 1\n    B = 2\n",
    );
    assert_eq!(run_lines(&member), [(1, 3)]);
    let removed_method = plan(
        old,
        "class C:\n    a = 1\n    def m(self):\n        return 1\n",
    );
    assert_eq!(run_lines(&removed_method), [(1, 4)]);
}

#[test]
fn removed_definitions_are_deleted_unless_bound_elsewhere() {
    let p = plan(
        "def f(): pass\ndef g(): pass\nh = 1\n",
        "def g(): pass\nf = 2\n",
    );
    assert_eq!(p.delete, ["h"]);
    assert_eq!(run_lines(&p), [(2, 2)]);
}

#[test]
fn reading_a_removed_name_runs_again() {
    let p = plan("A = 1\nB = A\n", "B = A\n");
    assert_eq!(p.delete, ["A"]);
    assert_eq!(run_lines(&p), [(1, 1)]);
}

#[test]
fn global_exec_and_star_imports_fall_back_to_the_whole_module() {
    assert!(plan("x = 1\n", "def f():\n    global x\n    x = 2\n")
        .full
        .is_some());
    assert!(plan("x = 1\n", "exec('y = 1')\n").full.is_some());
    assert!(plan("from m import *\n", "from n import *\n")
        .full
        .is_some());
    assert!(plan("from m import *\nx = 1\n", "from m import *\nx = 2\n")
        .full
        .is_none());
}

#[test]
fn reordering_statements_that_bind_the_same_name_runs_them() {
    let p = plan("X = 1\nX = 2\n", "X = 2\nX = 1\n");
    assert_eq!(run_lines(&p), [(1, 1), (2, 2)]);
    let q = plan("A = 1\nB = 2\n", "B = 2\nA = 1\n");
    assert!(q.run.is_empty());
}

#[test]
fn future_imports_are_listed_for_compilation() {
    let p = plan(
        "from __future__ import annotations\nx = 1\n",
        "from __future__ import annotations\nx = 2\n",
    );
    assert_eq!(p.future, [Span { first: 1, last: 1 }]);
    assert_eq!(run_lines(&p), [(2, 2)]);
}

#[test]
fn rerun_runs_the_binding_imports_and_what_reads_them() {
    let o = outline("from config import BATCH, OTHER\nDOUBLE = BATCH * 2\ndef get():\n    return BATCH\nUNRELATED = 1\n");
    let p = rerun(&o, &External::of_names(&["BATCH".to_string()]));
    assert_eq!(run_lines(&p), [(1, 1), (2, 2)]);
    assert!(p.bodies.is_empty() && p.delete.is_empty());
}

#[test]
fn stale_imports_run_again_with_the_changes() {
    let old = "from lib import VALUE\nRESULT = VALUE + 1\nOTHER = 2\n";
    let new = "from lib import VALUE\nRESULT = VALUE + 100\nOTHER = 2\n";
    let p = diff(&outline(old), &outline(new), &["VALUE".to_string()]);
    assert_eq!(run_lines(&p), [(1, 1), (2, 2)]);
}

#[test]
fn all_writers_of_a_changed_name_run_and_the_last_wins() {
    // `X = 1; X = 2` -> `X = 3; X = 2`: the later binder runs too.
    assert_eq!(
        run_lines(&plan("X = 1\nX = 2\n", "X = 3\nX = 2\n")),
        [(1, 1), (2, 2)]
    );
    // `N = 10; N += 1` -> `N += 2`: the earlier binder runs first.
    assert_eq!(
        run_lines(&plan("N = 10\nN += 1\n", "N = 10\nN += 2\n")),
        [(1, 1), (2, 2)]
    );
    // A removed binder: the kept ones run again.
    let p = plan("X = 1\nY = X\nX = 2\n", "X = 1\nY = X\n");
    assert_eq!(run_lines(&p), [(1, 1), (2, 2)]);
    assert!(p.delete.is_empty());
}

#[test]
fn a_body_patch_becomes_a_run_when_something_else_rebinds_the_name() {
    let old = "def f():\n    return 1\nf = wrap(f)\n";
    let new = "def f():\n    return 2\nf = wrap(f)\n";
    let p = plan(old, new);
    assert!(p.bodies.is_empty());
    assert_eq!(run_lines(&p), [(1, 2), (3, 3)]);
}

#[test]
fn mutations_count_as_writes() {
    let p = plan("REG = []\nREG.append(1)\n", "REG = []\nREG.append(2)\n");
    assert_eq!(run_lines(&p), [(1, 1), (2, 2)]);
    let q = plan(
        "REG = []\nREG.append(1)\nobj.attr = 3\n",
        "REG = []\nobj.attr = 3\n",
    );
    assert_eq!(run_lines(&q), [(1, 1)]);
    assert!(q.delete.is_empty());
}

#[test]
fn calls_of_functions_whose_bodies_read_a_changed_name_run_again() {
    let old = "X = 1\ndef f():\n    return X\nY = f()\nZ = 5\n";
    let new = "X = 2\ndef f():\n    return X\nY = f()\nZ = 5\n";
    assert_eq!(run_lines(&plan(old, new)), [(1, 1), (4, 4)]);
}

#[test]
fn reordered_reader_and_writer_run_again() {
    let p = plan("X = 1\nY = X\nX = 2\n", "X = 1\nX = 2\nY = X\n");
    assert_eq!(run_lines(&p), [(1, 1), (2, 2), (3, 3)]);
}

#[test]
fn future_import_and_docstring_changes_reload_the_whole_module() {
    assert!(
        plan("x = 1\n", "from __future__ import annotations\nx = 1\n")
            .full
            .is_some()
    );
    assert!(plan("\"doc\"\nx = 1\n", "\"other\"\nx = 1\n")
        .full
        .is_some());
    assert!(plan("# c\n\"doc\"\nx = 1\n", "# c\nx = 1\n").full.is_some());
}

#[test]
fn set_defaults_and_tuple_with_targets() {
    let o = outline("def f(x={A, B}):\n    pass\nwith cm() as (a, b):\n    pass\n");
    assert_eq!(sorted(o.statements[0].reads.to_vec()), ["A", "B"]);
    assert_eq!(sorted(o.statements[1].binds.to_vec()), ["a", "b"]);
}

#[test]
fn a_leading_bom_changes_nothing_in_the_outline() {
    let source = "import os\n\nclass C:\n    def m(self):\n        return 1\nX = C()\n";
    let bom = format!("\u{feff}{source}");
    assert_eq!(outline(&bom), outline(source));
    assert_eq!(*outline(&bom).statements[0].binds, ["os"]);
    // Adding or removing a BOM is no edit.
    let p = plan(source, &bom);
    assert!(p.run.is_empty() && p.bodies.is_empty() && p.shifts.is_empty() && p.full.is_none());
}

/// A module with a `Handler` class and a module-level singleton; `{init}`, `{compute}`
/// and `{extra}` are filled in by each test.
const HANDLER: &str = "\
class Handler:
    def __init__(self):
        self.state = {init}
    def compute(self):
        return {compute}
{extra}
handler = Handler()
";

fn handler_source(init: &str, compute: &str, extra: &str) -> String {
    HANDLER
        .replace("{init}", init)
        .replace("{compute}", compute)
        .replace("{extra}", extra)
}

/// The first line of each statement that runs again.
fn run_starts(plan: &Plan) -> Vec<u32> {
    plan.run.iter().map(|s| s.first).collect()
}

#[test]
fn a_method_edit_does_not_rebuild_a_singleton() {
    let old = handler_source("[]", "1", "");
    let new = handler_source("[]", "2", "");
    let p = plan(&old, &new);
    assert!(p.run.is_empty(), "{:?}", p.run);
    assert_eq!(p.bodies.len(), 1);
    assert_eq!(p.bodies[0].name, "compute");
}

#[test]
fn an_init_edit_rebuilds_the_singleton() {
    let p = plan(
        &handler_source("[]", "1", ""),
        &handler_source("{}", "1", ""),
    );
    assert_eq!(run_starts(&p), [7]);
    assert_eq!(p.bodies.len(), 1);
    assert_eq!(p.bodies[0].name, "__init__");
}

#[test]
fn a_new_or_post_init_edit_rebuilds_the_singleton() {
    for method in ["__new__", "__post_init__", "__call__", "__init_subclass__"] {
        let source = |v: u32| {
            format!(
                "@dataclass\nclass P:\n    x: int = 0\n    def {method}(self):\n        return {v}\np = P()\n"
            )
        };
        assert_eq!(run_starts(&plan(&source(1), &source(2))), [6], "{method}");
    }
}

#[test]
fn a_dataclass_field_added_runs_the_class_and_rebuilds_the_singleton() {
    let old = "@dataclass\nclass P:\n    x: int = 0\n    def m(self):\n        return 1\np = P()\n";
    let new = "@dataclass\nclass P:\n    x: int = 0\n    y: int = 1\n    def m(self):\n        return 1\np = P()\n";
    assert_eq!(run_lines(&plan(old, new)), [(1, 6), (7, 7)]);
}

#[test]
fn a_method_called_from_init_rebuilds_the_singleton() {
    let extra = |v: u32| format!("    def setup(self):\n        return {v}\n");
    let source = |v: u32| handler_source("self.setup()", "1", &extra(v));
    assert_eq!(run_starts(&plan(&source(1), &source(2))), [9]);
    // Through `cls.` in `__new__` too, and transitively through a second method.
    let chain = |v: u32| {
        format!(
            "class H:\n    def __new__(cls):\n        return cls.make()\n    @classmethod\n    def make(cls):\n        return cls.helper()\n    @classmethod\n    def helper(cls):\n        return {v}\nh = H()\n"
        )
    };
    assert_eq!(run_starts(&plan(&chain(1), &chain(2))), [10]);
}

#[test]
fn a_top_level_use_of_a_changed_method_runs_again() {
    for use_ in [
        "v = Handler.compute(None)",
        "v = Handler().compute()",
        "v = handler.compute()",
        "v = getattr(handler, 'compute')()",
    ] {
        let old = handler_source("[]", "1", "") + use_ + "\n";
        let new = handler_source("[]", "2", "") + use_ + "\n";
        assert_eq!(run_starts(&plan(&old, &new)), [8], "{use_}");
    }
    // A method of the same name elsewhere does not make an unrelated attribute run.
    let old = handler_source("[]", "1", "") + "v = handler.state\n";
    let new = handler_source("[]", "2", "") + "v = handler.state\n";
    assert!(plan(&old, &new).run.is_empty());
}

#[test]
fn a_call_of_a_function_whose_body_changed_runs_again() {
    let old = "def f():\n    return 1\nY = f()\nZ = 2\n";
    let new = "def f():\n    return 2\nY = f()\nZ = 2\n";
    assert_eq!(run_lines(&plan(old, new)), [(3, 3)]);
    // Also when the function calls a changed method, by attribute.
    let helper = "def helper(h):\n    return h.compute()\nY = helper(handler)\n";
    let old = handler_source("[]", "1", "") + helper;
    let new = handler_source("[]", "2", "") + helper;
    assert_eq!(run_starts(&plan(&old, &new)), [10]);
}

#[test]
fn a_method_reading_a_changed_global_is_a_changed_method_not_a_changed_class() {
    let source =
        |x: u32| format!("X = {x}\n") + &handler_source("[]", "X", "") + "v = handler.compute()\n";
    assert_eq!(run_starts(&plan(&source(1), &source(2))), [1, 9]);
    // The same global read in `__init__` rebuilds the singleton.
    let source = |x: u32| format!("X = {x}\n") + &handler_source("X", "1", "");
    assert_eq!(run_starts(&plan(&source(1), &source(2))), [1, 8]);
}

#[test]
fn a_changed_dunder_method_changes_the_class() {
    // Protocol methods run unseen (`handler + 1`), so the singleton is rebuilt and what
    // reads it runs again.
    let extra = |v: u32| format!("    def __add__(self, other):\n        return {v}\n");
    let source = |v: u32| handler_source("[]", "1", &extra(v)) + "total = handler + 1\n";
    assert_eq!(run_starts(&plan(&source(1), &source(2))), [9, 10]);
}

#[test]
fn a_class_level_use_of_a_changed_method_runs_the_class() {
    let source = |x: u32| {
        format!("X = {x}\nclass C:\n    def m(self):\n        return X\n    alias = m\nc = C()\n")
    };
    assert_eq!(run_starts(&plan(&source(1), &source(2))), [1, 2, 6]);
}

#[test]
fn a_subclass_follows_its_base_construction() {
    let source = |v: u32| {
        format!("class B:\n    def __init__(self):\n        self.v = {v}\n    def m(self):\n        return {v}\nclass S(B):\n    pass\ns = S()\n")
    };
    let method_only = "class B:\n    def __init__(self):\n        self.v = 1\n    def m(self):\n        return 2\nclass S(B):\n    pass\ns = S()\n";
    assert!(plan(&source(1), method_only).run.is_empty());
    assert_eq!(run_starts(&plan(&source(1), &source(2))), [6, 8]);
}

#[test]
fn a_class_rebound_elsewhere_runs_as_before() {
    let source = |v: u32| handler_source("[]", &v.to_string(), "") + "Handler = wrap(Handler)\n";
    let p = plan(&source(1), &source(2));
    assert_eq!(run_starts(&p), [1, 7, 8]);
}

#[test]
fn inline_function_bodies_are_read_when_called() {
    let old = "X = 1\ndef f(): return X\nY = f()\n";
    let new = "X = 2\ndef f(): return X\nY = f()\n";
    assert_eq!(run_lines(&plan(old, new)), [(1, 1), (3, 3)]);
}

fn star(line: u32, binds: &[&str], changed: &[&str], gone: &[&str]) -> External {
    let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
    External {
        names: Vec::new(),
        stars: vec![Star {
            module: "pkg.more".into(),
            line,
            binds: owned(binds),
            changed: owned(changed),
            gone: owned(gone),
        }],
        ..External::default()
    }
}

const STAR_IMPORTER: &str = "from .more import *\nfrom .recipes import *\nY = chunked(1)\n\n\ndef take():\n    return new()\n";

#[test]
fn a_star_import_gaining_names_runs_alone() {
    let o = outline(STAR_IMPORTER);
    let p = rerun(&o, &star(1, &["chunked", "new"], &["new"], &["old"]));
    assert!(p.full.is_none(), "{:?}", p.full);
    // `Y` reads `chunked`, whose value did not change; `take` reads `new` only when called.
    assert_eq!(run_lines(&p), [(1, 1)]);
    assert_eq!(p.unbind, ["old"]);
    assert_eq!(p.summary(), "1 statement, 1 name removed");
}

#[test]
fn readers_of_names_a_star_import_changes_run_again() {
    let o = outline(STAR_IMPORTER);
    let p = rerun(&o, &star(1, &["chunked"], &["chunked"], &[]));
    assert_eq!(run_lines(&p), [(1, 1), (3, 3)]);
    let p = rerun(&o, &star(1, &["chunked"], &[], &["chunked"]));
    assert_eq!(run_lines(&p), [(1, 1), (3, 3)]);
}

#[test]
fn a_later_binding_of_a_star_imported_name_runs_after_it_again() {
    let o = outline("from .more import *\n\n\ndef chunked():\n    return 0\n");
    let p = rerun(&o, &star(1, &["chunked", "new"], &["new"], &[]));
    assert_eq!(run_lines(&p), [(1, 1), (4, 5)]);
}

#[test]
fn a_name_another_star_import_binds_now_is_not_removed() {
    let mut e = star(1, &["a"], &[], &["moved"]);
    e.stars.push(Star {
        module: "pkg.recipes".into(),
        line: 2,
        binds: vec!["moved".into()],
        changed: vec!["moved".into()],
        gone: Vec::new(),
    });
    let p = rerun(&outline(STAR_IMPORTER), &e);
    assert!(p.unbind.is_empty());
    assert_eq!(run_lines(&p), [(1, 1), (2, 2)]);
}

#[test]
fn a_star_import_whose_own_text_changed_still_runs_the_module_whole() {
    let old = outline("from .more import *\nX = 1\n");
    let new = outline("from .other import *\nX = 1\n");
    assert!(diff_with(&old, &new, &star(1, &["a"], &["a"], &[]))
        .full
        .is_some());
}

fn reaching(via: &[&str], attrs: &[&str]) -> External {
    External {
        via: via
            .iter()
            .map(|n| Via {
                name: n.to_string(),
                toward: attrs.iter().map(|a| a.to_string()).collect(),
            })
            .collect(),
        attrs: attrs.iter().map(|n| n.to_string()).collect(),
        ..External::default()
    }
}

#[test]
fn a_call_into_a_changed_module_through_a_module_object_runs_again() {
    // toolz/__init__.py: the registry of `_signatures` is filled by this call.
    let o = outline(
        "from . import functoolz\nfunctoolz._sigs.create_signature_registry()\nX = functoolz.other()\nY = len([1])\n",
    );
    let p = rerun(
        &o,
        &reaching(
            &["functoolz"],
            &["create_signature_registry", "module_info"],
        ),
    );
    assert!(p.full.is_none());
    // `X` reads `functoolz`, which the call may have changed (a method call counts as a
    // mutation of what it is called on); `Y` reads nothing that changed.
    assert_eq!(run_lines(&p), [(2, 2), (3, 3)]);
    // The same attribute reached from a name that is no module of the path: nothing runs.
    let p = rerun(
        &o,
        &reaching(&["elsewhere"], &["create_signature_registry"]),
    );
    assert!(p.run.is_empty());
}

#[test]
fn a_function_whose_body_reaches_a_changed_module_reruns_its_callers() {
    let o = outline("import m\n\n\ndef setup():\n    m.fill()\n\n\nsetup()\nY = 1\n");
    let p = rerun(&o, &reaching(&["m"], &["fill"]));
    assert_eq!(run_lines(&p), [(8, 8)]);
    assert!(p.bodies.is_empty());
}

#[test]
fn touched_names_are_what_changed_value_or_behaviour() {
    let p = plan(
        "A = 1\nB = 2\n\n\ndef f():\n    return A\n\n\ndef g():\n    return 0\n",
        "A = 3\nB = 2\n\n\ndef f():\n    return A\n\n\ndef g():\n    return 0\n",
    );
    assert_eq!(p.touched, ["A", "f"]);
    let p = plan("def g():\n    return 0\n", "def g():\n    return 1\n");
    assert_eq!(p.touched, ["g"]);
}

#[test]
fn readers_of_an_object_patched_elsewhere_run_again_but_not_its_import() {
    let o = outline("from .lib import scale\n\nSIZE = scale() * 10\nFIXED = 3\n");
    let external = External {
        patched: vec!["scale".into()],
        ..External::default()
    };
    let p = rerun(&o, &external);
    assert_eq!(run_lines(&p), [(3, 3)]);
    assert!(rerun(&o, &External::default()).is_empty());
}

#[test]
fn a_statement_run_again_sees_the_names_it_saw_in_a_fresh_import() {
    // toolz/curried/__init__.py deletes the module it built its names from.
    let o = outline("import toolz\nacc = toolz.curry(toolz.acc)\nOTHER = 1\ndel toolz\n");
    let p = rerun(&o, &reaching(&["toolz"], &["curry"]));
    assert_eq!(run_lines(&p), [(1, 1), (2, 2), (4, 4)]);
    // A value bound again later: its earlier binding runs first, then the later one.
    let p = plan(
        "x = 1\ny = f(x)\nx = 2\n\n\ndef f(v):\n    return v\n",
        "x = 1\ny = f(x)\nx = 2\n\n\ndef f(v):\n    return v + 1\n",
    );
    assert_eq!(run_lines(&p), [(1, 1), (2, 2), (3, 3)]);
}

#[test]
fn a_module_reached_through_an_attribute_path_needs_that_path() {
    // `toolz.merge` in `toolz/curried/exceptions.py` is toolz's own `merge`, not that of
    // `toolz.curried`, which is reached as `toolz.curried`.
    let o = outline("import toolz\n\n\ndef merge(d):\n    return toolz.merge(d)\n\n\nDOC = merge.__doc__\nX = toolz.curried.merge\n");
    let external = External {
        via: vec![Via {
            name: "toolz".into(),
            toward: vec!["curried".into()],
        }],
        attrs: vec!["merge".into()],
        ..External::default()
    };
    assert_eq!(run_lines(&rerun(&o, &external)), [(9, 9)]);
}

#[test]
fn a_class_reads_what_its_whole_text_read_in_one_pass_reads() {
    // A class's names are gathered from its body's statements (read once); they must be
    // the lists one pass over the class's whole text gives, in the same order.
    let source = "@register(Kind.A, *opts)\nclass C(Base, metaclass=Meta):\n    x: T = make(y)\n    items.append(x)\n    if FLAG:\n        z = [w for w in ws]\n    else:\n        z = helper.build(q)\n    @staticmethod\n    def m(a=DEFAULT, *, b: Hint = None) -> Out:\n        return a + GLOBAL + self.attr\n    class Inner(Mixin):\n        k = load(x).value\n        def n(self):\n            return OTHER.thing()\n    from pkg import *\n";
    let text = lexable(source.as_bytes());
    let lines = logical_lines(&text);
    let whole = names::of_statement(&lines);
    let o = outline(source);
    let [class] = o.statements.as_slice() else {
        panic!("{:?}", o.statements)
    };
    assert!(matches!(class.kind, Kind::Class { .. }));
    let listed = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(class.reads.to_vec(), listed(&whole.reads));
    assert_eq!(class.mutates.to_vec(), listed(&whole.mutates));
    assert_eq!(class.body_reads.to_vec(), listed(&whole.body_reads));
    assert_eq!(class.attrs.to_vec(), listed(&whole.attrs));
    assert_eq!(class.body_attrs.to_vec(), listed(&whole.body_attrs));
    assert_eq!(class.star_import, whole.star_import);
    assert!(whole.reads.len() > 10 && whole.body_reads.contains(&"GLOBAL"));
    assert!(whole.star_import && whole.mutates.contains(&"items"));
}

#[test]
fn a_class_fingerprint_follows_its_head_and_each_body_statement() {
    let fp = |source: &str| outline(source).statements[0].fingerprint;
    let base = fp("class C(B):\n    x = 1\n    def m(self):\n        return 2\n");
    let respaced = fp("class C( B ):\n\n    x = 1  # one\n    def m(self):\n        return 2\n");
    assert_eq!(base, respaced);
    for changed in [
        "class C(A):\n    x = 1\n    def m(self):\n        return 2\n",
        "class C(B):\n    x = 2\n    def m(self):\n        return 2\n",
        "class C(B):\n    x = 1\n    def m(self):\n        return 3\n",
        "class C(B):\n    def m(self):\n        return 2\n    x = 1\n",
        "class C(B):\n    x = 1\n    def m(self):\n        return 2\n    y = 1\n",
        "class C(B):\n    x = 1\n    def m(self):\n        pass\n        return 2\n",
    ] {
        assert_ne!(fp(changed), base, "{changed}");
    }
}
