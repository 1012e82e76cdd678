//! Spec `kitchen-sink`: every function of the PDK once (input and output as
//! bytes and as text, config, vars, logs, HTTP, errors), with outputs every
//! language gives byte for byte.

use extism_pdk::*;

const MISSING: &str = "<missing>";

/// Outputs the input bytes unchanged, through the byte APIs.
#[plugin_fn]
pub fn echo_bytes(input: Vec<u8>) -> FnResult<Vec<u8>> {
    Ok(input)
}

/// Outputs `string: {input}`, through the string APIs.
#[plugin_fn]
pub fn echo_string(input: String) -> FnResult<String> {
    Ok(format!("string: {input}"))
}

/// Outputs `{key}={value}` for the config key named by the input, or `{key} missing`.
#[plugin_fn]
pub fn config(key: String) -> FnResult<String> {
    Ok(match config::get(&key)? {
        Some(value) => format!("{key}={value}"),
        None => format!("{key} missing"),
    })
}

/// Reads var `ks`, sets it, reads it, overwrites it, reads it again, then
/// leaves the input in it for the next call.
#[plugin_fn]
pub fn vars(input: String) -> FnResult<String> {
    let read = || -> FnResult<String> {
        Ok(var::get::<String>("ks")?.unwrap_or_else(|| MISSING.to_string()))
    };
    let before = read()?;
    var::set("ks", "one")?;
    let set = read()?;
    var::set("ks", "two")?;
    let overwrite = read()?;
    var::set("ks", input)?;
    Ok(format!("before={before} set={set} overwrite={overwrite}"))
}

/// Sets var `gone`, removes it, and reads it back.
#[plugin_fn]
pub fn var_remove(_input: String) -> FnResult<String> {
    var::set("gone", "here")?;
    let before = var::get::<String>("gone")?.unwrap_or_else(|| MISSING.to_string());
    var::remove("gone")?;
    let after = var::get::<String>("gone")?.unwrap_or_else(|| MISSING.to_string());
    Ok(format!("before={before} after={after}"))
}

/// Logs `ks {level}: {input}` at every level, lowest first.
#[plugin_fn]
pub fn log(input: String) -> FnResult<String> {
    trace!("ks trace: {input}");
    debug!("ks debug: {input}");
    info!("ks info: {input}");
    warn!("ks warn: {input}");
    error!("ks error: {input}");
    Ok("logged".to_string())
}

/// GETs the input URL; outputs `{status} {body}`.
#[plugin_fn]
pub fn http_get(url: String) -> FnResult<Vec<u8>> {
    let response = http::request::<()>(&HttpRequest::new(url).with_method("GET"), None)?;
    let mut output = format!("{} ", response.status_code()).into_bytes();
    output.extend(response.body());
    Ok(output)
}

/// GETs the input URL; outputs `{status} content-type={value} {body}`, the
/// header read through the host's `http_headers` (names are lower case).
#[plugin_fn]
pub fn http_header(url: String) -> FnResult<Vec<u8>> {
    let response = http::request::<()>(&HttpRequest::new(url).with_method("GET"), None)?;
    let content_type = response.header("content-type").unwrap_or(MISSING);
    let mut output =
        format!("{} content-type={content_type} ", response.status_code()).into_bytes();
    output.extend(response.body());
    Ok(output)
}

/// Fails with the message `kitchen-sink failed: {input}` (the PDK calls `error_set`).
#[plugin_fn]
pub fn fail(input: String) -> FnResult<()> {
    let message = format!("kitchen-sink failed: {input}");
    Err(WithReturnCode::new(Error::msg(message), 1))
}
