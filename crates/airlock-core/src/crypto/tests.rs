//! Specification tests of the container and key wrap. Invariant: every tamper, cut or extension of a container
//! is rejected and never releases an unverified byte.

use std::io::{self, Read, Write};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305};

use super::stream::ChunkNonces;
use super::*;
use crate::error::ErrorKind;

const KEY: [u8; 32] = [7; 32];
const PREFIX: [u8; 19] = [3; 19];

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

fn seal(data: &[u8], chunk_size: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let n = encrypt(&KEY, &PREFIX, chunk_size, data, &mut out).unwrap();
    assert_eq!(n, out.len() as u64);
    out
}

fn open(container: &[u8], max: u64) -> (Result<u64>, Vec<u8>) {
    let mut out = Vec::new();
    let r = decrypt(&KEY, None, container, &mut out, max, &Cancel::never());
    (r, out)
}

fn code(r: Result<u64>) -> &'static str {
    match r {
        Err(e) => e.reject_code().unwrap_or_else(|| panic!("expected a rejection, got {e:?}")),
        Ok(n) => panic!("expected a rejection, got Ok({n})"),
    }
}

/// Output released on failure must be whole verified chunks of the true plaintext.
fn assert_only_verified_prefix(out: &[u8], pt: &[u8], chunk: usize) {
    assert!(out.len().is_multiple_of(chunk), "partial chunk released: {} bytes", out.len());
    assert_eq!(out, &pt[..out.len()]);
}

#[test]
fn round_trips_every_interesting_size() {
    let cs = 4096usize;
    for len in [0, 1, cs - 1, cs, cs + 1, 2 * cs, 3 * cs + 5, 5 * 1024 * 1024 + 3] {
        let pt = plaintext(len);
        let sealed = seal(&pt, cs as u32);
        let chunks = if len == 0 { 1 } else { len.div_ceil(cs) };
        assert_eq!(sealed.len(), HEADER_LEN + len + chunks * 16, "size for {len}");
        assert_eq!(&sealed[..8], MAGIC);
        assert_eq!(&sealed[8..12], &(cs as u32).to_le_bytes());
        assert_eq!(&sealed[12..31], &PREFIX);
        let mut out = Vec::new();
        let n = decrypt(&KEY, Some(cs as u32), &sealed[..], &mut out, len as u64, &Cancel::never()).unwrap();
        assert_eq!(n, len as u64);
        assert!(out == pt, "plaintext differs for {len}");
    }
}

#[test]
fn empty_plaintext_is_one_empty_final_chunk() {
    let sealed = seal(b"", 16);
    assert_eq!(sealed.len(), HEADER_LEN + 16);
    let (r, out) = open(&sealed, 0);
    assert_eq!(r.unwrap(), 0);
    assert!(out.is_empty());
}

#[test]
fn round_trips_with_the_default_chunk_size_and_a_reader_that_returns_short_reads() {
    struct Dribble<'a>(&'a [u8]);
    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(1000);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let pt = plaintext(3 * DEFAULT_CHUNK_SIZE as usize + 77);
    let mut sealed = Vec::new();
    encrypt(&KEY, &PREFIX, DEFAULT_CHUNK_SIZE, Dribble(&pt), &mut sealed).unwrap();
    let mut out = Vec::new();
    decrypt(&KEY, None, Dribble(&sealed), &mut out, u64::MAX, &Cancel::never()).unwrap();
    assert!(out == pt);
}

#[test]
fn every_flipped_byte_of_a_small_container_is_rejected() {
    let pt = plaintext(40);
    let sealed = seal(&pt, 16);
    for i in 0..sealed.len() {
        for mask in [0x01u8, 0x80] {
            let mut bad = sealed.clone();
            bad[i] ^= mask;
            let (r, out) = open(&bad, u64::MAX);
            let c = code(r);
            if i < 8 {
                assert_eq!(c, "bad_container", "byte {i} mask {mask:#x}");
            } else if i < 12 {
                // A flipped chunk size is either out of range or misplaces every chunk boundary.
                assert!(["bad_container", "decrypt_failed"].contains(&c), "byte {i} mask {mask:#x}: {c}");
            } else {
                assert_eq!(c, "decrypt_failed", "byte {i} mask {mask:#x}");
            }
            assert_only_verified_prefix(&out, &pt, 16);
        }
    }
}

