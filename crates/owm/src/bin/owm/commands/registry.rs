//! `owm publish`, `pull`, `list` and `lineage`: a local, content-addressed registry of bundles.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{LineageArgs, ListArgs, PublishArgs, PullArgs};
use crate::settings::bundle_dir;

/// `owm publish`.
pub fn publish(args: PublishArgs) -> Result<ExitCode> {
    let PublishArgs { bundle, name, version, registry } = args;
    let entry = owm::share::Registry::open(registry.as_deref())?.publish(&bundle_dir(&bundle), &name, &version)?;
    println!("published {}@{} (bundle digest {})", entry.name, entry.version, entry.bundle_digest);
    Ok(ExitCode::SUCCESS)
}

/// `owm pull`.
pub fn pull(args: PullArgs) -> Result<ExitCode> {
    let PullArgs { reference, out, registry } = args;
    let (name, version) = owm::share::parse_ref(&reference)?;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{name}-{version}")));
    let entry = owm::share::Registry::open(registry.as_deref())?.pull(&name, &version, &out)?;
    println!("pulled {reference} into {} (verified, bundle digest {})", out.display(), entry.bundle_digest);
    Ok(ExitCode::SUCCESS)
}

/// `owm list`.
pub fn list(args: ListArgs) -> Result<ExitCode> {
    let ListArgs { registry } = args;
    for e in owm::share::Registry::open(registry.as_deref())?.list()? {
        println!("{}@{}  {}", e.name, e.version, e.bundle_digest);
    }
    Ok(ExitCode::SUCCESS)
}

/// `owm lineage`.
pub fn lineage(args: LineageArgs) -> Result<ExitCode> {
    let LineageArgs { reference, registry } = args;
    let (name, version) = owm::share::parse_ref(&reference)?;
    for line in owm::share::Registry::open(registry.as_deref())?.lineage(&name, &version)? {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
