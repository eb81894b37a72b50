//! Transfer from digits 0–4 to 5–9 against training from scratch: `cargo run --release -p transfer_digits`.

use clap::Parser;

// The allocator of OWM's binaries (see `owm::Allocator`).
#[global_allocator]
static ALLOCATOR: owm::Allocator = owm::Allocator;

fn main() -> anyhow::Result<()> {
    let comparison = transfer_digits::run(&transfer_digits::Config::parse())?;
    print!("{}", comparison.to_markdown());
    Ok(())
}
