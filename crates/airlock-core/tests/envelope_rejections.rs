//! How signed envelopes are refused. Invariant: every forged, tampered, under-signed or malformed envelope is
//! rejected with its stable code, and only the exact signed payload bytes are ever returned.

use airlock_core::envelope::{self, MAX_ENVELOPE_BYTES, Signer, TrustedKeys};
use airlock_core::{Error, ErrorKind};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

const TYPE: &str = "airlock.release.v1";
const PAYLOAD: &[u8] = br#"{"spec":1,"app_id":"com.example.app","release":7}"#;

fn signer(n: u8) -> Signer {
    Signer::from_seed(&[n; 32])
}

fn trust(signers: &[&Signer]) -> TrustedKeys {
    TrustedKeys::new(&signers.iter().map(|s| s.public_key()).collect::<Vec<_>>()).unwrap()
}

fn code(r: Result<Vec<u8>, Error>) -> &'static str {
    match r {
        Err(e) => e.reject_code().unwrap_or_else(|| panic!("expected a rejection, got {e:?}")),
        Ok(p) => panic!("expected a rejection, got payload {:?}", String::from_utf8_lossy(&p)),
    }
}

fn edit(envelope: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(envelope).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn a_correctly_signed_envelope_returns_the_exact_payload_bytes() {
    let a = signer(1);
    let env = envelope::sign(TYPE, PAYLOAD, &[&a]);
    assert_eq!(envelope::verify(&env, TYPE, &trust(&[&a]), 1).unwrap(), PAYLOAD);
}

#[test]
fn an_envelope_signed_by_an_untrusted_key_is_signature_invalid() {
    let (a, b) = (signer(1), signer(2));
    let env = envelope::sign(TYPE, PAYLOAD, &[&a]);
    let err = envelope::verify(&env, TYPE, &trust(&[&b]), 1).unwrap_err();
    assert_eq!(err.reject_code(), Some("signature_invalid"));
    let msg = err.to_string();
    assert!(msg.contains("0 of the 1"), "{msg}");
    assert!(msg.contains("forged") && msg.contains("trustedKeys"), "{msg}");
}

#[test]
fn a_signature_under_a_trusted_key_id_but_made_by_another_key_is_signature_invalid() {
    let (a, b) = (signer(1), signer(2));
    let env = envelope::sign(TYPE, PAYLOAD, &[&b]);
    let forged = edit(&env, |v| v["signatures"][0]["keyid"] = json!(a.key_id()));
    assert_eq!(code(envelope::verify(&forged, TYPE, &trust(&[&a]), 1)), "signature_invalid");
}

#[test]
fn a_tampered_payload_is_signature_invalid() {
    let a = signer(1);
    let env = envelope::sign(TYPE, PAYLOAD, &[&a]);
    let tampered =
        edit(&env, |v| v["payload"] = json!(STANDARD.encode(br#"{"spec":1,"app_id":"com.example.app","release":8}"#)));
    assert_eq!(code(envelope::verify(&tampered, TYPE, &trust(&[&a]), 1)), "signature_invalid");
}

#[test]
fn a_tampered_payload_type_is_signature_invalid() {
    // The type is inside the signed message: relabelling a catalog as a release must not verify.
    let a = signer(1);
    let env = envelope::sign("airlock.catalog.v1", PAYLOAD, &[&a]);
    let relabelled = edit(&env, |v| v["payload_type"] = json!(TYPE));
    assert_eq!(code(envelope::verify(&relabelled, TYPE, &trust(&[&a]), 1)), "signature_invalid");
}

#[test]
fn an_authentic_envelope_of_another_type_is_wrong_payload_type() {
    let a = signer(1);
    let env = envelope::sign("airlock.catalog.v1", PAYLOAD, &[&a]);
    assert_eq!(code(envelope::verify(&env, TYPE, &trust(&[&a]), 1)), "wrong_payload_type");
}

#[test]
fn a_duplicated_key_id_counts_once_toward_the_threshold() {
    let (a, b) = (signer(1), signer(2));
    let env = envelope::sign(TYPE, PAYLOAD, &[&a, &a, &a]);
    let err = envelope::verify(&env, TYPE, &trust(&[&a, &b]), 2).unwrap_err();
    assert_eq!(err.reject_code(), Some("signature_invalid"));
    assert!(err.to_string().contains("only 1 of the 2"), "{err}");
}

#[test]
fn one_valid_signature_is_below_a_threshold_of_two() {
    let (a, b) = (signer(1), signer(2));
    let env = envelope::sign(TYPE, PAYLOAD, &[&a]);
    assert_eq!(code(envelope::verify(&env, TYPE, &trust(&[&a, &b]), 2)), "signature_invalid");
}

#[test]
fn two_distinct_trusted_keys_meet_a_threshold_of_two() {
    let (a, b) = (signer(1), signer(2));
    let env = envelope::sign(TYPE, PAYLOAD, &[&b, &a]);
    assert_eq!(envelope::verify(&env, TYPE, &trust(&[&a, &b]), 2).unwrap(), PAYLOAD);
}

#[test]
fn unknown_key_ids_and_malformed_signature_entries_are_ignored() {
    let (a, stranger) = (signer(1), signer(9));
    let env = envelope::sign(TYPE, PAYLOAD, &[&stranger, &a]);
    let noisy = edit(&env, |v| {
        let sigs = v["signatures"].as_array_mut().unwrap();
        sigs.insert(0, json!({"keyid": "ffffffffffffffff", "sig": "AAAA"}));
        sigs.insert(0, json!({"keyid": a.key_id(), "sig": "not base64!"}));
        sigs.insert(0, json!({"keyid": a.key_id()}));
        sigs.insert(0, json!(42));
        sigs.push(json!({"keyid": 7, "sig": null}));
    });
    assert_eq!(envelope::verify(&noisy, TYPE, &trust(&[&a]), 1).unwrap(), PAYLOAD);
    // Noise alone never counts.
    let only_noise = edit(&noisy, |v| {
        let sigs = v["signatures"].as_array_mut().unwrap();
        sigs.retain(|s| s["sig"] != json!(envelope_sig_of(&env, &a)));
    });
    assert_eq!(code(envelope::verify(&only_noise, TYPE, &trust(&[&a]), 1)), "signature_invalid");
}

fn envelope_sig_of(env: &[u8], s: &Signer) -> String {
    let v: Value = serde_json::from_slice(env).unwrap();
    let entry = v["signatures"].as_array().unwrap().iter().find(|e| e["keyid"] == json!(s.key_id())).unwrap();
    entry["sig"].as_str().unwrap().to_string()
}

#[test]
fn malformed_envelopes_are_envelope_malformed() {
    let a = signer(1);
    let env = envelope::sign(TYPE, PAYLOAD, &[&a]);
    let cases: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        b"".to_vec(),
        b"[]".to_vec(),
        edit(&env, |v| {
            v.as_object_mut().unwrap().remove("signatures");
        }),
        edit(&env, |v| {
            v.as_object_mut().unwrap().remove("payload");
        }),
        edit(&env, |v| {
            v.as_object_mut().unwrap().remove("payload_type");
        }),
        edit(&env, |v| v["signatures"] = json!("nope")),
        edit(&env, |v| v["payload"] = json!("!!not base64!!")),
        edit(&env, |v| {
            let p = v["payload"].as_str().unwrap().trim_end_matches('=').to_string();
            v["payload"] = json!(p)
        }),
    ];
    for (i, bad) in cases.iter().enumerate() {
        assert_eq!(code(envelope::verify(bad, TYPE, &trust(&[&a]), 1)), "envelope_malformed", "case {i}");
    }
}

#[test]
fn an_oversize_envelope_is_refused_before_parsing() {
    let a = signer(1);
    // Not even JSON: the size check must come first, so the code is still envelope_malformed and mentions size.
    let huge = vec![b' '; MAX_ENVELOPE_BYTES + 1];
    let err = envelope::verify(&huge, TYPE, &trust(&[&a]), 1).unwrap_err();
    assert_eq!(err.reject_code(), Some("envelope_malformed"));
    assert!(err.to_string().contains("limit"), "{err}");
}

#[test]
fn a_non_canonical_signature_with_s_at_least_l_is_rejected() {
    // Adding the group order L to a valid s gives a signature that lax verifiers accept (malleability).
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let a = signer(1);
    let env = envelope::sign(TYPE, PAYLOAD, &[&a]);
    let sig = STANDARD.decode(envelope_sig_of(&env, &a)).unwrap();
    let mut malleated = sig.clone();
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
        malleated[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "s + L fits in 32 bytes");
    let bad = edit(&env, |v| v["signatures"][0]["sig"] = json!(STANDARD.encode(&malleated)));
    assert_eq!(code(envelope::verify(&bad, TYPE, &trust(&[&a]), 1)), "signature_invalid");
}

#[test]
fn thresholds_that_cannot_be_met_are_configuration_errors() {
    let a = signer(1);
    let env = envelope::sign(TYPE, PAYLOAD, &[&a]);
    for (keys, threshold) in [(trust(&[&a]), 0), (trust(&[&a]), 2), (TrustedKeys::new(&[]).unwrap(), 1)] {
        let err = envelope::verify(&env, TYPE, &keys, threshold).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage, "{err:?}");
    }
}

#[test]
fn trusted_keys_reject_bad_base64_wrong_lengths_and_weak_points_naming_the_index() {
    let good = STANDARD.encode(signer(1).public_key());
    for bad in ["not base64", "AAAA", &STANDARD.encode([0u8; 31])] {
        let err = TrustedKeys::from_base64(&[good.clone(), bad.to_string()]).unwrap_err();
        assert!(matches!(&err, Error::Config(m) if m.contains("trustedKeys[1]")), "{err:?}");
    }
    // The identity point (a small-order key) would accept forged signatures.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let err = TrustedKeys::new(&[identity]).unwrap_err();
    assert!(matches!(&err, Error::Config(m) if m.contains("trustedKeys[0]") && m.contains("weak")), "{err:?}");
}

#[test]
fn trusted_keys_list_distinct_key_ids() {
    let (a, b) = (signer(1), signer(2));
    let keys = TrustedKeys::from_base64(&[
        STANDARD.encode(a.public_key()),
        STANDARD.encode(b.public_key()),
        STANDARD.encode(a.public_key()),
    ])
    .unwrap();
    assert_eq!(keys.len(), 2);
    assert!(!keys.is_empty());
    let mut want = vec![a.key_id(), b.key_id()];
    want.sort();
    assert_eq!(keys.key_ids(), want);
}

#[test]
fn generated_signers_are_distinct_and_round_trip_through_their_seed() {
    let (x, y) = (Signer::generate().unwrap(), Signer::generate().unwrap());
    assert_ne!(x.public_key(), y.public_key());
    assert_eq!(Signer::from_seed(&x.seed()).public_key(), x.public_key());
    assert_eq!(x.key_id().len(), 16);
    assert!(!format!("{x:?}").contains(&hex::encode(x.seed())));
}
