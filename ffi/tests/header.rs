//! include/micro.h is generated from this crate by cbindgen and committed; this test fails
//! when the committed header differs from a fresh generation. `make header` (this test with
//! MICRO_UPDATE_HEADER=1) writes it anew.

use std::path::Path;

#[test]
fn committed_header_matches_a_fresh_generation() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut fresh);
    let committed_path = crate_dir.join("../include/micro.h");
    if std::env::var_os("MICRO_UPDATE_HEADER").is_some() {
        std::fs::write(&committed_path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read(&committed_path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/micro.h differs from what cbindgen generates from ffi/src; run `make header` and commit it"
    );
}
