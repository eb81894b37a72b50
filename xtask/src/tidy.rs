//! Architecture invariants, checked from `cargo metadata` and the sources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// The leaf crates: each depends on `owm-core` and on no other workspace crate.
pub const LEAVES: [&str; 7] = ["owm-data", "owm-models", "owm-init", "owm-optim", "owm-trace", "owm-share", "owm-eval"];

/// The crates built on the pipeline (`owm-train`): the facade, and the inference server it re-exports.
pub const ON_PIPELINE: [&str; 2] = ["owm", "owm-serve"];

/// Crates that must not touch the file system (outside their tests): only loaders, sinks, bundles, the
/// pipeline and the CLI do.
pub const NO_FS: [&str; 4] = ["owm-models", "owm-init", "owm-optim", "owm-eval"];

pub fn run() -> Result<()> {
    let output = std::process::Command::new(crate::cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(crate::workspace_root())
        .output()
        .with_context(|| format!("running `{} metadata` in {}", crate::cargo(), crate::workspace_root().display()))?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let mut problems = check_graph(&workspace_graph(&metadata));
    problems.extend(check_no_fs(&crate::workspace_root())?);
    problems.extend(check_fuzzed(&crate::workspace_root())?);
    problems.extend(check_sizes(&crate::workspace_root())?);
    if problems.is_empty() {
        println!("tidy: architecture invariants hold");
        Ok(())
    } else {
        bail!("architecture invariants violated:\n  {}", problems.join("\n  "))
    }
}

/// Workspace crate → the workspace crates it depends on (normal and build dependencies).
pub fn workspace_graph(metadata: &serde_json::Value) -> BTreeMap<String, BTreeSet<String>> {
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let names: BTreeSet<String> = packages.iter().filter_map(|p| p["name"].as_str().map(String::from)).collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].is_null() || d["kind"] == "build")
                .filter_map(|d| d["name"].as_str())
                .filter(|n| names.contains(*n))
                .map(String::from)
                .collect();
            (p["name"].as_str().unwrap_or_default().to_string(), deps)
        })
        .collect()
}

/// Every violated dependency rule, as a sentence.
pub fn check_graph(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut problems = Vec::new();
    let deps = |name: &str| graph.get(name).cloned().unwrap_or_default();
    for required in std::iter::once("owm-core").chain(LEAVES).chain(["owm-train", "owm"]) {
        if !graph.contains_key(required) {
            problems.push(format!("crate {required} is missing from the workspace"));
        }
    }
    if let Some(d) = deps("owm-core").iter().next() {
        problems.push(format!("owm-core must have no workspace dependencies, but depends on {d}"));
    }
    for leaf in LEAVES {
        for d in deps(leaf).iter().filter(|d| *d != "owm-core") {
            problems.push(format!("leaf crate {leaf} must depend only on owm-core, but depends on {d}"));
        }
    }
    for d in deps("owm-train").iter().filter(|d| *d == "owm" || d.starts_with("owm-train")) {
        problems.push(format!("owm-train must not depend on {d}"));
    }
    for (name, ds) in graph {
        if !ON_PIPELINE.contains(&name.as_str()) && ds.contains("owm-train") {
            problems.push(format!("{name} depends on owm-train directly; only {} may (examples use owm)", ON_PIPELINE.join(" and ")));
        }
    }
    problems
}

/// `std::fs` in the non-test code of crates that must not touch files.
fn check_no_fs(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for krate in NO_FS {
        for path in rust_files(vec![root.join("crates").join(krate).join("src")])? {
            let text = std::fs::read_to_string(&path)?;
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            if code.contains("std::fs") || code.contains("File::") {
                problems.push(format!("{} touches the file system; only loaders, sinks and bundles may", path.display()));
            }
        }
    }
    Ok(problems)
}

/// Every `.rs` file under `dirs`, sub-folders included.
fn rust_files(mut dirs: Vec<std::path::PathBuf>) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    Ok(files)
}

