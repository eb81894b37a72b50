#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| owm_fuzz::serve(data));
