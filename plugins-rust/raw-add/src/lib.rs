//! Spec `raw-add`: a plain numeric export, no Extism ABI at all: the host calls
//! `add(i32, i32) -> i32` directly. Overflow wraps, as in every language.

#[no_mangle]
pub extern "C" fn add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}
