//! The STREAM chunk loop of `xchacha20poly1305-stream-v1`. Invariant: a decrypted chunk is written only after its
//! tag verified under the nonce of its position (counter and last-chunk flag), so a cut, reordered, extended or
//! altered container never yields a plaintext byte from a chunk that was not sealed where it now sits.

use std::io::{self, Read, Write};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};

use super::{HEADER_LEN, MAGIC, MAX_CHUNK_SIZE};
use crate::error::{Error, Result};
use crate::events::Cancel;

/// Length of the Poly1305 tag that follows every chunk.
pub(crate) const TAG_LEN: usize = 16;

/// Length of the nonce prefix carried in the header.
pub(crate) const PREFIX_LEN: usize = 19;

/// The per-chunk nonce: `prefix(19) ‖ u32be(counter) ‖ last-flag`, RustCrypto's `StreamBE32` layout.
#[derive(Debug, Clone)]
pub(crate) struct ChunkNonces {
    nonce: [u8; 24],
    counter: u32,
    exhausted: bool,
}

impl ChunkNonces {
    pub(crate) fn new(prefix: &[u8; PREFIX_LEN]) -> Self {
        let mut nonce = [0u8; 24];
        nonce[..PREFIX_LEN].copy_from_slice(prefix);
        ChunkNonces { nonce, counter: 0, exhausted: false }
    }

    /// Starts the counter at `counter` (tests of the overflow guard).
    #[cfg(test)]
    pub(crate) fn starting_at(prefix: &[u8; PREFIX_LEN], counter: u32) -> Self {
        ChunkNonces { counter, ..ChunkNonces::new(prefix) }
    }

    /// The nonce for the current chunk; `last` sets the final-chunk flag. Fails once the 32-bit counter has been
    /// used up (a container of more than 2^32 chunks), instead of reusing a nonce.
    pub(crate) fn current(&mut self, last: bool) -> Result<XNonce> {
        if self.exhausted {
            return Err(Error::rejected(
                "decrypt_failed",
                "the encrypted bundle has more than 2^32 chunks (chunk counter overflow); the bundle is corrupt",
            ));
        }
        self.nonce[PREFIX_LEN..PREFIX_LEN + 4].copy_from_slice(&self.counter.to_be_bytes());
        self.nonce[23] = u8::from(last);
        Ok(XNonce::from(self.nonce))
    }

    /// Moves to the next chunk.
    pub(crate) fn advance(&mut self) {
        match self.counter.checked_add(1) {
            Some(next) => self.counter = next,
            None => self.exhausted = true,
        }
    }
}

fn corrupt(detail: &str) -> Error {
    Error::rejected(
        "decrypt_failed",
        format!(
            "the encrypted bundle could not be decrypted ({detail}): the bundle is corrupt or the wrong \
             encryptionKey is configured in the app; download it again or check the encryptionKey"
        ),
    )
}

fn bad_container(detail: impl std::fmt::Display) -> Error {
    Error::rejected(
        "bad_container",
        format!("the encrypted bundle is not a valid xchacha20poly1305-stream-v1 container: {detail}"),
    )
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full<R: Read>(input: &mut R, buf: &mut [u8], what: &str) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(what, e)),
        }
    }
    Ok(filled)
}

fn check_chunk_size(chunk_size: u32) -> Result<usize> {
    if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
        return Err(bad_container(format_args!("chunk size {chunk_size} is outside 1..={MAX_CHUNK_SIZE} bytes")));
    }
    usize::try_from(chunk_size).map_err(|_| bad_container("chunk size does not fit in memory"))
}

