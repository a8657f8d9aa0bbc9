//! Writes the fuzz targets' seed corpora (`fuzz/seeds.rs`) under
//! `fuzz/corpus/<target>/`: run `cargo run --example fuzz_seeds` after
//! changing a bundled lab, a fixture or the event-stream encoder
//! (`tests/fuzz_corpus.rs` fails until the committed seeds match).

#[path = "../fuzz/seeds.rs"]
mod seeds;

use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut written = 0;
    for seed in seeds::seeds(root) {
        let dir = root.join("fuzz/corpus").join(seed.target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(&seed.name), &seed.bytes)?;
        written += 1;
    }
    println!("wrote {written} seed files under fuzz/corpus/");
    Ok(())
}