/// The most lines a source file may have: past it, a file holds more than one idea.
pub const MAX_LINES: usize = 600;

/// Two rules of size: no Rust source file over [`MAX_LINES`] lines, and one integration-test executable per
/// package (`tests/it/main.rs` with modules): every test executable links Burn, so a file directly in
/// `tests/` would be a new one.
fn check_sizes(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for path in rust_files(["crates", "examples", "xtask"].iter().map(|d| root.join(d)).collect())? {
        let lines = std::fs::read_to_string(&path)?.lines().count();
        if lines > MAX_LINES {
            problems.push(format!("{} has {lines} lines (at most {MAX_LINES}): split it by topic", path.display()));
        }
        if path.parent().is_some_and(|p| p.ends_with("tests")) {
            problems.push(format!("{} is a test executable of its own: make it a module of tests/it/main.rs", path.display()));
        }
    }
    Ok(problems)
}

/// Readers named `read_*`, `parse_*`, `decode_*`, `load_*`, `load`, `open` or `from_file` that the fuzz
/// harnesses (`crates/owm-fuzz/src/lib.rs`) need not call, and why.
pub const NOT_FUZZED: [(&str, &str); 17] = [
    ("load_digits", "decodes its embedded bytes with decode_digits, which is fuzzed"),
    ("load_idx_split", "reads through read_idx"),
    ("load_mnist", "reads through read_idx"),
    ("load_fashion_mnist", "reads through read_idx"),
    ("load_cifar10", "reads through read_batches"),
    ("load_tabular", "reads through read_table and TabularPrep"),
    ("load_text", "reads through read_labelled_text and read_labelled_csv"),
    ("load_interactions", "reads through read_interactions"),
    ("load_image_folder", "covered by the image target"),
    ("DataConfig::load", "dispatches to the loaders above"),
    ("load_bundle", "is load_bundle_with without identities"),
    ("parse_idx", "is what read_idx and decode_digits end in"),
    ("Identities::from_file", "called by the encrypted target"),
    ("Registry::open", "called by the registry target"),
    ("Preprocessing::read_raw", "called by Predictor::predict_file, which the predict target calls"),
    ("Predictor::load_trusting", "is what Predictor::load calls (the predict and serve targets)"),
    ("ModelSpec::load", "loads through Predictor::load_trusting and Registry::pull (the predict and registry targets)"),
];

/// Every public reader of the library crates is called by a fuzz harness, or listed in [`NOT_FUZZED`].
fn check_fuzzed(root: &Path) -> Result<Vec<String>> {
    let harness = std::fs::read_to_string(root.join("crates/owm-fuzz/src/lib.rs"))?;
    let mut problems = Vec::new();
    for krate in LEAVES.iter().chain(&["owm-core", "owm-train", "owm-serve"]) {
        for path in rust_files(vec![root.join("crates").join(krate).join("src")])? {
            let text = std::fs::read_to_string(&path)?;
            for reader in readers(text.split("#[cfg(test)]").next().unwrap_or_default()) {
                let name = reader.rsplit("::").next().unwrap_or(&reader);
                let called = if reader.contains("::") {
                    harness.contains(&format!("{reader}(")) || harness.contains(&format!(".{name}("))
                } else {
                    harness.contains(&format!("{name}("))
                };
                if !called && !NOT_FUZZED.iter().any(|(n, _)| *n == reader) {
                    problems.push(format!("{reader} ({}) reads outside bytes but no fuzz harness calls it: add it to crates/owm-fuzz", path.display()));
                }
            }
        }
    }
    Ok(problems)
}

