//! XChaCha20-Poly1305 STREAM container (`xchacha20poly1305-stream-v1`) and bundle-key wrapping.
//! Invariant: no plaintext byte is released from a chunk whose tag has not verified; truncation, reordering and
//! trailing data are detected.
//!
//! Container layout (DESIGN §6.1): `AIRLOCK1` ‖ u32le `chunk_size` ‖ 19-byte nonce prefix, then the plaintext cut
//! into `chunk_size` pieces, each sealed under the bundle key with nonce `prefix ‖ u32be(i) ‖ last-flag` and empty
//! associated data and followed by its 16-byte tag. Both directions stream with one reused `O(chunk_size)` buffer.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};

use crate::error::{Error, Result};
use crate::events::Cancel;

mod stream;
#[cfg(test)]
mod tests;

/// Name of the container algorithm in release manifests (`bundle.encryption.alg`).
pub const ALG: &str = "xchacha20poly1305-stream-v1";
/// First 8 bytes of every container.
pub const MAGIC: &[u8; 8] = b"AIRLOCK1";
/// `MAGIC ‖ u32le chunk_size ‖ 19-byte nonce prefix`.
pub const HEADER_LEN: usize = 31;
/// Largest chunk size accepted, which bounds the memory a container can make us allocate.
pub const MAX_CHUNK_SIZE: u32 = 16 << 20;
/// Chunk size used by the publishing tools unless told otherwise.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;

/// Associated data of the bundle-key wrap.
const WRAP_AAD: &[u8] = b"airlock-key-wrap-v1";
const WRAP_NONCE_LEN: usize = 24;
const WRAP_TAG_LEN: usize = 16;

/// Fills a fresh random array from the OS (getrandom 0.3, `getrandom::fill`).
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| {
        Error::Storage(format!("the operating system's random number generator failed ({e}); retry later"))
    })?;
    Ok(out)
}

/// Encrypts `input` into the container format; returns bytes written. Streams with O(chunk_size) memory.
///
/// A `chunk_size` of 0 or above [`MAX_CHUNK_SIZE`] is an [`Error::InvalidRequest`].
pub fn encrypt<R: Read, W: Write>(
    bundle_key: &[u8; 32],
    nonce_prefix: &[u8; 19],
    chunk_size: u32,
    input: R,
    output: W,
) -> Result<u64> {
    stream::encrypt(bundle_key, nonce_prefix, chunk_size, input, output)
}

/// Decrypts a container; returns plaintext bytes written. O(chunk_size) memory. `expected_chunk_size` (from the
/// signed manifest) must equal the header's when given. Fails (nothing more written) when plaintext would exceed
/// `max_plaintext`. Checks `cancel` between chunks.
///
/// Rejections: `bad_container` (magic, header, chunk size), `decrypt_failed` (a tag does not verify, truncation,
/// trailing data), `too_large` (over `max_plaintext`). Only verified chunks reach `output`, but a failure can come
/// after earlier verified chunks were written: callers discard the output on error.
pub fn decrypt<R: Read, W: Write>(
    bundle_key: &[u8; 32],
    expected_chunk_size: Option<u32>,
    input: R,
    output: W,
    max_plaintext: u64,
    cancel: &Cancel,
) -> Result<u64> {
    stream::decrypt(bundle_key, expected_chunk_size, input, output, max_plaintext, cancel)
}

/// base64(24-byte nonce ‖ XChaCha20-Poly1305(encryption_key, nonce, bundle_key, aad "airlock-key-wrap-v1")).
pub fn wrap_key(encryption_key: &[u8; 32], bundle_key: &[u8; 32], nonce: &[u8; 24]) -> String {
    let cipher = XChaCha20Poly1305::new(&Key::from(*encryption_key));
    let mut sealed = [0u8; WRAP_NONCE_LEN + 32 + WRAP_TAG_LEN];
    sealed[..WRAP_NONCE_LEN].copy_from_slice(nonce);
    let (body, tag_out) = sealed[WRAP_NONCE_LEN..].split_at_mut(32);
    body.copy_from_slice(bundle_key);
    // XChaCha20-Poly1305 only fails for messages longer than 256 GiB; this one is 32 bytes.
    let tag = cipher.encrypt_inout_detached(&XNonce::from(*nonce), WRAP_AAD, body.into()).unwrap_or_default();
    tag_out.copy_from_slice(&tag);
    STANDARD.encode(sealed)
}

/// Unwraps a bundle key wrapped by [`wrap_key`]. Fails with `wrong_key` when the wrap does not verify under
/// `encryption_key` (or is not the expected base64 of 72 bytes).
pub fn unwrap_key(encryption_key: &[u8; 32], wrapped_b64: &str) -> Result<[u8; 32]> {
    let wrong_key = |detail: &str| {
        Error::rejected(
            "wrong_key",
            format!(
                "the encryptionKey configured in the app does not match the key this bundle was encrypted for \
                 ({detail}); configure the encryptionKey the bundle was published with"
            ),
        )
    };
    let raw = STANDARD.decode(wrapped_b64.trim()).map_err(|_| wrong_key("the wrapped key is not valid base64"))?;
    if raw.len() != WRAP_NONCE_LEN + 32 + WRAP_TAG_LEN {
        return Err(wrong_key("the wrapped key has the wrong length"));
    }
    let mut nonce = [0u8; WRAP_NONCE_LEN];
    nonce.copy_from_slice(&raw[..WRAP_NONCE_LEN]);
    let mut key = [0u8; 32];
    key.copy_from_slice(&raw[WRAP_NONCE_LEN..WRAP_NONCE_LEN + 32]);
    let tag = Tag::try_from(&raw[WRAP_NONCE_LEN + 32..]).map_err(|_| wrong_key("malformed tag"))?;
    let cipher = XChaCha20Poly1305::new(&Key::from(*encryption_key));
    cipher
        .decrypt_inout_detached(&XNonce::from(nonce), WRAP_AAD, (&mut key[..]).into(), &tag)
        .map_err(|_| wrong_key("the key wrap does not verify"))?;
    Ok(key)
}
