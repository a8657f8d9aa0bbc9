//! Every lab under `labs/` as tests: one trial per lab × step × client.
//! Filter like any test: `cargo test --test labs -- cli-invoke`.

fn main() -> std::process::ExitCode {
    labcheck::runner::test_main(env!("CARGO_MANIFEST_DIR"))
}
