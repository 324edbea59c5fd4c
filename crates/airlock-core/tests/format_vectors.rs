//! Known-answer vectors of DESIGN §6.1 (envelope, encrypted container, key wrap), computed by an independent
//! implementation. Invariant: our encoder reproduces every vector byte for byte and our decoder accepts it.

use airlock_core::Cancel;
use airlock_core::crypto::{self, ALG};
use airlock_core::envelope::{self, Signer, TrustedKeys};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/formats.json");
    let text = std::fs::read_to_string(path).expect("tests/fixtures/formats.json is readable");
    serde_json::from_str(&text).expect("formats.json is JSON")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("vector field {key} is a string"))
}

fn arr<const N: usize>(hex_text: &str) -> [u8; N] {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

#[test]
fn envelope_vector_public_key_and_key_id_derive_from_the_seed() {
    let v = &vectors()["envelope"];
    let signer = Signer::from_seed(&arr(s(v, "ed25519_seed_hex")));
    assert_eq!(STANDARD.encode(signer.public_key()), s(v, "public_key_b64"));
    assert_eq!(signer.key_id(), s(v, "keyid"));
    assert_eq!(envelope::key_id(&signer.public_key()), s(v, "keyid"));
    assert_eq!(signer.seed(), arr::<32>(s(v, "ed25519_seed_hex")));
}

#[test]
fn envelope_vector_signed_message_matches() {
    let v = &vectors()["envelope"];
    let msg = envelope::signed_message(s(v, "payload_type"), s(v, "payload_utf8").as_bytes());
    assert_eq!(hex::encode(msg), s(v, "signed_message_hex"));
}

#[test]
fn envelope_vector_verifies_with_threshold_one_and_returns_the_exact_payload() {
    let v = &vectors()["envelope"];
    let trusted = TrustedKeys::from_base64(&[s(v, "public_key_b64").to_string()]).unwrap();
    assert_eq!(trusted.key_ids(), vec![s(v, "keyid").to_string()]);
    let bytes = serde_json::to_vec(&v["envelope"]).unwrap();
    let payload = envelope::verify(&bytes, s(v, "payload_type"), &trusted, 1).unwrap();
    assert_eq!(payload, s(v, "payload_utf8").as_bytes());
}

#[test]
fn envelope_vector_is_reproduced_by_sign_with_the_same_seed() {
    let v = &vectors()["envelope"];
    let signer = Signer::from_seed(&arr(s(v, "ed25519_seed_hex")));
    let bytes = envelope::sign(s(v, "payload_type"), s(v, "payload_utf8").as_bytes(), &[&signer]);
    let ours: Value = serde_json::from_slice(&bytes).unwrap();
    // Ed25519 is deterministic: same seed and message give the same signature, so the envelopes are equal.
    assert_eq!(ours, v["envelope"]);
    let trusted = TrustedKeys::new(&[signer.public_key()]).unwrap();
    let payload = envelope::verify(&bytes, s(v, "payload_type"), &trusted, 1).unwrap();
    assert_eq!(payload, s(v, "payload_utf8").as_bytes());
}

#[test]
fn container_vector_is_reproduced_by_encrypt() {
    let v = &vectors()["container"];
    assert_eq!(s(v, "alg"), ALG);
    let chunk_size = u32::try_from(v["chunk_size"].as_u64().unwrap()).unwrap();
    let mut out = Vec::new();
    let n = crypto::encrypt(
        &arr(s(v, "bundle_key_hex")),
        &arr(s(v, "nonce_prefix_hex")),
        chunk_size,
        s(v, "plaintext_utf8").as_bytes(),
        &mut out,
    )
    .unwrap();
    assert_eq!(n, out.len() as u64);
    assert_eq!(hex::encode(&out), s(v, "container_hex"));
}

#[test]
fn container_vector_decrypts_to_the_plaintext() {
    let v = &vectors()["container"];
    let chunk_size = u32::try_from(v["chunk_size"].as_u64().unwrap()).unwrap();
    let container = hex::decode(s(v, "container_hex")).unwrap();
    let plaintext = s(v, "plaintext_utf8").as_bytes();
    let mut out = Vec::new();
    let n = crypto::decrypt(
        &arr(s(v, "bundle_key_hex")),
        Some(chunk_size),
        &container[..],
        &mut out,
        plaintext.len() as u64,
        &Cancel::never(),
    )
    .unwrap();
    assert_eq!(n, plaintext.len() as u64);
    assert_eq!(out, plaintext);
}

#[test]
fn key_wrap_vector_is_reproduced_and_unwraps() {
    let v = &vectors()["key_wrap"];
    assert_eq!(s(v, "associated_data"), "airlock-key-wrap-v1");
    let enc: [u8; 32] = STANDARD.decode(s(v, "encryption_key_b64")).unwrap().try_into().unwrap();
    let bundle_key: [u8; 32] = arr(s(v, "bundle_key_hex"));
    let wrapped = crypto::wrap_key(&enc, &bundle_key, &arr(s(v, "nonce_hex")));
    assert_eq!(wrapped, s(v, "wrapped_key"));
    assert_eq!(crypto::unwrap_key(&enc, s(v, "wrapped_key")).unwrap(), bundle_key);
}
