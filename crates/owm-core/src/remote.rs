//! Devices in another process or machine: Burn's remote backend over WebSocket (cargo feature `remote`).
//!
//! `owm serve` hosts one local device with [`serve`]; a run names it `remote:ws://HOST:PORT`
//! ([`BackendKind::Remote`](crate::BackendKind::Remote)) and every tensor operation is sent there, while the
//! autodiff graph, the optimiser's bookkeeping and the run folder stay with the client. A server always asks
//! for a token, and binds only the address it is given.
//!
//! WebSocket is unencrypted: the token keeps stray clients out on a trusted network, not someone reading the
//! traffic (Burn's Iroh transport, encrypted, is not wired up here).

use std::fmt;
use std::path::Path;

use crate::{Error, Result};

/// The prefix that names a remote device on the command line and in configs.
pub const REMOTE_PREFIX: &str = "remote:";

/// A device served by `owm serve`: where it is, and the token its server asks for.
///
/// Two values name the same device when their URLs are equal; the token is how a client gets in, not part of
/// the device, and it is never written to a config, trace or manifest (`Debug` hides it too).
#[derive(Clone)]
pub struct RemoteDevice {
    url: String,
    token: Option<String>,
}

impl RemoteDevice {
    /// The server at `url`, `ws://HOST:PORT` (without a token yet).
    ///
    /// # Errors
    ///
    /// [`Error::RemoteUrl`] when `url` is not `ws://HOST:PORT`.
    pub fn new(url: &str) -> Result<Self> {
        let bad = |reason: &str| Error::RemoteUrl { url: url.to_owned(), reason: reason.to_owned() };
        let rest = url.strip_prefix("ws://").ok_or_else(|| bad("only ws:// servers are supported"))?;
        let (host, port) = rest.trim_end_matches('/').rsplit_once(':').ok_or_else(|| bad("no port: write ws://HOST:PORT"))?;
        if host.is_empty() || host.contains('/') {
            return Err(bad("no host: write ws://HOST:PORT"));
        }
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(bad("the port is not a number from 1 to 65535"));
        }
        Ok(Self { url: format!("ws://{host}:{port}"), token: None })
    }

    /// The server's URL, `ws://HOST:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether a token was given.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// This device, reached with the token in `path` (see [`read_token`]).
    ///
    /// # Errors
    ///
    /// As [`read_token`].
    pub fn with_token_file(self, path: &Path) -> Result<Self> {
        Ok(Self { token: Some(read_token(path)?), ..self })
    }

    /// Opens a session on the server's first device. The same URL and token connected before return the
    /// session Burn already holds.
    ///
    /// # Errors
    ///
    /// [`Error::BackendNotCompiled`] without the `remote` feature; [`Error::Remote`] when nothing answers at the
    /// URL, or the server refuses the token.
    pub fn connect(&self) -> Result<burn::prelude::Device> {
        #[cfg(feature = "remote")]
        {
            use burn::tensor::remote::{ConnectError, RemoteHost};
            let host = RemoteHost::websocket(&self.url).with_credential(self.token.clone().unwrap_or_default());
            burn::prelude::Device::remote_options(&host).init().map_err(|e| {
                let reason = match e {
                    ConnectError::Unauthorized if self.token.is_none() => "the server asks for a token: pass --token-file".to_owned(),
                    ConnectError::Unauthorized => "the server refused the token (its log says why)".to_owned(),
                    other => other.to_string(),
                };
                Error::Remote { url: self.url.clone(), reason }
            })
        }
        #[cfg(not(feature = "remote"))]
        Err(Error::BackendNotCompiled { backend: "remote", feature: "remote" })
    }
}

impl PartialEq for RemoteDevice {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url
    }
}

impl Eq for RemoteDevice {}

impl std::hash::Hash for RemoteDevice {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.url.hash(state);
    }
}

impl fmt::Debug for RemoteDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteDevice").field("url", &self.url).field("token", &self.token.as_ref().map(|_| "<hidden>")).finish()
    }
}

impl fmt::Display for RemoteDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{REMOTE_PREFIX}{}", self.url)
    }
}

/// The token in the file at `path`: its text without the line break or spaces around it.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read; [`Error::RemoteToken`] when it is empty or not UTF-8 text.
pub fn read_token(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { op: "read the token file", path: path.to_owned(), source })?;
    let text = String::from_utf8(bytes).map_err(|_| Error::RemoteToken { path: path.to_owned(), reason: "not UTF-8 text".into() })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::RemoteToken { path: path.to_owned(), reason: "empty".into() });
    }
    Ok(token.to_owned())
}

/// Serves `device` to remote clients on `listener` (bound by the caller, so the address is always explicit),
/// opening only the sessions that present `token`. Blocks until the process receives Ctrl+C or `SIGTERM`.
///
/// `device` must be a local one: a client's autodiff is stripped on the server, and a server does not
/// forward to another server.
///
/// # Errors
///
/// [`Error::Remote`] for an empty token, or when the server cannot start or fails.
#[cfg(feature = "remote")]
pub fn serve(device: burn::prelude::Device, listener: std::net::TcpListener, token: &str) -> Result<()> {
    use burn::tensor::server::{RemoteServer, TokenAuthorizer, WebSocketTransport};
    let at = listener.local_addr().map(|a| format!("ws://{a}")).unwrap_or_else(|_| "the listener".into());
    let authorizer = TokenAuthorizer::new(token).map_err(|e| Error::Remote { url: at.clone(), reason: e.to_string() })?;
    RemoteServer::new([device])
        .with_authorizer(authorizer)
        .serve(WebSocketTransport::from_listener(listener))
        .map_err(|e| Error::Remote { url: at, reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_accept_only_ws_urls_with_a_host_and_a_port() {
        assert_eq!(RemoteDevice::new("ws://127.0.0.1:3000/").unwrap().url(), "ws://127.0.0.1:3000");
        assert_eq!(RemoteDevice::new("ws://gpu-box:8080").unwrap().to_string(), "remote:ws://gpu-box:8080");
        for bad in ["http://x:1", "ws://x", "ws://:80", "ws://x:0", "ws://x:99999", "ws://x/y:80"] {
            assert!(matches!(RemoteDevice::new(bad), Err(Error::RemoteUrl { .. })), "{bad}");
        }
    }

    #[test]
    fn should_read_a_token_file_and_refuse_an_empty_one() {
        let dir = std::env::temp_dir().join(format!("owm-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (good, empty) = (dir.join("good"), dir.join("empty"));
        std::fs::write(&good, "s3cret\n").unwrap();
        std::fs::write(&empty, " \n").unwrap();
        assert_eq!(read_token(&good).unwrap(), "s3cret");
        assert!(matches!(read_token(&empty), Err(Error::RemoteToken { ref path, .. }) if path == &empty));
        assert!(matches!(read_token(&dir.join("missing")), Err(Error::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn should_name_a_device_by_its_url_and_hide_its_token() {
        let dir = std::env::temp_dir().join(format!("owm-token-eq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t"), "s3cret").unwrap();
        let plain = RemoteDevice::new("ws://h:1").unwrap();
        let with = plain.clone().with_token_file(&dir.join("t")).unwrap();
        assert!(with.has_token() && !plain.has_token());
        assert_eq!(plain, with);
        assert!(!format!("{with:?}").contains("s3cret") && !with.to_string().contains("s3cret"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
