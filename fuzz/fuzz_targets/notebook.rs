//! Fuzz target `notebook`: see `harness::notebook` (fuzz/harness.rs) and docs/fuzzing.md.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = harness::notebook(data);
});
