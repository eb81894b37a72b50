//! Transfer from digits 0–4 to 5–9 against training from scratch: `cargo run --release -p transfer_digits`.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let comparison = transfer_digits::run(&transfer_digits::Config::parse())?;
    print!("{}", comparison.to_markdown());
    Ok(())
}
