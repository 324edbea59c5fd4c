//! XChaCha20-Poly1305 STREAM container (`xchacha20poly1305-stream-v1`) and bundle-key wrapping.
//! Invariant: no plaintext byte is released from a chunk whose tag has not verified; truncation, reordering and
//! trailing data are detected.
// (stub: being implemented)
pub const ALG: &str = "xchacha20poly1305-stream-v1";
use crate::error::{Error, Result};
use crate::events::Cancel;
use std::io::{Read, Write};
pub fn decrypt<R: Read, W: Write>(_k: &[u8; 32], _c: Option<u32>, _i: R, _o: W, _m: u64, _x: &Cancel) -> Result<u64> {
    Err(Error::Storage("stub".into()))
}
pub fn unwrap_key(_e: &[u8; 32], _w: &str) -> Result<[u8; 32]> {
    Err(Error::Storage("stub".into()))
}
