//! Links the `mosaico` binary as a position-dependent executable on Linux: the
//! program's hundreds of thousands of internal pointers are then fixed at link time
//! instead of relocated by the loader at every start, which takes a few
//! milliseconds off each `mosaico sql` or `mosaico ingest` (measured in
//! BENCHMARKS.md). The libraries it uses stay position-independent as usual.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