/// The public readers defined in `code`: free functions by name, associated functions as `Type::name`.
pub fn readers(code: &str) -> Vec<String> {
    let is_reader = |name: &str| ["read", "parse", "decode", "load", "open", "from_file"].iter().any(|p| name == *p || name.starts_with(&format!("{p}_")));
    let mut current_impl = None;
    let mut out = Vec::new();
    for line in code.lines() {
        if let Some(rest) = line.strip_prefix("impl") {
            // `impl X {`, `impl<T> X<T> {`, `impl Trait for X {`: the type is the last path before `{`.
            let head = rest.split('{').next().unwrap_or_default();
            let ty = head.rsplit(" for ").next().unwrap_or(head).trim();
            let ty = if ty.starts_with('<') { ty.split_once('>').map_or(ty, |(_, t)| t.trim()) } else { ty };
            current_impl = Some(ty.split('<').next().unwrap_or(ty).trim().to_string());
        } else if line.starts_with('}') {
            current_impl = None;
        }
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("pub fn ") {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if is_reader(&name) {
                match (&current_impl, line.starts_with("    ")) {
                    (Some(ty), true) => out.push(format!("{ty}::{name}")),
                    _ => out.push(name),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_should_be_found_with_their_types() {
        let code = "pub fn read_idx(p: &Path) {}\nimpl<'a> Registry {\n    pub fn open(root: &Path) {}\n    pub fn openness(&self) {}\n}\nimpl Validate for Checkpoint {\n    pub fn load(p: &Path) {}\n}\npub fn write_bundle() {}\n";
        assert_eq!(readers(code), ["read_idx", "Registry::open", "Checkpoint::load"]);
    }

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges.iter().map(|(n, ds)| (n.to_string(), ds.iter().map(|d| d.to_string()).collect())).collect()
    }

    fn valid() -> Vec<(&'static str, &'static [&'static str])> {
        let mut g: Vec<(&str, &[&str])> = vec![("owm-core", &[])];
        g.extend(LEAVES.iter().map(|l| (*l, &["owm-core"][..])));
        g.push(("owm-train", &["owm-core", "owm-data", "owm-optim"]));
        g.push(("owm-serve", &["owm-train", "owm-core"]));
        g.push(("owm", &["owm-train", "owm-serve", "owm-core"]));
        g.push(("mnist_mlp", &["owm"]));
        g
    }

    #[test]
    fn workspace_should_satisfy_the_invariants() {
        run().unwrap();
    }

    #[test]
    fn should_accept_the_designed_graph() {
        assert_eq!(check_graph(&graph(&valid())), Vec::<String>::new());
    }

    #[test]
    fn should_reject_a_leaf_depending_on_another_leaf() {
        let mut g = valid();
        g[4] = ("owm-optim", &["owm-core", "owm-trace"]);
        let problems = check_graph(&graph(&g));
        assert_eq!(problems, ["leaf crate owm-optim must depend only on owm-core, but depends on owm-trace"]);
    }

    #[test]
    fn should_reject_an_example_on_the_pipeline_itself() {
        let mut g = valid();
        g.push(("news_text", &["owm-train"]));
        assert_eq!(check_graph(&graph(&g)), ["news_text depends on owm-train directly; only owm and owm-serve may (examples use owm)"]);
    }

    #[test]
    fn should_reject_core_depending_on_the_workspace() {
        let mut g = valid();
        g[0] = ("owm-core", &["owm-data"]);
        assert!(check_graph(&graph(&g)).iter().any(|p| p.contains("owm-core must have no workspace dependencies")));
    }

    #[test]
    fn should_read_dependencies_from_cargo_metadata() {
        let metadata = serde_json::json!({"packages": [
            {"name": "owm-core", "dependencies": [{"name": "burn", "kind": null}]},
            {"name": "owm-eval", "dependencies": [{"name": "owm-core", "kind": null}, {"name": "owm-data", "kind": "dev"}]},
            {"name": "owm-data", "dependencies": [{"name": "owm-core", "kind": null}]}
        ]});
        let g = workspace_graph(&metadata);
        assert_eq!(g["owm-eval"], BTreeSet::from(["owm-core".to_string()]));
        assert!(g["owm-core"].is_empty());
    }
}
