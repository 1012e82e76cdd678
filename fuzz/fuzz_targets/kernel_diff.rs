#![no_main]

// The official host's driver starts before the first input, outside libFuzzer's
// per-input timeout.
libfuzzer_sys::fuzz_target!(init: polyplug_fuzz::kernel_diff_init(), |data: &[u8]| {
    polyplug_fuzz::kernel_diff(data)
});