#[test]
fn truncation_at_every_offset_is_rejected() {
    let pt = plaintext(40);
    let sealed = seal(&pt, 16);
    for cut in 0..sealed.len() {
        let (r, out) = open(&sealed[..cut], u64::MAX);
        let c = code(r);
        let want = if cut < HEADER_LEN { "bad_container" } else { "decrypt_failed" };
        assert_eq!(c, want, "cut at {cut}");
        assert_only_verified_prefix(&out, &pt, 16);
    }
}

#[test]
fn a_container_cut_exactly_at_a_chunk_boundary_is_rejected() {
    let pt = plaintext(64);
    let sealed = seal(&pt, 16);
    for chunks in 1..4 {
        let (r, out) = open(&sealed[..HEADER_LEN + chunks * 32], u64::MAX);
        assert_eq!(code(r), "decrypt_failed");
        assert!(out.len() < pt.len());
    }
}

#[test]
fn trailing_data_is_rejected() {
    let pt = plaintext(40);
    let sealed = seal(&pt, 16);
    for extra in [&[0u8][..], &[0u8; 16][..], &seal(b"more", 16)[HEADER_LEN..]] {
        let mut bad = sealed.clone();
        bad.extend_from_slice(extra);
        let (r, out) = open(&bad, u64::MAX);
        assert_eq!(code(r), "decrypt_failed");
        assert_only_verified_prefix(&out, &pt, 16);
    }
}

#[test]
fn reordered_or_dropped_chunks_are_rejected() {
    let pt = plaintext(48);
    let sealed = seal(&pt, 16);
    let chunk = |i: usize| &sealed[HEADER_LEN + i * 32..HEADER_LEN + (i + 1) * 32];
    let header = &sealed[..HEADER_LEN];
    let swapped = [header, chunk(1), chunk(0), chunk(2)].concat();
    let dropped = [header, chunk(0), chunk(2)].concat();
    for bad in [swapped, dropped] {
        let (r, _) = open(&bad, u64::MAX);
        assert_eq!(code(r), "decrypt_failed");
    }
}

#[test]
fn the_wrong_bundle_key_is_rejected_with_a_message_naming_the_cause() {
    let sealed = seal(&plaintext(100), 64);
    let mut out = Vec::new();
    let err = decrypt(&[8; 32], None, &sealed[..], &mut out, u64::MAX, &Cancel::never()).unwrap_err();
    assert_eq!(err.reject_code(), Some("decrypt_failed"));
    let msg = err.to_string();
    assert!(msg.contains("corrupt") && msg.contains("wrong encryptionKey"), "{msg}");
    assert!(out.is_empty());
}

#[test]
fn bad_magic_and_bad_chunk_sizes_are_bad_containers() {
    let sealed = seal(&plaintext(10), 16);
    let mut bad_magic = sealed.clone();
    bad_magic[..8].copy_from_slice(b"PK\x03\x04xxxx");
    let mut zero = sealed.clone();
    zero[8..12].copy_from_slice(&0u32.to_le_bytes());
    let mut huge = sealed.clone();
    huge[8..12].copy_from_slice(&(MAX_CHUNK_SIZE + 1).to_le_bytes());
    for bad in [bad_magic, zero, huge] {
        let (r, out) = open(&bad, u64::MAX);
        assert_eq!(code(r), "bad_container");
        assert!(out.is_empty());
    }
}

#[test]
fn a_header_chunk_size_differing_from_the_signed_one_is_a_bad_container() {
    let sealed = seal(&plaintext(10), 16);
    let mut out = Vec::new();
    let r = decrypt(&KEY, Some(32), &sealed[..], &mut out, u64::MAX, &Cancel::never());
    assert_eq!(code(r), "bad_container");
    assert!(out.is_empty());
}

#[test]
fn max_plaintext_is_enforced_before_writing_the_chunk_that_would_exceed_it() {
    let pt = plaintext(100);
    let sealed = seal(&pt, 32);
    let (r, out) = open(&sealed, 100);
    assert_eq!(r.unwrap(), 100);
    assert_eq!(out, pt);
    let (r, out) = open(&sealed, 99);
    assert_eq!(code(r), "too_large");
    assert_eq!(out, &pt[..96]);
    let (r, out) = open(&sealed, 10);
    assert_eq!(code(r), "too_large");
    assert!(out.is_empty());
}

