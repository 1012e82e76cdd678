#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| polyplug_fuzz::smith(data));
