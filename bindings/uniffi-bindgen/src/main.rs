//! `uniffi-bindgen`, built from the same uniffi release as `clawlet-node`, so the Swift, Kotlin
//! and Python bindings match the scaffolding compiled into `libclawlet_node`.
//! `bindings/generate.sh` runs it in library mode.

fn main() {
    uniffi::uniffi_bindgen_main()
}
