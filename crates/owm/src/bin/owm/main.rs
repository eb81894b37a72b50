//! The `owm` command line, in the manner of cargo and uv: `cli/` holds what clap parses, `settings.rs` turns
//! it into the libraries' configs, and `commands/` runs one command a file over the `owm` facade.
// The command line reports errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod cli;
mod commands;
mod settings;

use std::process::ExitCode;

use clap::Parser;

// mimalloc (see `owm::Allocator`): it keeps the activation buffers a training step frees for the next one.
#[global_allocator]
static ALLOCATOR: owm::Allocator = owm::Allocator;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The command runs on a thread of the tensor kernels' pool (see `owm::train::on_pool`), with the main
    // thread's stack size.
    let _ = rayon::ThreadPoolBuilder::new().stack_size(8 << 20).build_global();
    match owm::train::on_pool(|| commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes joined by `: `, leaving out a cause whose text the message already holds (OWM's
/// errors write their source into their own message, which also keeps it reachable as `source()`).
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_message_should_not_repeat_a_cause_it_already_holds() {
        let e = anyhow::anyhow!("reading x.csv: line 3").context("loading data: reading x.csv: line 3");
        assert_eq!(super::message(&e), "loading data: reading x.csv: line 3");
        let e = anyhow::anyhow!("line 3").context("reading x.csv");
        assert_eq!(super::message(&e), "reading x.csv: line 3");
    }
}
