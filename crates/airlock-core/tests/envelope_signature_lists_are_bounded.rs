//! Specification: an envelope's signature list is bounded while it is parsed (at most `MAX_SIGNATURES` entries,
//! whatever they hold), so a hostile envelope cannot make the agent allocate per entry; within the bound, loose
//! entries are skipped as before, and a payload with JSON escapes still verifies over its exact bytes.

use airlock_core::envelope::{self, MAX_SIGNATURES, Signer, TrustedKeys};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

const TYPE: &str = "airlock.catalog.v1";
const PAYLOAD: &[u8] = br#"{"spec":1,"channel":"production"}"#;

fn with_signatures(mut entries: Vec<Value>, real: &Signer) -> Vec<u8> {
    let env: Value = serde_json::from_slice(&envelope::sign(TYPE, PAYLOAD, &[real])).unwrap();
    entries.push(env["signatures"][0].clone());
    json!({"payload_type": TYPE, "payload": env["payload"], "signatures": entries}).to_string().into_bytes()
}

#[test]
fn a_valid_signature_after_the_largest_allowed_number_of_loose_entries_still_verifies() {
    let key = Signer::from_seed(&[1u8; 32]);
    let trusted = TrustedKeys::new(&[key.public_key()]).unwrap();
    let loose = vec![json!(0), json!({"keyid": [1, 2]}), json!([[[]]]), json!({"keyid": "ab", "sig": {"x": 1}})];
    let entries: Vec<Value> = loose.into_iter().cycle().take(MAX_SIGNATURES - 1).collect();
    let env = with_signatures(entries, &key);
    assert_eq!(envelope::verify(&env, TYPE, &trusted, 1).unwrap(), PAYLOAD);
}

#[test]
fn one_entry_more_than_the_limit_is_refused_as_malformed_naming_the_limit() {
    let key = Signer::from_seed(&[1u8; 32]);
    let trusted = TrustedKeys::new(&[key.public_key()]).unwrap();
    let env = with_signatures(vec![json!({}); MAX_SIGNATURES], &key);
    let err = envelope::verify(&env, TYPE, &trusted, 1).unwrap_err();
    assert_eq!(err.reject_code(), Some("envelope_malformed"), "{err}");
    assert!(err.to_string().contains(&format!("more than {MAX_SIGNATURES} signatures")), "{err}");
}

#[test]
fn a_payload_written_with_json_escapes_verifies_over_the_same_bytes() {
    let key = Signer::from_seed(&[2u8; 32]);
    let trusted = TrustedKeys::new(&[key.public_key()]).unwrap();
    let env = String::from_utf8(envelope::sign(TYPE, PAYLOAD, &[&key])).unwrap();
    let b64 = STANDARD.encode(PAYLOAD);
    let written: String = b64.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    let escaped = env.replace(&b64, &written);
    assert_ne!(escaped, env, "the payload is written with escapes");
    assert_eq!(envelope::verify(escaped.as_bytes(), TYPE, &trusted, 1).unwrap(), PAYLOAD);
}

#[test]
fn payload_spec_reads_only_a_top_level_unsigned_integer() {
    assert_eq!(envelope::payload_spec(br#"{"a":[[{"spec":9}]],"spec":1}"#).unwrap(), Some(1));
    assert_eq!(envelope::payload_spec(br#"{"spec":"1"}"#).unwrap(), None);
    assert_eq!(envelope::payload_spec(br#"{"spec":[1]}"#).unwrap(), None);
    assert_eq!(envelope::payload_spec(br#"{"spec":-1}"#).unwrap(), None);
    assert_eq!(envelope::payload_spec(br#"{}"#).unwrap(), None);
    assert!(envelope::payload_spec(b"<html>").is_err());
}
