//! The fuzz targets' seed corpora, replayed as ordinary tests so that a
//! seed which stops passing fails `cargo test`, not only a fuzzing run.

use std::path::{Path, PathBuf};

/// Every `fuzz/corpus/<target>/seed-*` file, sorted by name.
pub fn fuzz_seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-"))
        })
        .collect();
    files.sort();
    files
}
