//! The HTTP side: the Open Inference Protocol's REST routes on axum, the bearer token, limits and the graceful
//! stop.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::batch::Queue;
use crate::model::ServedModel;
use crate::protocol::{InferRequest, ModelMetadata};
use crate::{Error, Options, Result};

/// What the routes share.
struct Served {
    /// By name, then version; the last model given under a name answers requests without a version.
    models: BTreeMap<String, Versions>,
    token: Option<[u8; 32]>,
    timeout: Duration,
    max_body_bytes: usize,
}

#[derive(Default)]
struct Versions {
    by_version: BTreeMap<String, (ModelMetadata, Queue)>,
    latest: String,
}

impl Served {
    fn model(&self, name: &str, version: Option<&str>) -> Result<&(ModelMetadata, Queue)> {
        let versions = self.models.get(name).ok_or_else(|| Error::NotFound(format!("no model `{name}`")))?;
        let version = version.unwrap_or(&versions.latest);
        versions.by_version.get(version).ok_or_else(|| Error::NotFound(format!("model `{name}` has no version `{version}`")))
    }

    /// Whether the request carries the token, when one is required. Tokens are compared by their SHA-256.
    fn authorize(&self, headers: &HeaderMap) -> Result<()> {
        let Some(expected) = self.token else { return Ok(()) };
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        match given {
            Some(token) if <[u8; 32]>::from(Sha256::digest(token.trim().as_bytes())) == expected => Ok(()),
            Some(_) => Err(Error::Unauthorized("the bearer token is not this server's")),
            None => Err(Error::Unauthorized("this server needs `Authorization: Bearer TOKEN`")),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(json!({"error": self.to_string()}))).into_response()
    }
}

/// Serves `models` on `listener` until `shutdown` completes, then finishes the requests under way. `ready` is
/// called once `shutdown` has been polled (so a [`stop_signal`] has its handlers in place) and the server is about
/// to accept: the place to announce the address, after which a `SIGTERM` stops it cleanly.
///
/// Each model gets a worker thread; requests to it queue and run in shared passes (see the crate docs). A model
/// without a version in the request path is the last one given under its name.
///
/// # Errors
///
/// [`Error::Options`] for options that fail [`Options::check`]; [`Error::Start`] for two models with one name
/// and version, or when the runtime or the listener cannot start.
pub fn serve(
    models: Vec<ServedModel>,
    listener: std::net::TcpListener,
    options: &Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(),
) -> Result<()> {
    options.check()?;
    let mut served = Served {
        models: BTreeMap::new(),
        token: options.token.as_deref().map(|t| Sha256::digest(t.trim().as_bytes()).into()),
        timeout: options.timeout,
        max_body_bytes: options.max_body_bytes,
    };
    let mut all_versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &models {
        all_versions.entry(m.name().to_string()).or_default().push(m.version().to_string());
    }
    for m in models {
        let (name, version) = (m.name().to_string(), m.version().to_string());
        let metadata = m.metadata(all_versions[&name].clone());
        let versions = served.models.entry(name.clone()).or_default();
        if versions.by_version.contains_key(&version) {
            return Err(Error::Start(format!("model `{name}` version `{version}` is given twice")));
        }
        versions.by_version.insert(version.clone(), (metadata, Queue::start(m, options.max_batch, options.max_queue)?));
        versions.latest = version;
    }
    let app = router(Arc::new(served), options.max_body_bytes);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| Error::Start(format!("the runtime: {e}")))?;
    runtime.block_on(async move {
        listener.set_nonblocking(true).map_err(|e| Error::Start(format!("the listener: {e}")))?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| Error::Start(format!("the listener: {e}")))?;
        // One poll registers the signal handlers of a `stop_signal` (tokio installs them on first poll).
        let mut shutdown = Box::pin(shutdown);
        if std::future::poll_fn(|cx| std::task::Poll::Ready(shutdown.as_mut().poll(cx))).await.is_ready() {
            return Ok(());
        }
        ready();
        axum::serve(listener, app).with_graceful_shutdown(shutdown).await.map_err(|e| Error::Start(format!("serving: {e}")))
    })
}

/// Completes on Ctrl+C or `SIGTERM`.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

fn router(served: Arc<Served>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/v2/health/live", get(|| async { axum::Json(json!({"live": true})) }))
        .route("/v2/health/ready", get(|| async { axum::Json(json!({"ready": true})) }))
        .route("/v2", get(server_metadata))
        .route("/v2/models/{name}", get(model_metadata))
        .route("/v2/models/{name}/versions/{version}", get(model_metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route("/v2/models/{name}/versions/{version}/ready", get(model_ready))
        .route("/v2/models/{name}/infer", post(infer))
        .route("/v2/models/{name}/versions/{version}/infer", post(infer))
        .fallback(|| async { Error::NotFound("no such route: see /v2 and /v2/models/{name}".into()) })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(served)
}

/// `{name}` or `{name, version}` from the path.
type ModelPath = Path<BTreeMap<String, String>>;

async fn server_metadata(State(s): State<Arc<Served>>, headers: HeaderMap) -> Result<axum::Json<Value>> {
    s.authorize(&headers)?;
    let models: Vec<&String> = s.models.keys().collect();
    Ok(axum::Json(json!({"name": "owm", "version": env!("CARGO_PKG_VERSION"), "extensions": [], "models": models})))
}

async fn model_metadata(State(s): State<Arc<Served>>, Path(p): ModelPath, headers: HeaderMap) -> Result<axum::Json<ModelMetadata>> {
    s.authorize(&headers)?;
    Ok(axum::Json(s.model(&p["name"], p.get("version").map(String::as_str))?.0.clone()))
}

async fn model_ready(State(s): State<Arc<Served>>, Path(p): ModelPath, headers: HeaderMap) -> Result<axum::Json<Value>> {
    s.authorize(&headers)?;
    s.model(&p["name"], p.get("version").map(String::as_str))?;
    Ok(axum::Json(json!({"name": p["name"], "ready": true})))
}

async fn infer(State(s): State<Arc<Served>>, Path(p): ModelPath, headers: HeaderMap, body: std::result::Result<Bytes, BytesRejection>) -> Result<Response> {
    s.authorize(&headers)?;
    let (_, queue) = s.model(&p["name"], p.get("version").map(String::as_str))?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge(format!("the request body is over this server's limit of {} bytes", s.max_body_bytes))
        } else {
            Error::Request(e.body_text())
        }
    })?;
    let request = InferRequest::parse(&body)?;
    let answer = queue.submit(request)?;
    match tokio::time::timeout(s.timeout, answer).await {
        Ok(Ok(response)) => Ok(axum::Json(response?).into_response()),
        Ok(Err(_)) => Err(Error::Model("the model's worker stopped".into())),
        Err(_) => Err(Error::Busy(format!("no answer within {} ms", s.timeout.as_millis()))),
    }
}
