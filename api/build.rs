//! Links the `mosaico` binary with packed relative relocations on Linux: it stays a
//! position-independent executable (the server keeps address-space randomisation),
//! but its ~335,000 internal pointers are described in a compact bitmap (DT_RELR)
//! instead of 8 MB of relocation records the loader reads at every start. Measured in
//! BENCHMARKS.md.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
