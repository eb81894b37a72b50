//! Every fuzz target's seeds and past findings (`fuzz/regressions/TARGET/*`) run through its harness on the
//! stable toolchain, so a reader that regresses on a known input fails `cargo test`, not only a fuzz run.

use std::path::Path;

#[test]
fn every_target_should_take_its_seeds_and_past_findings_without_panicking() {
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    for target in owm_fuzz::TARGETS {
        let seeds = owm_fuzz::seeds(target.name);
        assert!(!seeds.is_empty(), "{} has seeds", target.name);
        for seed in &seeds {
            (target.run)(seed);
        }
        let dir = regressions.join(target.name);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let bytes = std::fs::read(entry.path()).unwrap();
            println!("{}: {}", target.name, entry.path().display());
            (target.run)(&bytes);
        }
    }
}

#[test]
fn every_target_should_have_a_libfuzzer_entry_point() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for target in owm_fuzz::TARGETS {
        let source = std::fs::read_to_string(root.join(format!("fuzz_targets/{}.rs", target.name))).unwrap();
        assert!(source.contains(&format!("owm_fuzz::{}(data)", target.name)), "{}", target.name);
        assert!(manifest.contains(&format!("name = \"{}\"", target.name)), "{}", target.name);
    }
}
