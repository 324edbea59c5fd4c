//! The workspace's own `uniffi-bindgen`. Invariant: it is built from the same pinned uniffi as `airlock-ffi`, so
//! the generated Kotlin, Swift and Python always match the scaffolding compiled into the library.

fn main() {
    uniffi::uniffi_bindgen_main()
}
