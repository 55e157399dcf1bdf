//! The import graph over the session's modules: who imports whom at import time, which
//! names each `from` import binds, and the order a batch of changes reloads in.

use ahash::{AHashMap, AHashSet};

use crate::imports::{Context, Import};

/// One import-time dependency: `importer` runs `imported` and binds `names` from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub imported: String,
    /// `(name in the imported module, name bound in the importer)`; `*` for a star
    /// import. Empty for `import a.b`, which binds a module object.
    pub names: Vec<(String, String)>,
}

/// A module as the graph sees it: its name, its package, its imports.
pub struct Node<'a> {
    pub name: &'a str,
    pub package: &'a str,
    pub imports: &'a [Import],
}

#[derive(Debug, Default)]
pub struct ImportGraph {
    edges: AHashMap<String, Vec<Edge>>,
    importers: AHashMap<String, Vec<String>>,
}

impl ImportGraph {
    /// Builds the graph from import-time imports (not those in functions or under
    /// `TYPE_CHECKING`). `is_module` tells which dotted names are modules, so that
    /// `from pkg import sub` depends on `pkg.sub` when that is a submodule.
    pub fn build<'a>(
        nodes: impl IntoIterator<Item = Node<'a>>,
        is_module: impl Fn(&str) -> bool,
    ) -> ImportGraph {
        let mut graph = ImportGraph::default();
        for node in nodes {
            for import in node.imports.iter().filter(|i| i.context == Context::Module) {
                let Some(target) = import.absolute_module(node.package) else {
                    continue;
                };
                for edge in edges_of(import, target, &is_module) {
                    graph.add(node.name, edge);
                }
            }
        }
        graph
    }

    fn add(&mut self, importer: &str, edge: Edge) {
        if edge.imported == importer {
            return;
        }
        let edges = self.edges.entry(importer.to_owned()).or_default();
        match edges.iter_mut().find(|e| e.imported == edge.imported) {
            Some(existing) => existing.names.extend(edge.names),
            None => {
                self.importers
                    .entry(edge.imported.clone())
                    .or_default()
                    .push(importer.to_owned());
                edges.push(edge);
            }
        }
    }

    /// What `importer` imports at import time.
    pub fn imports_of(&self, importer: &str) -> &[Edge] {
        self.edges.get(importer).map_or(&[], Vec::as_slice)
    }

    /// The modules that bind names `from` `module`, with those `(name, bound_as)` pairs.
    pub fn binders_of(&self, module: &str) -> Vec<(&str, &[(String, String)])> {
        let Some(importers) = self.importers.get(module) else {
            return Vec::new();
        };
        importers
            .iter()
            .filter_map(|importer| {
                let edge = self
                    .imports_of(importer)
                    .iter()
                    .find(|e| e.imported == module)?;
                (!edge.names.is_empty()).then_some((importer.as_str(), edge.names.as_slice()))
            })
            .collect()
    }

    /// Every module that imports `module`, directly or through others, nearest first.
    pub fn dependents(&self, module: &str) -> Vec<String> {
        let mut seen: AHashSet<&str> = [module].into_iter().collect();
        let mut order = Vec::new();
        let mut frontier = vec![module];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for name in frontier {
                for importer in self.importers.get(name).into_iter().flatten() {
                    if seen.insert(importer) {
                        order.push(importer.clone());
                        next.push(importer.as_str());
                    }
                }
            }
            frontier = next;
        }
        order
    }

    /// `batch` in reload order: a module after the modules it depends on (directly or
    /// through modules outside the batch). Modules in an import cycle keep the order
    /// `position` gives (the order they were first imported in).
    pub fn reload_order(&self, batch: &[String], position: impl Fn(&str) -> usize) -> Vec<String> {
        let rank = self.dependency_rank(batch);
        let mut ordered = batch.to_vec();
        ordered.sort_by_key(|name| {
            (
                rank.get(name.as_str()).copied().unwrap_or(usize::MAX),
                position(name),
            )
        });
        ordered
    }

    /// For each module reachable from `roots`, the index of its strongly connected
    /// component in dependencies-first order (Tarjan's algorithm, iteratively).
    fn dependency_rank<'s>(&'s self, roots: &'s [String]) -> AHashMap<&'s str, usize> {
        let mut tarjan = Tarjan::default();
        for root in roots {
            if let Some((root, _)) = self.edges.get_key_value(root.as_str()) {
                tarjan.visit(self, root);
            } else {
                tarjan.leaf(root);
            }
        }
        tarjan.rank
    }
}

