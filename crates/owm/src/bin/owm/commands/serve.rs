//! `owm serve`: a local device hosted for remote runs (cargo feature `remote`).

use std::path::Path;
use std::process::ExitCode;

#[cfg(feature = "remote")]
use anyhow::Context;
use anyhow::{Result, bail};
use owm::core::BackendKind;

/// `owm serve`: hosts a local device for remote runs until Ctrl+C or SIGTERM.
pub fn run(device: &str, bind: std::net::SocketAddr, token_file: &Path) -> Result<ExitCode> {
    let backend: BackendKind = device.parse()?;
    if let BackendKind::Remote(remote) = &backend {
        bail!("owm serve hosts a local device (cpu, ndarray or wgpu), not {remote}");
    }
    #[cfg(feature = "remote")]
    {
        let token = owm::core::remote::read_token(token_file)?;
        let device = backend.device()?;
        let listener = std::net::TcpListener::bind(bind).with_context(|| format!("binding {bind}"))?;
        let at = listener.local_addr().with_context(|| format!("the address bound for {bind}"))?;
        if !at.ip().is_loopback() {
            eprintln!("owm serve: {at} is reachable from other machines, over unencrypted WebSocket: serve only on a trusted network");
        }
        // The first line names the address (port 0 picks one), for people and for scripts that start a server.
        println!("owm serve: {backend} on ws://{at}; clients: owm train --device remote:ws://{at} --token-file {}", token_file.display());
        owm::core::remote::serve(device, listener, &token)?;
        Ok(ExitCode::SUCCESS)
    }
    #[cfg(not(feature = "remote"))]
    bail!("owm serve needs remote devices, which this binary was built without ({bind}, {}): rebuild with --features remote", token_file.display())
}
