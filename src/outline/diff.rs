//! The differ: from the outline the module last ran and the outline of its new source,
//! the least work that leaves the module as a fresh import of the new source would.
//!
//! - Statements whose fingerprint is unchanged are not run again, unless code they run
//!   changed: they read a name that something re-run binds (`Y = X + 1` after `X`
//!   changed), or call a changed function, in source order.
//! - A class whose methods changed counts as changed (so `h = Handler()` runs again)
//!   only when a dunder method's code changed: `__new__`, `__init__`, `__post_init__`
//!   run on construction, and the other protocol methods run unseen (`h + 1`, `{h: 1}`,
//!   `with h:`). Any other changed method is a changed attribute name: the statements
//!   using that attribute (`Handler.compute()`, `h.compute()`) run again.
//! - A function whose body alone changed is patched, its decorators not re-run; so is a
//!   method whose body alone changed, without re-running its class statement.
//! - Any other change re-runs the whole statement (a class statement is patched into
//!   the existing class by the caller).
//! - Names bound only by removed statements are deleted.
//! - Unchanged functions and classes whose lines moved get their line numbers fixed.

use ahash::AHashSet;

use super::changes::{is_dunder, writes, Changes, EXTERNAL, REMOVED};
use super::external::External;
use super::stars::refresh_stars;
use super::{Kind, Outline, Statement};

/// Lines `first..=last` of the new source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first: u32,
    pub last: u32,
}

/// A function whose body alone changed: compile `def_span` and patch the old function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyPatch {
    /// The class it is a method of (a top-level class), if any.
    pub class: Option<String>,
    pub name: String,
    /// Where the old statement started (its `co_firstlineno`, decorators included).
    pub old_first_line: u32,
    /// Where the new statement starts, decorators included.
    pub first_line: u32,
    /// The new definition from its `def` line on (decorators left out).
    pub def_span: Span,
}

/// An unchanged function or class whose lines moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub class: Option<String>,
    pub name: String,
    pub old_first_line: u32,
    pub new_first_line: u32,
    /// The name is bound somewhere inside a compound statement (`try`, `if`, `with`...)
    /// that moved as a whole: what it names moves by the statement's shift if its own
    /// lines lay between `old_first_line` and this line.
    pub nested_until: Option<u32>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Why the whole module must run again instead, if it must.
    pub full: Option<String>,
    /// Top-level statements to run again, in source order.
    pub run: Vec<Span>,
    pub bodies: Vec<BodyPatch>,
    /// Names to remove from the module.
    pub delete: Vec<String>,
    /// Names to remove before `run` runs: what a `from m import *` run again no longer
    /// binds.
    pub unbind: Vec<String>,
    /// Names whose value or behaviour the plan changes (bound again, mutated, functions
    /// and methods whose code changed or runs changed code): what other modules' import
    /// time statements may have used.
    pub touched: Vec<String>,
    pub shifts: Vec<Shift>,
    /// `from __future__` imports, compiled in front of `run`.
    pub future: Vec<Span>,
}

impl Plan {
    fn full(reason: impl Into<String>) -> Plan {
        Plan {
            full: Some(reason.into()),
            ..Plan::default()
        }
    }

    /// Whether the plan changes nothing in the module (line numbers aside).
    pub fn is_empty(&self) -> bool {
        self.full.is_none()
            && self.run.is_empty()
            && self.bodies.is_empty()
            && self.delete.is_empty()
            && self.unbind.is_empty()
    }

