//! `seed-corpus DIR`: writes every fuzz target's seeds to `DIR/TARGET/seed-N` (run by `cargo xtask fuzz`).

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: seed-corpus DIR");
        std::process::exit(2);
    };
    for target in owm_fuzz::TARGETS {
        let folder = dir.join(target.name);
        for (i, seed) in owm_fuzz::seeds(target.name).iter().enumerate() {
            let path = folder.join(format!("seed-{i}"));
            if let Err(e) = std::fs::create_dir_all(&folder).and_then(|()| std::fs::write(&path, seed)) {
                eprintln!("error: cannot write {}: {e}", path.display());
                std::process::exit(1);
            }
        }
        println!("{}: {} seeds", target.name, owm_fuzz::seeds(target.name).len());
    }
}