/// The edges one import statement makes, to `target` and the modules it runs on the way.
fn edges_of(import: &Import, target: String, is_module: &impl Fn(&str) -> bool) -> Vec<Edge> {
    let mut edges = Vec::new();
    if import.names.is_empty() {
        // `import a.b.c` runs `a`, `a.b` and `a.b.c`.
        let parts: Vec<&str> = target.split('.').collect();
        for end in 1..=parts.len() {
            edges.push(Edge {
                imported: parts[..end].join("."),
                names: Vec::new(),
            });
        }
        return edges;
    }
    let mut bound = Vec::new();
    for (name, alias) in &import.names {
        let submodule = if target.is_empty() {
            name.clone()
        } else {
            format!("{target}.{name}")
        };
        if name != "*" && is_module(&submodule) {
            edges.push(Edge {
                imported: submodule,
                names: Vec::new(),
            });
        } else {
            bound.push((name.clone(), alias.clone()));
        }
    }
    if !target.is_empty() {
        edges.push(Edge {
            imported: target,
            names: bound,
        });
    }
    edges
}

#[derive(Default)]
struct Tarjan<'g> {
    index: AHashMap<&'g str, usize>,
    low: AHashMap<&'g str, usize>,
    stack: Vec<&'g str>,
    on_stack: AHashSet<&'g str>,
    rank: AHashMap<&'g str, usize>,
    components: usize,
}

impl<'g> Tarjan<'g> {
    fn leaf(&mut self, name: &'g str) {
        if !self.rank.contains_key(name) {
            self.rank.insert(name, self.components);
            self.components += 1;
        }
    }

