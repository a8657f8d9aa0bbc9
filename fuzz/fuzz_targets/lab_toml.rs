//! Fuzz target `lab_toml`: see `harness::lab_toml` (fuzz/harness.rs) and docs/fuzzing.md.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = harness::lab_toml(data);
});
