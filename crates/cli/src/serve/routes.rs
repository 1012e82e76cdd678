//! The HTTP routes of `polyplug serve`, and how a call's result becomes a
//! status and a body.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use polyplug_host::{Error, ErrorKind};
use serde_json::{json, Value};

use super::catalog::{Catalog, Served};
use super::invoke::Workers;
use super::metrics::{Metrics, Refusal};

const PAGE: &str = include_str!("page.html");

pub struct App {
    pub catalog: Arc<Catalog>,
    pub workers: Arc<Workers>,
    pub metrics: Metrics,
    pub max_body: usize,
    pub next_request: AtomicU64,
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/v1/plugins", get(list))
        .route("/v1/plugins/{*path}", post(call))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not-found",
                "no such route: the routes are GET /, /healthz, /metrics, /v1/plugins and POST /v1/plugins/{name}/{export}",
                json!({}),
            )
        })
        .with_state(app)
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let text = app
        .metrics
        .render(app.workers.in_use(), app.catalog.all().len());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

fn describe(s: &Served) -> Value {
    json!({
        "name": s.name,
        "exports": s.exports,
        "sha256": s.sha256,
        "bytes": s.bytes,
        "source": s.source,
        "wasi": s.wasi,
        "limits": s.limits,
    })
}

async fn list(State(app): State<Arc<App>>) -> Response {
    let plugins: Vec<Value> = app.catalog.all().values().map(|s| describe(s)).collect();
    axum::Json(json!({ "plugins": plugins })).into_response()
}

async fn call(
    State(app): State<Arc<App>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request = app.next_request.fetch_add(1, Ordering::Relaxed) + 1;
    let mut response = answer(&app, &path, &headers, body, request).await;
    if let Ok(id) = HeaderValue::from_str(&request.to_string()) {
        response.headers_mut().insert("x-request-id", id);
    }
    response
}

async fn answer(app: &App, path: &str, headers: &HeaderMap, body: Body, request: u64) -> Response {
    let Some((name, export)) = path.rsplit_once('/') else {
        app.metrics.refused(Refusal::NotFound);
        return unknown_plugin(app, path);
    };
    let Some(served) = app.catalog.get(name) else {
        app.metrics.refused(Refusal::NotFound);
        return unknown_plugin(app, name);
    };
    if !served.exports.iter().any(|e| e == export) {
        app.metrics.refused(Refusal::NotFound);
        return error(
            StatusCode::NOT_FOUND,
            "unknown-export",
            &format!(
                "plugin `{name}` has no export `{export}`: it exports {}",
                served.exports.join(", ")
            ),
            json!({ "plugin": name, "exports": served.exports }),
        );
    }
    let input = match read_body(headers, body, app.max_body).await {
        Ok(input) => input,
        Err(response) => {
            app.metrics.refused(Refusal::TooLarge);
            return response;
        }
    };
    let started = Instant::now();
    let result = app
        .workers
        .call(served.clone(), export.to_string(), input, request)
        .await;
    match result {
        Err(_busy) => {
            app.metrics.refused(Refusal::Busy);
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "more calls are waiting than the server takes (--concurrency, --queue): retry shortly",
                json!({}),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        Ok(Ok(output)) => {
            app.metrics.record(name, export, "ok", started.elapsed());
            ([(header::CONTENT_TYPE, "application/octet-stream")], output).into_response()
        }
        Ok(Err(e)) => {
            app.metrics
                .record(name, export, e.kind().category(), started.elapsed());
            eprintln!("[request {request}] {name}/{export}: {e}");
            call_error(&served, export, request, &e)
        }
    }
}

/// The request body, or the answer when it is too large or cannot be read.
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, Response> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            &format!("the request body is over --max-body = {max} bytes"),
            json!({ "max_body": max }),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large()),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            "bad-body",
            &format!("cannot read the request body: {e}"),
            json!({}),
        )),
    }
}

fn unknown_plugin(app: &App, name: &str) -> Response {
    let names: Vec<String> = app.catalog.all().keys().cloned().collect();
    error(
        StatusCode::NOT_FOUND,
        "unknown-plugin",
        &format!("no plugin named `{name}`: POST /v1/plugins/{{name}}/{{export}} with one of the names listed"),
        json!({ "plugins": names }),
    )
}

/// The status for a failed call: 422 the plugin said no, 504 timeout, 507 a
/// memory limit, 404 an export it cannot call, 503 the instance pool is full,
/// 500 a trap or anything else.
fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Busy => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::PluginError => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::MemoryLimit => StatusCode::INSUFFICIENT_STORAGE,
        ErrorKind::MissingExport => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn call_error(served: &Served, export: &str, request: u64, e: &Error) -> Response {
    let limits = served.limits;
    let limit = match e.kind() {
        ErrorKind::Timeout => json!({ "timeout_ms": limits.timeout_ms }),
        ErrorKind::MemoryLimit => json!({
            "memory_max_pages": limits.memory_max_pages,
            "memory_max_bytes": limits.memory_max_bytes,
            "max_var_bytes": limits.max_var_bytes,
        }),
        _ => Value::Null,
    };
    let mut extra = json!({ "plugin": served.name, "export": export, "request_id": request });
    if !limit.is_null() {
        extra["limit"] = limit;
    }
    let mut r = error(status(e.kind()), e.kind().category(), e.message(), extra);
    if e.kind() == ErrorKind::Busy {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// A JSON error body: `{"error": category, "message": ..., ...extra}`.
fn error(status: StatusCode, category: &str, message: &str, extra: Value) -> Response {
    let mut body = json!({ "error": category, "message": message });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    (status, axum::Json(body)).into_response()
}