    fn visit(&mut self, graph: &'g ImportGraph, root: &'g str) {
        if self.index.contains_key(root) {
            return;
        }
        // Each frame: a node and how many of its edges were followed.
        let mut frames: Vec<(&'g str, usize)> = vec![(root, 0)];
        self.open(root);
        while let Some(&mut (node, ref mut next)) = frames.last_mut() {
            let edges = graph.imports_of(node);
            if let Some(edge) = edges.get(*next) {
                *next += 1;
                let child = edge.imported.as_str();
                if !self.index.contains_key(child) {
                    self.open(child);
                    frames.push((child, 0));
                } else if self.on_stack.contains(child) {
                    let low = self.low[node].min(self.index[child]);
                    self.low.insert(node, low);
                }
                continue;
            }
            frames.pop();
            if let Some(&(parent, _)) = frames.last() {
                let low = self.low[parent].min(self.low[node]);
                self.low.insert(parent, low);
            }
            if self.low[node] == self.index[node] {
                self.close_component(node);
            }
        }
    }

    fn open(&mut self, node: &'g str) {
        let i = self.index.len();
        self.index.insert(node, i);
        self.low.insert(node, i);
        self.stack.push(node);
        self.on_stack.insert(node);
    }

    fn close_component(&mut self, root: &'g str) {
        while let Some(member) = self.stack.pop() {
            self.on_stack.remove(member);
            self.rank.insert(member, self.components);
            if member == root {
                break;
            }
        }
        self.components += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imports::scan;

    fn graph(modules: &[(&str, &str, &str)]) -> ImportGraph {
        let scanned: Vec<(&str, &str, Vec<Import>)> = modules
            .iter()
            .map(|(n, p, src)| (*n, *p, scan(src.as_bytes())))
            .collect();
        let names: AHashSet<&str> = modules.iter().map(|(n, _, _)| *n).collect();
        ImportGraph::build(
            scanned.iter().map(|(name, package, imports)| Node {
                name,
                package,
                imports,
            }),
            |m| names.contains(m),
        )
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn binders_of_list_the_bound_names() {
        let g = graph(&[
            ("config", "", "BATCH = 1\n"),
            (
                "train",
                "",
                "from config import BATCH as B, other\nimport config\n",
            ),
            ("lazy", "", "def f():\n    from config import BATCH\n"),
        ]);
        let importers = g.binders_of("config");
        assert_eq!(importers.len(), 1);
        assert_eq!(importers[0].0, "train");
        assert_eq!(
            importers[0].1,
            [
                ("BATCH".to_string(), "B".to_string()),
                ("other".into(), "other".into())
            ]
        );
    }

    #[test]
    fn submodules_imported_with_from_are_module_edges() {
        let g = graph(&[
            ("pkg", "pkg", ""),
            ("pkg.sub", "pkg", "X = 1\n"),
            ("user", "", "from pkg import sub\nfrom . import nothing\n"),
        ]);
        let targets: Vec<&str> = g
            .imports_of("user")
            .iter()
            .map(|e| e.imported.as_str())
            .collect();
        assert_eq!(targets, ["pkg.sub", "pkg"]);
        assert!(g.binders_of("pkg.sub").is_empty());
    }

    #[test]
    fn relative_imports_resolve_within_the_package() {
        let g = graph(&[
            (
                "pkg.a",
                "pkg",
                "from .b import X\nfrom ..outside import Y\n",
            ),
            ("pkg.b", "pkg", "X = 1\n"),
        ]);
        assert_eq!(g.binders_of("pkg.b")[0].0, "pkg.a");
    }

    #[test]
    fn reload_order_puts_dependencies_first_even_through_unchanged_modules() {
        let g = graph(&[
            ("app", "", "import middle\n"),
            ("middle", "", "from base import X\n"),
            ("base", "", "X = 1\n"),
        ]);
        // sys.modules order would be app, middle, base.
        let position = |n: &str| {
            ["app", "middle", "base"]
                .iter()
                .position(|m| *m == n)
                .unwrap()
        };
        assert_eq!(
            g.reload_order(&strings(&["app", "base"]), position),
            strings(&["base", "app"])
        );
    }

    #[test]
    fn cycles_keep_import_order_and_come_after_their_dependencies() {
        let g = graph(&[
            ("a", "", "import b\nimport util\n"),
            ("b", "", "import a\n"),
            ("util", "", ""),
        ]);
        let position = |n: &str| ["a", "b", "util"].iter().position(|m| *m == n).unwrap();
        assert_eq!(
            g.reload_order(&strings(&["b", "a", "util"]), position),
            strings(&["util", "a", "b"])
        );
    }

    #[test]
    fn dependents_are_transitive_nearest_first() {
        let g = graph(&[
            ("base", "", ""),
            ("mid", "", "import base\n"),
            ("top", "", "from mid import thing\n"),
            ("other", "", "import os\n"),
        ]);
        assert_eq!(g.dependents("base"), strings(&["mid", "top"]));
        assert!(g.dependents("other").is_empty());
    }

    #[test]
    fn long_chains_do_not_overflow_the_stack() {
        let sources: Vec<(String, String)> = (0..20_000)
            .map(|i| (format!("m{i}"), format!("import m{}\n", i + 1)))
            .collect();
        let modules: Vec<(&str, &str, &str)> = sources
            .iter()
            .map(|(n, s)| (n.as_str(), "", s.as_str()))
            .collect();
        let g = graph(&modules);
        let order = g.reload_order(&strings(&["m0", "m19999"]), |_| 0);
        assert_eq!(order, strings(&["m19999", "m0"]));
    }
}
