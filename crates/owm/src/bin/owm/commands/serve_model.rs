//! `owm serve-model`: verified bundles over the Open Inference Protocol (cargo feature `serve`).

use std::process::ExitCode;

#[cfg(feature = "serve")]
use anyhow::Context;
use anyhow::Result;

use crate::cli::ServeModelArgs;

/// `owm serve-model`: loads every model (each verified), then serves until Ctrl+C or SIGTERM.
#[cfg(feature = "serve")]
pub fn run(args: ServeModelArgs) -> Result<ExitCode> {
    use owm::serve::{Access, ModelSpec, Options};
    let backend = crate::settings::with_token(args.device.parse()?, args.device_token_file.as_deref())?;
    let access = Access {
        backend,
        identities: super::weight_keys(&args.keys)?,
        trusted: args.require_signed.as_deref().map(owm::share::read_public_key).transpose()?,
        registry: args.registry.clone(),
    };
    let options = Options {
        token: args.token_file.as_deref().map(owm::core::remote::read_token).transpose()?,
        max_body_bytes: args.max_body_bytes,
        max_batch: args.max_batch,
        max_queue: args.max_queue,
        timeout: std::time::Duration::from_millis(args.timeout_ms),
    };
    options.check()?;
    let mut models = Vec::new();
    for spec in &args.models {
        let model = ModelSpec::parse(spec)?.load(&access)?;
        let p = model.predictor();
        let signed = p.signer().map_or("unsigned".to_string(), |s| format!("signed by {}", s.public_key));
        eprintln!("owm serve-model: {} version {} (bundle {}, {signed})", model.name(), model.version(), p.bundle_digest());
        models.push(model);
    }
    let listener = std::net::TcpListener::bind(args.bind).with_context(|| format!("binding {}", args.bind))?;
    let at = listener.local_addr().with_context(|| format!("the address bound for {}", args.bind))?;
    if !at.ip().is_loopback() {
        eprintln!("owm serve-model: {at} is reachable from other machines over plain HTTP: put TLS in front, or serve only on a trusted network");
    }
    // The first line on standard output names the address (port 0 picks one), for people and for scripts, once
    // SIGTERM stops the server cleanly.
    let announce = || println!("owm serve-model: http://{at}/v2/models/{{name}}/infer");
    owm::serve::serve(models, listener, &options, owm::serve::stop_signal(), announce)?;
    eprintln!("owm serve-model: stopped");
    Ok(ExitCode::SUCCESS)
}

/// `owm serve-model` in a binary built without the `serve` feature.
#[cfg(not(feature = "serve"))]
pub fn run(args: ServeModelArgs) -> Result<ExitCode> {
    anyhow::bail!("owm serve-model needs the inference server, which this binary was built without ({}): rebuild with --features serve", args.bind)
}
