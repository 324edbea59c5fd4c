//! XChaCha20-Poly1305 STREAM container (`xchacha20poly1305-stream-v1`) and bundle-key wrapping.
//! Invariant: no plaintext byte is released from a chunk whose tag has not verified; truncation, reordering and
//! trailing data are detected.
// (stub: being implemented)
pub const ALG: &str = "xchacha20poly1305-stream-v1";
