//! Signed envelopes. Invariant: a payload is returned only after `threshold` distinct trusted key ids have
//! verified (`verify_strict`) over the exact raw bytes; nothing is parsed before that. Memory is bounded before
//! anything is allocated: an envelope over [`MAX_ENVELOPE_BYTES`] is refused unread, a signature list longer than
//! [`MAX_SIGNATURES`] is refused while it is being parsed, and the payload exists once (decoded straight into the
//! signed message, which is then handed back as the payload).
//!
//! Format (DESIGN §6.1): `{"payload_type", "payload" (base64 of the exact payload bytes), "signatures":
//! [{"keyid", "sig"}]}`; each signature covers [`signed_message`]. Only the wrapper is parsed here; the payload
//! bytes are handed back untouched for the caller to parse once they are known to be authentic.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};

use crate::crypto;
use crate::error::{Error, Result};

/// Domain separation prefix of every signed message.
pub const SIG_CONTEXT: &[u8] = b"airlock-sig-v1";
/// Largest envelope accepted (the largest metadata document: a release manifest, see
/// [`crate::release::MAX_MANIFEST_BYTES`]); checked before parsing.
pub const MAX_ENVELOPE_BYTES: usize = 8 << 20;
/// Most signature entries an envelope may carry (a publisher signs with a few keys, more during a rotation);
/// a longer list is refused while it is parsed, before it is stored.
pub const MAX_SIGNATURES: usize = 16;

/// Hex of the first 8 bytes of SHA-256(public key).
pub fn key_id(public_key: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key);
    hex::encode(&digest[..8])
}

/// "airlock-sig-v1" ‖ u64le(len(type)) ‖ type ‖ u64le(len(payload)) ‖ payload
pub fn signed_message(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(SIG_CONTEXT.len() + 16 + payload_type.len() + payload.len());
    msg.extend_from_slice(SIG_CONTEXT);
    msg.extend_from_slice(&(payload_type.len() as u64).to_le_bytes());
    msg.extend_from_slice(payload_type.as_bytes());
    msg.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    msg.extend_from_slice(payload);
    msg
}

/// The publisher keys the app trusts (config `trustedKeys`), by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: BTreeMap<String, VerifyingKey>,
}

impl TrustedKeys {
    /// Builds the set from raw Ed25519 public keys. A key that is not a valid curve point, or a weak (small-order)
    /// key that would accept forged signatures, is an [`Error::Config`] naming its index. Repeated keys are kept once.
    pub fn new(keys: &[[u8; 32]]) -> Result<Self> {
        let mut map = BTreeMap::new();
        for (i, raw) in keys.iter().enumerate() {
            let key = VerifyingKey::from_bytes(raw).map_err(|_| {
                Error::Config(format!(
                    "trustedKeys[{i}] is not a valid Ed25519 public key; copy the public key printed by \
                     `airlock keygen` again"
                ))
            })?;
            if key.is_weak() {
                return Err(Error::Config(format!(
                    "trustedKeys[{i}] is a weak (small-order) Ed25519 key that would accept forged signatures; \
                     use a real publisher public key"
                )));
            }
            let id = key_id(raw);
            if let Some(existing) = map.get(&id)
                && existing != &key
            {
                return Err(Error::Config(format!(
                    "trustedKeys[{i}] has the same key id {id} as another trusted key; remove one of them"
                )));
            }
            map.insert(id, key);
        }
        Ok(TrustedKeys { keys: map })
    }

    /// Builds the set from the config's `trustedKeys` (base64 of 32-byte Ed25519 public keys).
    pub fn from_base64(keys: &[String]) -> Result<Self> {
        let mut raw = Vec::with_capacity(keys.len());
        for (i, text) in keys.iter().enumerate() {
            let bytes = STANDARD.decode(text.trim()).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
            match bytes {
                Some(b) => raw.push(b),
                None => {
                    return Err(Error::Config(format!(
                        "trustedKeys[{i}] is not the base64 of a 32-byte Ed25519 public key; copy the public key \
                         printed by `airlock keygen` again"
                    )));
                }
            }
        }
        Self::new(&raw)
    }

    /// True when no key is trusted (nothing can verify).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of distinct trusted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key ids, sorted.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.keys().cloned().collect()
    }
}

/// The envelope wrapper, borrowing its strings from the raw bytes where it can. Signature entries stay loose so
/// that one malformed entry is skipped, not fatal.
#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    payload_type: Cow<'a, str>,
    #[serde(borrow)]
    payload: Cow<'a, str>,
    signatures: Signatures,
}