    /// What the plan does, for `Reloading 'm' (...)`.
    pub fn summary(&self) -> String {
        if let Some(reason) = &self.full {
            return format!("whole module: {reason}");
        }
        let mut parts = Vec::new();
        if !self.run.is_empty() {
            parts.push(plural(self.run.len(), "statement"));
        }
        if !self.bodies.is_empty() {
            parts.push(format!("{} patched", plural(self.bodies.len(), "function")));
        }
        let removed = self.delete.len() + self.unbind.len();
        if removed > 0 {
            parts.push(format!("{} removed", plural(removed, "name")));
        }
        if parts.is_empty() {
            "nothing to run".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Plans re-running, in a module whose source did not change, the statements that bind
/// `names` (imports whose source module gave those names new values) and everything
/// that depends on them, as `diff` would for a change.
pub fn rerun(outline: &Outline, external: &External) -> Plan {
    diff_with(outline, outline, external)
}

/// What happens to one statement of the new source.
#[derive(Debug)]
pub(super) enum Action {
    /// Unchanged: the old statement `index`.
    Keep(usize),
    /// Only function bodies changed: patch these (the old statement `index`).
    Patch(usize, Vec<BodyPatch>, Vec<Shift>),
    Run,
}

/// Plans how to go from the module that ran `old` to `new`. Statements binding a name
/// in `stale` (imports of values that changed in another module) run again too.
pub fn diff(old: &Outline, new: &Outline, stale: &[String]) -> Plan {
    diff_with(old, new, &External::of_names(stale))
}

/// As `diff`, with every kind of outside change: stale `from` imports and star imports
/// that must run again (see `External`).
pub fn diff_with(old: &Outline, new: &Outline, external: &External) -> Plan {
    if let Some(reason) = new.unsure.as_ref().or(old.unsure.as_ref()) {
        return Plan::full(reason.clone());
    }
    if let Some(reason) = whole_module_change(old, new) {
        return Plan::full(reason);
    }
    let (mut actions, old_used) = classify(&old.statements, &new.statements, None);
    let removed: Vec<&Statement> = old
        .statements
        .iter()
        .zip(&old_used)
        .filter(|(_, used)| !**used)
        .map(|(s, _)| s)
        .collect();
    reorder_check(&new.statements, &mut actions);
    let mut changed = Changes::default();
    for statement in &removed {
        changed.add(statement, REMOVED);
    }
    changed.add_names(external.names.iter().map(String::as_str), EXTERNAL);
    changed.via.extend(external.via.iter());
    changed
        .via_attrs
        .extend(external.attrs.iter().map(String::as_str));
    changed
        .patched
        .extend(external.patched.iter().map(String::as_str));
    let refreshed = refresh_stars(&new.statements, &mut actions, &mut changed, external);
    spread(&new.statements, &mut actions, &mut changed);
    let mut plan = Plan::default();
    for (statement, action) in new.statements.iter().zip(actions) {
        match action {
            Action::Keep(i) => plan
                .shifts
                .extend(shifts_of(&old.statements[i], statement, None)),
            Action::Patch(_, bodies, shifts) => {
                plan.bodies.extend(bodies);
                plan.shifts.extend(shifts);
            }
            Action::Run => {
                if statement.star_import && !refreshed.contains(&statement.first_line) {
                    return Plan::full("a `from ... import *` must run again");
                }
                plan.run.push(Span {
                    first: statement.first_line,
                    last: statement.last_line,
                });
            }
        }
        if statement.future_import {
            plan.future.push(Span {
                first: statement.first_line,
                last: statement.last_line,
            });
        }
    }
    plan.delete = deleted_names(&removed, &new.statements);
    plan.unbind = external.unbound();
    plan.touched = touched(&changed);
    keep_nested_shifts_of_names_not_run(&mut plan, &new.statements);
    plan
}

/// A name bound inside a moved compound statement and again by a statement that runs
/// now holds what ran (with its new lines already): it must not be shifted.
fn keep_nested_shifts_of_names_not_run(plan: &mut Plan, statements: &[Statement]) {
    let run: Vec<&str> = statements
        .iter()
        .filter(|s| plan.run.iter().any(|span| span.first == s.first_line))
        .flat_map(|s| s.binds.iter().map(String::as_str))
        .collect();
    plan.shifts
        .retain(|shift| shift.nested_until.is_none() || !run.contains(&shift.name.as_str()));
}

/// The names whose value or behaviour the plan changes, for the modules that reach them.
fn touched(changed: &Changes<'_>) -> Vec<String> {
    let mut names: Vec<String> = changed
        .bound
        .keys()
        .chain(changed.mutated.keys())
        .chain(changed.attrs.iter())
        .map(|n| (*n).to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Changes no statement-level plan can carry: a different `__future__` import changes
/// how everything compiles; a different module docstring is `__doc__`.
fn whole_module_change(old: &Outline, new: &Outline) -> Option<String> {
    let futures = |o: &Outline| -> Vec<_> {
        o.statements
            .iter()
            .filter(|s| s.future_import)
            .map(|s| s.fingerprint)
            .collect()
    };
    if futures(old) != futures(new) {
        return Some("its `__future__` imports changed".into());
    }
    let docstring = |o: &Outline| {
        o.statements
            .first()
            .filter(|s| s.docstring)
            .map(|s| s.fingerprint)
    };
    if docstring(old) != docstring(new) {
        return Some("its docstring changed".into());
    }
    None
}

/// Spreads changes to a fixpoint. A statement runs again when code it runs changed (it
/// reads a changed name or uses a changed method's name), or when it writes a name
/// something else changed (so all writers of a name run, in source order, and the last
/// one wins as in a fresh import). A definition whose function bodies run changed code
/// changes behaviour without running: its name changes, or for a class, its methods'.
fn spread<'a>(statements: &'a [Statement], actions: &mut [Action], changed: &mut Changes<'a>) {
    for (j, (statement, action)) in statements.iter().zip(actions.iter()).enumerate() {
        let patched_class = matches!(action, Action::Patch(..))
            && matches!(statement.kind, Kind::Class { .. })
            && !rebound_elsewhere(statements, j);
        // A class patched in place keeps its identity: what changed is its methods,
        // which `class_changes` follows.
        if !matches!(action, Action::Keep(_)) && !patched_class {
            changed.add(statement, j);
        }
    }
    loop {
        let mut grew = false;
        for (j, statement) in statements.iter().enumerate() {
            if matches!(actions[j], Action::Run) {
                continue;
            }
            let reads = changed.runs_changed_code(statement, j);
            // An import gives back the same module objects, so a mutation elsewhere is no
            // reason to run it again; any other writer of a changed name runs again.
            let rewrites = if statement.import {
                statement.binds.iter().any(|w| changed.bound_by_other(w, j))
            } else {
                writes(statement).any(|w| changed.by_other(w, j))
            };
            let kept = if reads || rewrites {
                None
            } else {
                kept_changes(statement, &actions[j], j, changed)
            };
            match kept {
                Some(kept_grew) => grew |= kept_grew,
                None => {
                    actions[j] = Action::Run;
                    changed.add(statement, j);
                    grew = true;
                }
            }
        }
        grew |= rebind_what_runs_read(statements, actions, changed);
        if !grew {
            break;
        }
    }
}

/// A statement that runs again reads its names from the namespace as the module left
/// it, not as they were when it ran in a fresh import: a name bound again after it
/// (`x = 2` later, `del toolz` at the end of `toolz.curried`) holds another value, or
/// none. The last statement binding such a name before it runs again first (and the
/// later ones after it, since the name changed). Returns whether anything was added.
fn rebind_what_runs_read<'a>(
    statements: &'a [Statement],
    actions: &mut [Action],
    changed: &mut Changes<'a>,
) -> bool {
    let mut grew = false;
    for j in 0..statements.len() {
        if !matches!(actions[j], Action::Run) {
            continue;
        }
        for read in statements[j].reads.iter() {
            let bound_later = statements[j + 1..].iter().any(|s| s.binds.contains(read));
            if !bound_later {
                continue;
            }
            let before = statements[..j].iter().rposition(|s| s.binds.contains(read));
            if let Some(i) = before.filter(|&i| !matches!(actions[i], Action::Run)) {
                actions[i] = Action::Run;
                changed.add(&statements[i], i);
                grew = true;
            }
        }
    }
    grew
}

/// How statement `j`, not run again, still changes behaviour: the functions it defines
/// run changed code. None when it must run after all (a class body used a changed
/// method at class creation); else whether anything new changed.
fn kept_changes<'a>(
    statement: &'a Statement,
    action: &Action,
    j: usize,
    changed: &mut Changes<'a>,
) -> Option<bool> {
    if let Kind::Class { body, .. } = &statement.kind {
        return class_changes(statement, body, &patched_methods(action), j, changed);
    }
    let binds = statement.binds.iter().map(String::as_str);
    Some(changed.bodies_run_changed_code(statement, j) && changed.add_names(binds, j))
}

/// The methods whose bodies a class patch replaces.
fn patched_methods(action: &Action) -> Vec<&str> {
    match action {
        Action::Patch(_, bodies, _) => bodies.iter().map(|b| b.name.as_str()).collect(),
        _ => Vec::new(),
    }
}

/// Whether a statement other than `j` binds the name statement `j` binds (a class
/// `Handler = wrap(Handler)` replaces): patching in place may not reach that object.
fn rebound_elsewhere(statements: &[Statement], j: usize) -> bool {
    let binds = &statements[j].binds;
    statements
        .iter()
        .enumerate()
        .any(|(k, s)| k != j && s.binds.iter().any(|b| binds.contains(b)))
}

/// What class statement `j`, kept or patched in place, changes: each member whose code
/// changed (its body was patched, or it runs changed code) is a changed attribute; the
/// class name itself changes only with a dunder method (construction and protocols) or a
/// member this does not follow closer (a nested class, an `if` around a `def`). None
/// when the class statement must run: a class-level statement reads a changed member
/// (`alias = m`, `X = m()`), so it ran that code at class creation.
fn class_changes<'a>(
    class: &'a Statement,
    body: &'a [Statement],
    patched: &[&str],
    j: usize,
    changed: &mut Changes<'a>,
) -> Option<bool> {
    let mut grew = false;
    let mut class_changed = false;
    let mut members: Vec<&str> = Vec::new();
    for member in body {
        let is_def = matches!(member.kind, Kind::Def { .. });
        let own = is_def && member.name().is_some_and(|n| patched.contains(&n));
        if !own && !changed.bodies_run_changed_code(member, j) {
            continue;
        }
        class_changed |= !is_def;
        for name in &member.binds {
            grew |= changed.attrs.insert(name);
            class_changed |= is_dunder(name);
            members.push(name);
        }
    }
    let used_at_creation = body.iter().any(|s| {
        !matches!(s.kind, Kind::Def { .. }) && s.reads.iter().any(|r| members.contains(&r.as_str()))
    });
    if used_at_creation {
        return None;
    }
    if class_changed {
        grew |= changed.add_names(class.binds.iter().map(String::as_str), j);
    }
    Some(grew)
}

/// Names bound by removed statements that no statement of the new source binds.
fn deleted_names(removed: &[&Statement], new: &[Statement]) -> Vec<String> {
    let still_bound: AHashSet<&str> = new
        .iter()
        .flat_map(|s| s.binds.iter().map(String::as_str))
        .collect();
    let mut delete: Vec<String> = removed
        .iter()
        .flat_map(|s| s.binds.iter())
        .filter(|name| !still_bound.contains(name.as_str()) && !name.starts_with("__"))
        .cloned()
        .collect();
    delete.sort();
    delete.dedup();
    delete
}

/// Pairs each new statement with an old one: the same fingerprint (unchanged), or a
/// definition of the same name whose head (decorators, signature, bases) is unchanged
/// and whose body changed in ways that can be patched. Returns the actions and which
/// old statements were used.
fn classify(old: &[Statement], new: &[Statement], class: Option<&str>) -> (Vec<Action>, Vec<bool>) {
    let mut used = vec![false; old.len()];
    let mut actions: Vec<Action> = new
        .iter()
        .map(|s| {
            match old
                .iter()
                .enumerate()
                .position(|(i, o)| !used[i] && o.fingerprint == s.fingerprint)
            {
                Some(i) => {
                    used[i] = true;
                    Action::Keep(i)
                }
                None => Action::Run,
            }
        })
        .collect();
    for (statement, action) in new.iter().zip(actions.iter_mut()) {
        if !matches!(action, Action::Run) {
            continue;
        }
        let Some(name) = statement.name() else {
            continue;
        };
        let Some(i) = (0..old.len()).find(|&i| !used[i] && old[i].name() == Some(name)) else {
            continue;
        };
        if let Some(patch) = body_patch(&old[i], statement, class) {
            used[i] = true;
            *action = patch(i);
        }
    }
    (actions, used)
}

type PatchAction = Box<dyn FnOnce(usize) -> Action>;

/// How `old` becomes `new` by patching function bodies only, if it can.
fn body_patch(old: &Statement, new: &Statement, class: Option<&str>) -> Option<PatchAction> {
    match (&old.kind, &new.kind) {
        (
            Kind::Def { head: a, .. },
            Kind::Def {
                head: b,
                name,
                def_line,
            },
        ) if a == b => {
            let patch = BodyPatch {
                class: class.map(str::to_owned),
                name: name.clone(),
                old_first_line: old.first_line,
                first_line: new.first_line,
                def_span: Span {
                    first: *def_line,
                    last: new.last_line,
                },
            };
            Some(Box::new(move |i| Action::Patch(i, vec![patch], Vec::new())))
        }
        (
            Kind::Class {
                head: a,
                body: old_body,
                ..
            },
            Kind::Class {
                head: b,
                body: new_body,
                name,
                ..
            },
        ) if a == b && class.is_none() => {
            let (bodies, shifts) = method_patches(old_body, new_body, name)?;
            Some(Box::new(move |i| Action::Patch(i, bodies, shifts)))
        }
        _ => None,
    }
}

/// The method patches that turn class body `old` into `new`, if methods' bodies are all
/// that changed (same statements otherwise, in the same order, none reading a patched
/// method at class creation).
fn method_patches(
    old: &[Statement],
    new: &[Statement],
    class: &str,
) -> Option<(Vec<BodyPatch>, Vec<Shift>)> {
    let (actions, used) = classify(old, new, Some(class));
    if used.iter().any(|u| !u) {
        return None;
    }
    let mut last_old = None;
    let mut bodies = Vec::new();
    let mut shifts = Vec::new();
    for (statement, action) in new.iter().zip(actions) {
        let i = match action {
            Action::Run => return None,
            Action::Keep(i) => {
                shifts.extend(shifts_of(&old[i], statement, Some(class)));
                i
            }
            Action::Patch(i, patches, _) => {
                bodies.extend(patches);
                i
            }
        };
        if last_old.is_some_and(|last| i < last) {
            return None; // reordered class body: order can matter (fields, members)
        }
        last_old = Some(i);
    }
    let patched: AHashSet<&str> = bodies.iter().map(|b| b.name.as_str()).collect();
    if new
        .iter()
        .any(|s| s.reads.iter().any(|r| patched.contains(r.as_str())))
    {
        return None;
    }
    Some((bodies, shifts))
}

/// Unchanged statements whose order changed run again when their order matters: one
/// writes a name the other reads or writes.
fn reorder_check(new: &[Statement], actions: &mut [Action]) {
    let old_index = |a: &Action| match a {
        Action::Keep(i) | Action::Patch(i, ..) => Some(*i),
        Action::Run => None,
    };
    let conflict = |a: &Statement, b: &Statement| {
        writes(a).any(|w| b.reads.iter().any(|r| r == w) || writes(b).any(|x| x == w))
    };
    let mut out_of_order = Vec::new();
    for (j, statement) in new.iter().enumerate() {
        let Some(i) = old_index(&actions[j]) else {
            continue;
        };
        for (k, other) in new.iter().enumerate().skip(j + 1) {
            let Some(later) = old_index(&actions[k]) else {
                continue;
            };
            if later < i && (conflict(statement, other) || conflict(other, statement)) {
                out_of_order.extend([j, k]);
            }
        }
    }
    for j in out_of_order {
        actions[j] = Action::Run;
    }
}

/// The line fixes for an unchanged definition (a class: each of its methods) that moved.
fn shifts_of(old: &Statement, new: &Statement, class: Option<&str>) -> Vec<Shift> {
    if old.first_line == new.first_line {
        return Vec::new();
    }
    match (&old.kind, &new.kind) {
        (Kind::Def { name, .. }, Kind::Def { .. }) => vec![Shift {
            class: class.map(str::to_owned),
            name: name.clone(),
            old_first_line: old.first_line,
            new_first_line: new.first_line,
            nested_until: None,
        }],
        // Functions and classes defined inside an unchanged compound statement (a `def`
        // in a `try`'s `else`) move with it.
        (Kind::Other, Kind::Other) => new
            .binds
            .iter()
            .map(|name| Shift {
                class: class.map(str::to_owned),
                name: name.clone(),
                old_first_line: old.first_line,
                new_first_line: new.first_line,
                nested_until: Some(old.last_line),
            })
            .collect(),
        (
            Kind::Class {
                body: old_body,
                name,
                ..
            },
            Kind::Class { body: new_body, .. },
        ) if class.is_none() => {
            let mut shifts = vec![Shift {
                class: None,
                name: name.clone(),
                old_first_line: old.first_line,
                new_first_line: new.first_line,
                nested_until: None,
            }];
            for (o, n) in old_body.iter().zip(new_body) {
                shifts.extend(shifts_of(o, n, Some(name)));
            }
            shifts
        }
        _ => Vec::new(),
    }
}
