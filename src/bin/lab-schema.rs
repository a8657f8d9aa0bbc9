//! Prints the JSON Schema of `lab.toml`, generated from the raw serde types
//! (`labcheck::spec::model`). Regenerate the committed copy with
//! `cargo run --bin lab-schema > schema/lab.schema.json`; `tests/spec.rs`
//! fails when it is out of date.

fn main() {
    print!("{}", labcheck::spec::json_schema());
}