/// See [`super::encrypt`].
pub fn encrypt<R: Read, W: Write>(
    bundle_key: &[u8; 32],
    nonce_prefix: &[u8; PREFIX_LEN],
    chunk_size: u32,
    mut input: R,
    mut output: W,
) -> Result<u64> {
    let cs = check_chunk_size(chunk_size).map_err(|_| {
        Error::InvalidRequest(format!(
            "chunk size {chunk_size} is invalid: use 1..={MAX_CHUNK_SIZE} bytes (default 65536)"
        ))
    })?;
    let cipher = XChaCha20Poly1305::new(&Key::from(*bundle_key));
    let mut nonces = ChunkNonces::new(nonce_prefix);

    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&chunk_size.to_le_bytes());
    header[12..].copy_from_slice(nonce_prefix);
    output.write_all(&header).map_err(|e| Error::io("writing the encrypted bundle", e))?;
    let mut written = HEADER_LEN as u64;

    // Room for a chunk and its tag; while reading, one byte past the chunk tells whether more input follows.
    let mut buf = vec![0u8; cs + TAG_LEN];
    let mut have = 0usize;
    loop {
        have += read_full(&mut input, &mut buf[have..=cs], "reading the bundle to encrypt")?;
        let last = have <= cs;
        let len = have.min(cs);
        let carry = buf[cs];
        let nonce = nonces.current(last).map_err(|_| {
            Error::InvalidRequest(format!(
                "the input needs more than 2^32 chunks of {chunk_size} bytes; use a larger chunk size"
            ))
        })?;
        let tag = cipher
            .encrypt_inout_detached(&nonce, b"", (&mut buf[..len]).into())
            .map_err(|_| Error::InvalidRequest("chunk too long for XChaCha20-Poly1305".into()))?;
        buf[len..len + TAG_LEN].copy_from_slice(&tag);
        output.write_all(&buf[..len + TAG_LEN]).map_err(|e| Error::io("writing the encrypted bundle", e))?;
        written += (len + TAG_LEN) as u64;
        if last {
            break;
        }
        buf[0] = carry;
        have = 1;
        nonces.advance();
    }
    output.flush().map_err(|e| Error::io("writing the encrypted bundle", e))?;
    Ok(written)
}

/// See [`super::decrypt`].
pub fn decrypt<R: Read, W: Write>(
    bundle_key: &[u8; 32],
    expected_chunk_size: Option<u32>,
    mut input: R,
    mut output: W,
    max_plaintext: u64,
    cancel: &Cancel,
) -> Result<u64> {
    let mut header = [0u8; HEADER_LEN];
    let got = read_full(&mut input, &mut header, "reading the encrypted bundle")?;
    if got < HEADER_LEN {
        return Err(bad_container(format_args!(
            "it is {got} bytes long, shorter than the {HEADER_LEN}-byte header (truncated download?)"
        )));
    }
    if &header[..8] != MAGIC {
        return Err(bad_container(
            "it does not start with AIRLOCK1 (is the bundle really encrypted, or encrypted with another tool?)",
        ));
    }
    let mut cs_bytes = [0u8; 4];
    cs_bytes.copy_from_slice(&header[8..12]);
    let chunk_size = u32::from_le_bytes(cs_bytes);
    let cs = check_chunk_size(chunk_size)?;
    if let Some(expected) = expected_chunk_size
        && expected != chunk_size
    {
        return Err(bad_container(format_args!(
            "its header says chunk size {chunk_size} but the signed manifest says {expected}"
        )));
    }
    let mut prefix = [0u8; PREFIX_LEN];
    prefix.copy_from_slice(&header[12..]);

    let cipher = XChaCha20Poly1305::new(&Key::from(*bundle_key));
    let mut nonces = ChunkNonces::new(&prefix);
    let seg = cs + TAG_LEN;
    // One sealed chunk plus one read-ahead byte: a full chunk followed by EOF is the last chunk.
    let mut buf = vec![0u8; seg + 1];
    let mut have = 0usize;
    let mut total = 0u64;
    loop {
        cancel.check()?;
        have += read_full(&mut input, &mut buf[have..], "reading the encrypted bundle")?;
        let last = have <= seg;
        let sealed_len = have.min(seg);
        let Some(pt_len) = sealed_len.checked_sub(TAG_LEN) else {
            return Err(corrupt("it ends in the middle of a chunk: truncated"));
        };
        let nonce = nonces.current(last)?;
        let (body, rest) = buf.split_at_mut(pt_len);
        let tag = Tag::try_from(&rest[..TAG_LEN]).map_err(|_| corrupt("malformed tag"))?;
        cipher
            .decrypt_inout_detached(&nonce, b"", body.into(), &tag)
            .map_err(|_| corrupt(if last { "the final chunk does not verify" } else { "a chunk does not verify" }))?;
        let next_total = total + pt_len as u64;
        if next_total > max_plaintext {
            return Err(Error::rejected(
                "too_large",
                format!(
                    "the decrypted bundle is larger than the allowed {max_plaintext} bytes; the bundle does not \
                     match its signed size or exceeds the configured limit"
                ),
            ));
        }
        output.write_all(&buf[..pt_len]).map_err(|e| Error::io("writing the decrypted bundle", e))?;
        total = next_total;
        if last {
            break;
        }
        buf[0] = buf[seg];
        have = 1;
        nonces.advance();
    }
    output.flush().map_err(|e| Error::io("writing the decrypted bundle", e))?;
    Ok(total)
}