/// At most [`MAX_SIGNATURES`] loose entries; the list is counted while it is read.
struct Signatures(Vec<LooseSig>);

/// One signature entry; `None` fields (and entries that are not objects) are skipped by [`verify`].
#[derive(Default)]
struct LooseSig {
    keyid: Option<String>,
    sig: Option<String>,
}

impl<'de> Deserialize<'de> for Signatures {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Signatures;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of signatures")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Signatures, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = seq.next_element::<LooseSig>()? {
                    if out.len() == MAX_SIGNATURES {
                        return Err(de::Error::custom(format_args!(
                            "it carries more than {MAX_SIGNATURES} signatures"
                        )));
                    }
                    out.push(entry);
                }
                Ok(Signatures(out))
            }
        }
        d.deserialize_seq(V)
    }
}

impl<'de> Deserialize<'de> for LooseSig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseSig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a signature entry")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<LooseSig, A::Error> {
                let mut out = LooseSig::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "keyid" => out.keyid = map.next_value::<LooseStr>()?.0,
                        "sig" => out.sig = map.next_value::<LooseStr>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<LooseSig, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LooseSig::default())
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<LooseSig, E> {
                Ok(LooseSig::default())
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<LooseSig, E> {
                Ok(LooseSig::default())
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<LooseSig, E> {
                Ok(LooseSig::default())
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<LooseSig, E> {
                Ok(LooseSig::default())
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<LooseSig, E> {
                Ok(LooseSig::default())
            }
            fn visit_unit<E>(self) -> std::result::Result<LooseSig, E> {
                Ok(LooseSig::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// A string, or `None` for any other JSON value (consumed without being stored).
struct LooseStr(Option<String>);

impl<'de> Deserialize<'de> for LooseStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<LooseStr, E> {
                Ok(LooseStr(Some(v.to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<LooseStr, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LooseStr(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<LooseStr, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LooseStr(None))
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<LooseStr, E> {
                Ok(LooseStr(None))
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<LooseStr, E> {
                Ok(LooseStr(None))
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<LooseStr, E> {
                Ok(LooseStr(None))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<LooseStr, E> {
                Ok(LooseStr(None))
            }
            fn visit_unit<E>(self) -> std::result::Result<LooseStr, E> {
                Ok(LooseStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn malformed(detail: impl std::fmt::Display) -> Error {
    Error::rejected(
        "envelope_malformed",
        format!("the signed file is not a valid Airlock envelope ({detail}); republish it with `airlock`"),
    )
}

/// Decodes one signature entry, or `None` when it is malformed.
fn parse_entry(entry: &LooseSig) -> Option<(&str, Signature)> {
    let keyid = entry.keyid.as_deref()?;
    let sig = STANDARD.decode(entry.sig.as_deref()?).ok()?;
    let sig = <[u8; 64]>::try_from(sig).ok()?;
    Some((keyid, Signature::from_bytes(&sig)))
}

/// [`signed_message`] built around the base64 `payload`, decoded straight into its place; returns the message
/// and the offset at which the payload starts.
fn message_around(payload_type: &str, payload_b64: &str) -> Result<(Vec<u8>, usize)> {
    let head = SIG_CONTEXT.len() + 16 + payload_type.len();
    let estimate = base64::decoded_len_estimate(payload_b64.len());
    let mut msg = Vec::with_capacity(head + estimate);
    msg.extend_from_slice(SIG_CONTEXT);
    msg.extend_from_slice(&(payload_type.len() as u64).to_le_bytes());
    msg.extend_from_slice(payload_type.as_bytes());
    msg.extend_from_slice(&[0u8; 8]);
    STANDARD.decode_vec(payload_b64, &mut msg).map_err(|_| malformed("its payload is not standard padded base64"))?;
    let len = ((msg.len() - head) as u64).to_le_bytes();
    if let Some(slot) = msg.get_mut(head - 8..head) {
        slot.copy_from_slice(&len);
    }
    Ok((msg, head))
}

/// Verifies the envelope over raw bytes and returns the exact payload bytes. Counts only distinct trusted key
/// ids whose signature verifies with `verify_strict`; needs >= threshold (threshold >= 1).
///
/// Rejections: `envelope_malformed`, `wrong_payload_type`, `signature_invalid`. A threshold of 0, or one that the
/// trusted keys can never meet, is an [`Error::Config`].
pub fn verify(envelope: &[u8], expected_type: &str, trusted: &TrustedKeys, threshold: usize) -> Result<Vec<u8>> {
    if threshold == 0 {
        return Err(Error::Config("signatureThreshold must be at least 1".into()));
    }
    if threshold > trusted.len() {
        return Err(Error::Config(format!(
            "signatureThreshold is {threshold} but only {} distinct trustedKeys are configured; add keys or lower \
             the threshold",
            trusted.len()
        )));
    }
    if envelope.len() > MAX_ENVELOPE_BYTES {
        return Err(malformed(format_args!(
            "it is {} bytes, over the {MAX_ENVELOPE_BYTES}-byte limit",
            envelope.len()
        )));
    }
    let raw: RawEnvelope = serde_json::from_slice(envelope).map_err(|e| malformed(format_args!("{e}")))?;
    let (mut message, head) = message_around(&raw.payload_type, &raw.payload)?;
    if raw.payload_type != expected_type {
        return Err(Error::rejected(
            "wrong_payload_type",
            format!(
                "the signed file holds a {:?} payload where a {expected_type:?} was expected; check the URL it \
                 came from",
                raw.payload_type
            ),
        ));
    }

    let mut valid: BTreeSet<&str> = BTreeSet::new();
    for entry in &raw.signatures.0 {
        let Some((keyid, sig)) = parse_entry(entry) else {
            continue;
        };
        let Some((id, key)) = trusted.keys.get_key_value(keyid) else {
            continue;
        };
        if valid.contains(id.as_str()) {
            continue;
        }
        if key.verify_strict(&message, &sig).is_ok() {
            valid.insert(id.as_str());
            if valid.len() >= threshold {
                message.drain(..head);
                return Ok(message);
            }
        }
    }
    Err(Error::rejected(
        "signature_invalid",
        format!(
            "only {} of the {threshold} required signatures from trusted keys are valid: the bundle may be forged \
             or signed with a key the app does not trust; if the publisher rotated keys, add the new public key \
             to trustedKeys",
            valid.len()
        ),
    ))
}

/// The top-level numeric `spec` of a verified JSON payload (`None` when it is missing or not an unsigned
/// integer), read in one streaming pass that stores nothing else, so that a payload of another spec can be refused
/// before it is parsed as this agent's format. Errors when the payload is not JSON.
pub fn payload_spec(payload: &[u8]) -> std::result::Result<Option<u64>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        spec: LooseU64,
    }
    serde_json::from_slice::<Probe>(payload).map(|p| p.spec.0)
}

/// An unsigned integer, or `None` for any other JSON value (consumed without being stored).
#[derive(Default)]
struct LooseU64(Option<u64>);

impl<'de> Deserialize<'de> for LooseU64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseU64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<LooseU64, E> {
                Ok(LooseU64(Some(v)))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<LooseU64, E> {
                Ok(LooseU64(u64::try_from(v).ok()))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<LooseU64, E> {
                Ok(LooseU64(None))
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<LooseU64, E> {
                Ok(LooseU64(None))
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<LooseU64, E> {
                Ok(LooseU64(None))
            }
            fn visit_unit<E>(self) -> std::result::Result<LooseU64, E> {
                Ok(LooseU64(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<LooseU64, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LooseU64(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<LooseU64, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LooseU64(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A publisher signing key (Ed25519).
pub struct Signer {
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("key_id", &self.key_id()).finish_non_exhaustive()
    }
}

impl Signer {
    /// The signer whose secret key is the 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Signer { key: SigningKey::from_bytes(seed) }
    }

    /// A new signer with a seed from the OS random number generator.
    pub fn generate() -> Result<Self> {
        Ok(Self::from_seed(&crypto::random_bytes::<32>()?))
    }

    /// The 32-byte seed (the secret to store).
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The Ed25519 public key (what apps put in `trustedKeys`, base64).
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The key id of [`Signer::public_key`].
    pub fn key_id(&self) -> String {
        key_id(&self.public_key())
    }
}

/// Builds the envelope JSON bytes {"payload_type","payload"(base64 std, padded),"signatures":[{"keyid","sig"}]}.
pub fn sign(payload_type: &str, payload: &[u8], signers: &[&Signer]) -> Vec<u8> {
    let message = signed_message(payload_type, payload);
    let signatures: Vec<serde_json::Value> = signers
        .iter()
        .map(|s| {
            let sig = s.key.sign(&message);
            serde_json::json!({"keyid": s.key_id(), "sig": STANDARD.encode(sig.to_bytes())})
        })
        .collect();
    serde_json::json!({
        "payload_type": payload_type,
        "payload": STANDARD.encode(payload),
        "signatures": signatures,
    })
    .to_string()
    .into_bytes()
}