#[test]
fn a_cancelled_decryption_stops_between_chunks() {
    let pt = plaintext(1000);
    let sealed = seal(&pt, 100);
    let cancel = Cancel::new();
    cancel.cancel();
    let mut out = Vec::new();
    let err = decrypt(&KEY, None, &sealed[..], &mut out, u64::MAX, &cancel).unwrap_err();
    assert!(matches!(err, Error::Cancelled));
    assert!(out.is_empty());

    /// Cancels once the decryptor has written `after` bytes.
    struct CancelAfter {
        out: Vec<u8>,
        after: usize,
        cancel: Cancel,
    }
    impl Write for CancelAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.out.extend_from_slice(buf);
            if self.out.len() >= self.after {
                self.cancel.cancel();
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let cancel = Cancel::new();
    let mut sink = CancelAfter { out: Vec::new(), after: 300, cancel: cancel.clone() };
    let err = decrypt(&KEY, None, &sealed[..], &mut sink, u64::MAX, &cancel).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_eq!(sink.out, &pt[..300]);
}

#[test]
fn the_chunk_counter_refuses_to_wrap_around() {
    let mut nonces = ChunkNonces::starting_at(&PREFIX, u32::MAX - 1);
    let n = nonces.current(false).unwrap();
    assert_eq!(&n[19..], &[0xff, 0xff, 0xff, 0xfe, 0]);
    nonces.advance();
    let n = nonces.current(true).unwrap();
    assert_eq!(&n[..19], &PREFIX);
    assert_eq!(&n[19..], &[0xff, 0xff, 0xff, 0xff, 1]);
    nonces.advance();
    let err = nonces.current(false).unwrap_err();
    assert_eq!(err.reject_code(), Some("decrypt_failed"));
}

#[test]
fn an_authenticated_empty_final_chunk_after_full_chunks_is_accepted() {
    // Another STREAM encryptor may seal an empty last piece after a plaintext of whole chunks; it is authentic.
    let pt = plaintext(32);
    let cipher = XChaCha20Poly1305::new(&Key::from(KEY));
    let mut sealed = seal(&pt, 16)[..HEADER_LEN].to_vec();
    let mut nonces = ChunkNonces::new(&PREFIX);
    for (i, piece) in [&pt[..16], &pt[16..], &[][..]].into_iter().enumerate() {
        let mut body = piece.to_vec();
        let tag = cipher.encrypt_inout_detached(&nonces.current(i == 2).unwrap(), b"", (&mut body[..]).into());
        sealed.extend_from_slice(&body);
        sealed.extend_from_slice(&tag.unwrap());
        nonces.advance();
    }
    let (r, out) = open(&sealed, u64::MAX);
    assert_eq!(r.unwrap(), 32);
    assert_eq!(out, pt);
}

#[test]
fn encrypt_refuses_invalid_chunk_sizes() {
    for cs in [0, MAX_CHUNK_SIZE + 1] {
        let mut out = Vec::new();
        let err = encrypt(&KEY, &PREFIX, cs, &b"x"[..], &mut out).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(out.is_empty());
    }
}

#[test]
fn a_full_disk_while_writing_plaintext_is_reported_as_disk_full() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let sealed = seal(&plaintext(10), 16);
    let err = decrypt(&KEY, None, &sealed[..], Full, u64::MAX, &Cancel::never()).unwrap_err();
    assert!(matches!(err, Error::DiskFull(_)), "{err:?}");
    let err = encrypt(&KEY, &PREFIX, 16, &b"abc"[..], Full).unwrap_err();
    assert!(matches!(err, Error::DiskFull(_)), "{err:?}");
}

#[test]
fn a_read_error_is_a_transient_storage_error() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("device went away"))
        }
    }
    let err = decrypt(&KEY, None, Broken, Vec::new(), u64::MAX, &Cancel::never()).unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[test]
fn key_wrap_round_trips_and_refuses_the_wrong_encryption_key() {
    let enc = [9u8; 32];
    let bundle_key: [u8; 32] = random_bytes().unwrap();
    let wrapped = wrap_key(&enc, &bundle_key, &random_bytes().unwrap());
    assert_eq!(unwrap_key(&enc, &wrapped).unwrap(), bundle_key);

    let err = unwrap_key(&[10; 32], &wrapped).unwrap_err();
    assert_eq!(err.reject_code(), Some("wrong_key"));
    assert!(
        err.to_string()
            .contains("the encryptionKey configured in the app does not match the key this bundle was encrypted for")
    );
    for garbage in ["", "not base64!", "AAAA", &wrapped[4..]] {
        assert_eq!(unwrap_key(&enc, garbage).unwrap_err().reject_code(), Some("wrong_key"));
    }
}

#[test]
fn random_bytes_are_fresh_each_call() {
    let a: [u8; 32] = random_bytes().unwrap();
    let b: [u8; 32] = random_bytes().unwrap();
    assert_ne!(a, b);
    assert_ne!(a, [0; 32]);
}
