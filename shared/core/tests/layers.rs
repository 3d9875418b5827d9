//! Dependencies run one way. This reads the crate's own sources and builds
//! the graph of `crate::module` references between its top-level modules
//! (test modules left out: a test may use anything), then checks that:
//! - no module imports `config`, the outer layer (only `lib.rs` re-exports it);
//! - the graph has no cycle.
//!
//! `cargo test -p ticket-bridge --test layers -- --nocapture` prints the
//! layers, innermost first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `dedupe/memory.rs` → `dedupe`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_owned()
}

/// `crate::x` references outside `#[cfg(test)]` modules.
fn references(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut out = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("readable source");
        let deps = graph.entry(from.clone()).or_default();
        for to in references(&text) {
            if to != from && modules.contains(&to) {
                deps.insert(to);
            }
        }
    }
    graph
}

#[test]
fn nothing_imports_the_outer_config_layer() {
    for (module, deps) in graph() {
        if module != "lib" {
            assert!(
                !deps.contains("config"),
                "`{module}` imports `config`: config builds the settings types the domain modules define, never the other way"
            );
        }
    }
}

#[test]
fn module_dependencies_have_no_cycle() {
    let mut graph = graph();
    graph.remove("lib");
    let mut layers: Vec<Vec<String>> = Vec::new();
    let mut placed: BTreeSet<String> = BTreeSet::new();
    while placed.len() < graph.len() {
        let layer: Vec<String> = graph
            .iter()
            .filter(|(m, deps)| {
                !placed.contains(*m)
                    && deps
                        .iter()
                        .all(|d| placed.contains(d) || !graph.contains_key(d))
            })
            .map(|(m, _)| m.clone())
            .collect();
        assert!(
            !layer.is_empty(),
            "a dependency cycle among: {:?}",
            graph
                .iter()
                .filter(|(m, _)| !placed.contains(*m))
                .map(|(m, d)| format!("{m} -> {d:?}"))
                .collect::<Vec<_>>()
        );
        placed.extend(layer.iter().cloned());
        layers.push(layer);
    }
    for (i, layer) in layers.iter().enumerate() {
        println!("layer {i}: {}", layer.join(", "));
    }
    let top = layers.last().expect("at least one layer");
    assert!(
        top.contains(&"config".to_owned()),
        "config is the outermost layer: {layers:?}"
    );
}
