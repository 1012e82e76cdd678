//! `http_request` through a real HTTP client (ureq), with the manifest's rules:
//! `allowed_hosts` is checked on the first URL and on every redirect (redirects
//! are followed here, not by the client, so none slips past the check), the body
//! is capped, and the request cannot outlive the call's timeout.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;
use ureq::http::{Method, Uri};

use crate::current_plugin::{not_a_handle, over_limit, CurrentPlugin};
use crate::error::{Error, ErrorKind};

const MAX_REDIRECTS: usize = 10;
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The request JSON the PDKs send.
#[derive(Deserialize)]
struct Request {
    url: String,
    #[serde(default, alias = "header")]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    method: Option<String>,
}

/// Runs the request described by the JSON block `req` (body block `body`, or 0),
/// takes ownership of both handles, and returns the response body's handle.
pub(crate) fn request(s: &mut CurrentPlugin, req: u64, body: u64) -> Result<u64, Error> {
    let req_bytes = s
        .kernel
        .block(req)
        .ok_or_else(|| not_a_handle("http_request", req))?;
    let request: Request = serde_json::from_slice(req_bytes).map_err(|e| {
        Error::new(
            ErrorKind::Http,
            format!("http_request: the request JSON is not valid: {e}"),
        )
    })?;
    s.kernel.free(req);
    let mut body_bytes = match body {
        0 => None,
        h => Some(
            s.kernel
                .block(h)
                .ok_or_else(|| not_a_handle("http_request body", h))?
                .to_vec(),
        ),
    };
    s.kernel.free(body);

    s.http_status = 0;
    s.http_headers = None;
    let mut method = match request
        .method
        .as_deref()
        .unwrap_or("GET")
        .to_ascii_uppercase()
        .parse::<Method>()
    {
        Ok(m) => m,
        Err(_) => {
            let m = request.method.unwrap_or_default();
            return Err(Error::new(
                ErrorKind::Http,
                format!("http_request: `{m}` is not an HTTP method"),
            ));
        }
    };
    let first = request.url.clone();
    let mut url = request.url;
    for _ in 0..=MAX_REDIRECTS {
        let uri: Uri = url.parse().map_err(|e| {
            Error::new(
                ErrorKind::Http,
                format!("http_request: `{url}` is not a URL: {e}"),
            )
        })?;
        check_allowed(s, &first, &url, &uri)?;

        let response = send(s, &method, &uri, &request.headers, body_bytes.as_deref())?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok());
        if let (true, Some(location)) = (response.status().is_redirection(), location) {
            url = resolve(&uri, location);
            if status == 303 || (matches!(status, 301 | 302) && method == Method::POST) {
                method = Method::GET;
                body_bytes = None;
            }
            continue;
        }

        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let bytes = read_body(s, response.into_body(), &first)?;
        s.http_status = status;
        s.http_headers = Some(headers);
        return s.kernel.write_new(&bytes).map_err(over_limit);
    }
    Err(Error::new(
        ErrorKind::Http,
        format!("http_request to `{first}` redirected more than {MAX_REDIRECTS} times"),
    ))
}

fn check_allowed(s: &CurrentPlugin, first: &str, url: &str, uri: &Uri) -> Result<(), Error> {
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let allowed = s
        .shared
        .manifest
        .allowed_hosts
        .as_deref()
        .unwrap_or_default();
    if allowed.iter().any(|pattern| glob(pattern, host)) {
        return Ok(());
    }
    let message = if url == first {
        format!("http_request to `{url}` is not allowed: add `{host}` to allowed_hosts")
    } else {
        format!("http_request to `{first}` redirected to `{url}`, whose host `{host}` is not in allowed_hosts")
    };
    Err(Error::new(ErrorKind::HttpDenied, message))
}

fn send(
    s: &CurrentPlugin,
    method: &Method,
    uri: &Uri,
    headers: &BTreeMap<String, String>,
    body: Option<&[u8]>,
) -> Result<ureq::http::Response<ureq::Body>, Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(s.time_left())
        // Without timeout_ms nothing else bounds a connect to a black hole.
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .build()
        .new_agent();
    let mut builder = ureq::http::Request::builder()
        .method(method.clone())
        .uri(uri.clone());
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let fail = |e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::Http, format!("http_request {method} {uri}: {e}"))
    };
    let result = match body {
        Some(bytes) => agent.run(builder.body(bytes).map_err(|e| fail(&e))?),
        None => agent.run(builder.body(()).map_err(|e| fail(&e))?),
    };
    result.map_err(|e| match e {
        ureq::Error::Timeout(_) if s.time_left().is_some_and(|t| t.is_zero()) => Error::new(
            ErrorKind::Timeout,
            format!("http_request {method} {uri} ran past the call's timeout_ms"),
        ),
        e => fail(&e),
    })
}

fn read_body(s: &CurrentPlugin, body: ureq::Body, url: &str) -> Result<Vec<u8>, Error> {
    let max = s.shared.max_http_response_bytes;
    let mut bytes = Vec::new();
    body.into_reader()
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Error::new(
                ErrorKind::Http,
                format!("http_request {url}: reading the response failed: {e}"),
            )
        })?;
    if bytes.len() as u64 > max {
        return Err(Error::new(
            ErrorKind::MemoryLimit,
            format!(
                "http_request {url}: the response is over memory.max_http_response_bytes = {max}"
            ),
        ));
    }
    Ok(bytes)
}

/// `location` made absolute against the URL that answered with it.
fn resolve(base: &Uri, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map_or("", |a| a.as_str());
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = base.path();
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    format!("{scheme}://{authority}{dir}{location}")
}

/// Case-insensitive glob with `*` (any run) and `?` (one character).
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_hosts() {
        assert!(glob("*.example.com", "api.example.com"));
        assert!(!glob("*.example.com", "example.com"));
        assert!(glob("127.0.0.1", "127.0.0.1"));
        assert!(glob("*", "anything"));
        assert!(glob("EXAMPLE.com", "example.COM"));
        assert!(!glob("127.0.0.1", "127.0.0.10"));
        assert!(glob("127.0.0.?", "127.0.0.2"));
    }

    #[test]
    fn redirects_resolve_against_the_base() {
        let base: Uri = "http://a.test:8080/x/y?q=1".parse().unwrap();
        assert_eq!(resolve(&base, "http://b.test/z"), "http://b.test/z");
        assert_eq!(resolve(&base, "//b.test/z"), "http://b.test/z");
        assert_eq!(resolve(&base, "/z"), "http://a.test:8080/z");
        assert_eq!(resolve(&base, "z"), "http://a.test:8080/x/z");
    }
}
