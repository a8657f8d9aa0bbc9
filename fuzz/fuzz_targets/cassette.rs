//! Fuzz target `cassette`: see `harness::cassette` (fuzz/harness.rs) and docs/fuzzing.md.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = harness::cassette(data);
});
