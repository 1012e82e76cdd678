//! Spec `http`: a GET through the host. The host decides whether the URL may be
//! fetched (the manifest's `allowed_hosts`); a refused request fails the call
//! inside the host, so this code only sees requests that were sent.

use extism_pdk::*;

/// GETs the input URL and outputs `{status} {body}`, the body as raw bytes.
#[plugin_fn]
pub fn fetch(url: String) -> FnResult<Vec<u8>> {
    let request = HttpRequest::new(url).with_method("GET");
    let response = http::request::<()>(&request, None)?;
    let mut output = format!("{} ", response.status_code()).into_bytes();
    output.extend(response.body());
    Ok(output)
}
