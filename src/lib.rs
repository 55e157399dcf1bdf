//! fastautoreload's native core.
//!
//! The pure-Rust parts carry no PyO3 and are tested with `cargo test`: source lookup,
//! file fingerprints, the module table, change detection (watcher, detector, and the
//! activity a program's reloader waits on), the lexer,
//! the import scanner and graph, and the outline and differ. `bindings` is the PyO3
//! layer that drives them from Python and does the object work (re-execution, partial
//! runs, patching) through the C API.

pub mod activity;
pub mod baselines;
pub mod detector;
pub mod dir_stats;
pub mod fingerprint;
pub mod import_graph;
pub mod imports;
pub mod intake;
pub mod kept;
pub mod lexer;
pub mod module_key;
pub mod module_table;
pub mod name_index;
pub mod outline;
pub mod path_index;
pub mod source_path;
pub mod varint;
pub mod watcher;

#[cfg(feature = "python")]
mod bindings;
