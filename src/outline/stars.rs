//! Star imports an unchanged module runs again because the module they import from
//! exports other names now (`External::stars`).

use super::changes::Changes;
use super::diff::Action;
use super::external::External;
use super::Statement;

/// Marks the statements holding the star imports `external` names to run again (only
/// unchanged ones: a star import whose own text changed runs the whole module), with
/// what each binds: the names whose value changes count as changed for their readers;
/// any other statement binding a name the import binds runs again too, so the one that
/// comes last in the source wins again. Returns the first lines of those statements.
pub(super) fn refresh_stars<'a>(
    statements: &'a [Statement],
    actions: &mut [Action],
    changed: &mut Changes<'a>,
    external: &'a External,
) -> Vec<u32> {
    let mut refreshed = Vec::new();
    for star in &external.stars {
        let Some(j) = statements
            .iter()
            .position(|s| s.star_import && (s.first_line..=s.last_line).contains(&star.line))
        else {
            continue;
        };
        if matches!(actions[j], Action::Run) && !refreshed.contains(&statements[j].first_line) {
            continue;
        }
        actions[j] = Action::Run;
        refreshed.push(statements[j].first_line);
        changed.add_names(star.changed.iter().chain(&star.gone).map(String::as_str), j);
        for (k, other) in statements.iter().enumerate() {
            if k != j && other.binds.iter().any(|b| star.binds.contains(b)) {
                actions[k] = Action::Run;
            }
        }
    }
    refreshed
}
