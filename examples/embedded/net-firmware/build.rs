//! Puts memory.x in OUT_DIR, on the linker's search path (.cargo/config.toml passes -Tmemory.x
//! before riscv-rt's -Tlink.x), and relinks when it changes.
// A build script that cannot copy memory.x must stop the build; a panic is how it says so.
#![allow(clippy::expect_used)]

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x into OUT_DIR");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
