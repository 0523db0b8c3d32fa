#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| joyfuljay_fuzz::http2(data));
