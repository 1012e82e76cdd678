//! The Extism kernel ABI (`extism:host/env`) as seen from inside the engine:
//! raw imports plus the few byte-moving helpers the JS API needs.
//!
//! `free` is deliberately not imported: the symbol would collide with libc's
//! `free`, which QuickJS links, and the kernel resets its memory between calls
//! anyway, so the handles the engine drops are reclaimed by the host.

#[link(wasm_import_module = "extism:host/env")]
extern "C" {
    fn alloc(len: u64) -> u64;
    fn length(handle: u64) -> u64;
    fn load_u8(offset: u64) -> u8;
    fn load_u64(offset: u64) -> u64;
    fn store_u8(offset: u64, value: u8);
    fn store_u64(offset: u64, value: u64);
    fn input_length() -> u64;
    fn input_load_u8(offset: u64) -> u8;
    fn input_load_u64(offset: u64) -> u64;
    fn output_set(handle: u64, len: u64);
    fn error_set(handle: u64);
    fn config_get(key: u64) -> u64;
    fn var_get(key: u64) -> u64;
    fn var_set(key: u64, value: u64);
    fn http_request(request: u64, body: u64) -> u64;
    fn http_status_code() -> i32;
    fn log_trace(handle: u64);
    fn log_debug(handle: u64);
    fn log_info(handle: u64);
    fn log_warn(handle: u64);
    fn log_error(handle: u64);
}

/// Copies `bytes` into a fresh kernel block and returns its handle
/// (0 for an empty slice, which every Extism function reads as "nothing").
pub fn store(bytes: &[u8]) -> u64 {
    if bytes.is_empty() {
        return 0;
    }
    unsafe {
        let handle = alloc(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        let mut at = handle;
        for chunk in &mut chunks {
            store_u64(at, u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
            at += 8;
        }
        for &b in chunks.remainder() {
            store_u8(at, b);
            at += 1;
        }
        handle
    }
}

/// Reads a whole kernel block; handle 0 reads as empty.
pub fn load(handle: u64) -> Vec<u8> {
    if handle == 0 {
        return Vec::new();
    }
    let len = unsafe { length(handle) };
    read_with(
        len,
        |at| unsafe { load_u64(handle + at) },
        |at| unsafe { load_u8(handle + at) },
    )
}

/// Length of the kernel block behind `handle` (0 when it is unknown).
pub fn block_length(handle: u64) -> u64 {
    if handle == 0 {
        0
    } else {
        unsafe { length(handle) }
    }
}

pub fn input() -> Vec<u8> {
    let len = unsafe { input_length() };
    read_with(
        len,
        |at| unsafe { input_load_u64(at) },
        |at| unsafe { input_load_u8(at) },
    )
}

// Eight bytes per host call: a 4 MiB input is 512 Ki calls instead of 4 Mi.
fn read_with(len: u64, word: impl Fn(u64) -> u64, byte: impl Fn(u64) -> u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(len as usize);
    let mut at = 0;
    while at + 8 <= len {
        out.extend_from_slice(&word(at).to_le_bytes());
        at += 8;
    }
    while at < len {
        out.push(byte(at));
        at += 1;
    }
    out
}

pub fn output(bytes: &[u8]) {
    let handle = store(bytes);
    unsafe { output_set(handle, bytes.len() as u64) }
}

pub fn set_error(message: &str) {
    // Never handle 0, which reads as "no error".
    let handle = alloc_block(message.as_bytes());
    unsafe { error_set(handle) }
}

/// `config_get` takes ownership of the key handle, so a fresh one is made per call.
pub fn config(key: &str) -> Option<Vec<u8>> {
    let value = unsafe { config_get(store(key.as_bytes())) };
    (value != 0).then(|| load(value))
}

/// Like `config`, `var_get` frees the key handle it is given.
pub fn var(key: &str) -> Option<Vec<u8>> {
    let value = unsafe { var_get(store(key.as_bytes())) };
    (value != 0).then(|| load(value))
}

/// `None` removes the variable (Extism reads a zero value handle as delete).
pub fn set_var(key: &str, value: Option<&[u8]>) {
    let key = store(key.as_bytes());
    // An empty value is still a value: only `None` may become handle 0.
    let value = value.map_or(0, alloc_block);
    unsafe { var_set(key, value) }
}

pub fn http(request_json: &[u8], body: Option<&[u8]>) -> (i32, Vec<u8>) {
    let request = store(request_json);
    let body = body.map_or(0, store);
    let response = unsafe { http_request(request, body) };
    let status = unsafe { http_status_code() };
    (status, load(response))
}

pub fn log(level: u32, message: &str) {
    // An empty line still gets logged: Extism expects a real block.
    let handle = alloc_block(message.as_bytes());
    unsafe {
        match level {
            0 => log_trace(handle),
            1 => log_debug(handle),
            2 => log_info(handle),
            3 => log_warn(handle),
            _ => log_error(handle),
        }
    }
}

/// Like `store`, but an empty slice gets a real (empty) block too.
pub fn alloc_block(bytes: &[u8]) -> u64 {
    if bytes.is_empty() {
        unsafe { alloc(0) }
    } else {
        store(bytes)
    }
}
