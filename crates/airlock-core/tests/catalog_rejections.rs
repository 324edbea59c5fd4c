//! Channel catalog parsing and TUF-lite freshness (DESIGN §6.1). Invariant under test: a catalog is acted on only
//! when it is authentic, structurally valid, meant for this app and channel and not a replay; an expired catalog
//! is a "nothing new" outcome, not an error; release envelopes must match the catalog's pins byte for byte.

use airlock_core::catalog::{self, CATALOG_PAYLOAD_TYPE, Catalog, Freshness, check_freshness, check_pin};
use airlock_core::clock::parse_rfc3339;
use airlock_core::envelope::{self, Signer, TrustedKeys};
use airlock_core::release::{RELEASE_PAYLOAD_TYPE, ReleaseManifest};
use airlock_core::segment::{DeviceProfile, decide};
use airlock_core::{Error, ErrorKind};
use airlock_testkit::bundle::{Dist, ReleaseSpec, publish, sha256_hex};
use serde_json::{Value, json};

const PIN_1: &str = "1111111111111111111111111111111111111111111111111111111111111111";

fn base() -> Value {
    json!({
        "spec": 1, "app_id": "com.example.app", "channel": "production", "serial": 10,
        "expires_at": "2026-12-01T00:00:00Z", "self_assign": false,
        "releases": {"1": {"sha256": PIN_1}}, "revoked": [],
        "rules": [{"release": 1}],
    })
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn parse(v: &Value) -> Catalog {
    Catalog::parse(&bytes(v)).unwrap()
}

fn code(r: Result<impl std::fmt::Debug, Error>) -> &'static str {
    let err = r.expect_err("expected a rejection");
    assert_eq!(err.kind(), ErrorKind::Rejected, "{err}");
    err.reject_code().unwrap()
}

/// Bytes that are not the ones the signed catalog pins: corrupt in transit (transient, never remembered).
fn transit(r: Result<impl std::fmt::Debug, Error>) -> &'static str {
    let err = r.expect_err("expected bytes corrupt in transit");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    err.transit_code().unwrap()
}

fn ms(t: &str) -> i64 {
    parse_rfc3339(t).unwrap()
}

const BEFORE_EXPIRY: &str = "2026-11-28T10:00:00Z";

#[test]
fn a_valid_catalog_parses_with_defaults_and_ignores_unknown_fields() {
    let mut v = base();
    v["future_field"] = json!({"anything": 1});
    v.as_object_mut().unwrap().remove("self_assign");
    v.as_object_mut().unwrap().remove("revoked");
    let c = parse(&v);
    assert_eq!((c.app_id.as_str(), c.channel.as_str(), c.serial), ("com.example.app", "production", 10));
    assert!(!c.self_assign && c.revoked.is_empty());
    assert_eq!(c.pin(1), Some(PIN_1));
    assert_eq!(c.pin(2), None);
    assert_eq!(c.expires_at_ms(), Some(ms("2026-12-01T00:00:00Z")));
    // The full example rule of DESIGN §6.1 parses and survives a serialize / parse round trip.
    let mut full = base();
    full["releases"] = json!({"42": {"sha256": PIN_1}, "43": {"sha256": PIN_1}});
    full["rules"] = json!([{
        "match": {"platforms": ["android"], "native": ">=1.2.0 <2.0.0", "custom_ids": ["qa-7"],
                  "device_ids": [], "attributes": {"plan": "enterprise"}},
        "rollout": {"percent": 25.0, "salt": "r42"},
        "variants": [{"release": 42, "weight": 50}, {"release": 43, "weight": 50}],
        "install": {"mode": "background", "window": {"start": "02:00", "end": "04:00"}, "mandatory": false}
    }]);
    let c = parse(&full);
    assert_eq!(c.rules[0].matcher.as_ref().unwrap().native.as_deref(), Some(">=1.2.0 <2.0.0"));
    assert_eq!(Catalog::parse(&serde_json::to_vec(&c).unwrap()).unwrap(), c);
}

#[test]
fn an_unknown_spec_major_is_unsupported_spec_and_a_missing_spec_is_bad_metadata() {
    let mut v = base();
    v["spec"] = json!(2);
    assert_eq!(code(Catalog::parse(&bytes(&v))), "unsupported_spec");
    v.as_object_mut().unwrap().remove("spec");
    assert_eq!(code(Catalog::parse(&bytes(&v))), "bad_metadata");
}

/// Turns the valid base catalog into a malformed one.
type Mutation = Box<dyn Fn(&mut Value)>;

#[test]
fn malformed_catalogs_and_rules_are_bad_metadata() {
    let cases: Vec<(&str, Mutation)> = vec![
        ("not an object", Box::new(|v| *v = json!("a string"))),
        (
            "rule names both release and variants",
            Box::new(|v| v["rules"][0]["variants"] = json!([{"release": 1, "weight": 1}])),
        ),
        ("rule names neither", Box::new(|v| v["rules"] = json!([{"rollout": {"percent": 5.0, "salt": "s"}}]))),
        ("empty variants", Box::new(|v| v["rules"] = json!([{"variants": []}]))),
        ("zero total weight", Box::new(|v| v["rules"] = json!([{"variants": [{"release": 1, "weight": 0}]}]))),
        ("percent above 100", Box::new(|v| v["rules"][0]["rollout"] = json!({"percent": 100.5, "salt": "s"}))),
        ("negative percent", Box::new(|v| v["rules"][0]["rollout"] = json!({"percent": -1.0, "salt": "s"}))),
        ("unpinned release", Box::new(|v| v["rules"][0]["release"] = json!(2))),
        (
            "unpinned variant",
            Box::new(|v| {
                v["rules"] = json!([{"variants": [{"release": 1, "weight": 1}, {"release": 9, "weight": 1}]}])
            }),
        ),
        ("uppercase pin", Box::new(|v| v["releases"]["1"]["sha256"] = json!(PIN_1.replace('1', "A")))),
        ("short pin", Box::new(|v| v["releases"]["1"]["sha256"] = json!("abc"))),
        ("non-numeric release key", Box::new(|v| v["releases"]["latest"] = json!({"sha256": PIN_1}))),
        (
            "bad window hour",
            Box::new(|v| v["rules"][0]["install"] = json!({"window": {"start": "24:00", "end": "04:00"}})),
        ),
        (
            "bad window shape",
            Box::new(|v| v["rules"][0]["install"] = json!({"window": {"start": "2:00", "end": "04:00"}})),
        ),
        ("bad expires_at", Box::new(|v| v["expires_at"] = json!("next tuesday"))),
        ("bad native range", Box::new(|v| v["rules"][0]["match"] = json!({"native": ">=banana"}))),
        ("wrong field type", Box::new(|v| v["serial"] = json!("ten"))),
        (
            "missing serial",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("serial");
            }),
        ),
        ("empty channel", Box::new(|v| v["channel"] = json!(""))),
    ];
    let n = cases.len();
    for (name, mutate) in cases {
        let mut v = base();
        mutate(&mut v);
        let err = Catalog::parse(&bytes(&v)).expect_err(name);
        assert_eq!(err.reject_code(), Some("bad_metadata"), "{name}: {err}");
        assert!(err.to_string().len() > 40, "{name}: the message names the cause: {err}");
    }
    assert_eq!(code(Catalog::parse(b"{")), "bad_metadata", "not JSON");
    println!("{n} malformed catalogs rejected as bad_metadata");
}

#[test]
fn a_catalog_for_another_app_or_channel_is_refused() {
    let c = parse(&base());
    c.check_binding("com.example.app", "production").unwrap();
    assert_eq!(code(c.check_binding("com.other.app", "production")), "wrong_app");
    assert_eq!(code(c.check_binding("com.example.app", "beta")), "wrong_channel");
}

#[test]
fn freshness_first_catalog_and_higher_serials_are_fresh() {
    let c = parse(&base());
    let h = sha256_hex(&bytes(&base()));
    assert_eq!(check_freshness(&c, None, None, &h, ms(BEFORE_EXPIRY)).unwrap(), Freshness::Fresh);
    assert_eq!(check_freshness(&c, Some(9), Some(PIN_1), &h, ms(BEFORE_EXPIRY)).unwrap(), Freshness::Fresh);
}

#[test]
fn a_replayed_lower_serial_is_replayed_serial_even_when_expired() {
    let c = parse(&base());
    let h = sha256_hex(&bytes(&base()));
    assert_eq!(code(check_freshness(&c, Some(11), None, &h, ms(BEFORE_EXPIRY))), "replayed_serial");
    assert_eq!(code(check_freshness(&c, Some(11), None, &h, ms("2030-01-01T00:00:00Z"))), "replayed_serial");
}

#[test]
fn the_same_serial_with_the_same_bytes_is_unchanged_and_with_other_bytes_is_serial_reused() {
    let first = base();
    let mut second = base();
    second["rules"][0]["install"] = json!({"mode": "immediate"});
    let (h1, h2) = (sha256_hex(&bytes(&first)), sha256_hex(&bytes(&second)));
    let (c1, c2) = (parse(&first), parse(&second));
    assert_eq!(check_freshness(&c1, Some(10), Some(&h1), &h1, ms(BEFORE_EXPIRY)).unwrap(), Freshness::Unchanged);
    assert_eq!(code(check_freshness(&c2, Some(10), Some(&h1), &h2, ms(BEFORE_EXPIRY))), "serial_reused");
    // When the bytes of the accepted copy were not kept, an equal serial brings nothing new.
    assert_eq!(check_freshness(&c2, Some(10), None, &h2, ms(BEFORE_EXPIRY)).unwrap(), Freshness::Unchanged);
}

#[test]
fn an_expired_catalog_is_expired_not_an_error() {
    let c = parse(&base());
    let h = sha256_hex(&bytes(&base()));
    for now in ["2026-12-01T00:00:00Z", "2027-06-01T00:00:00Z"] {
        assert_eq!(check_freshness(&c, Some(9), None, &h, ms(now)).unwrap(), Freshness::Expired, "at {now}");
        assert_eq!(check_freshness(&c, Some(10), Some(&h), &h, ms(now)).unwrap(), Freshness::Expired, "at {now}");
    }
    assert_eq!(check_freshness(&c, None, None, &h, ms("2026-11-30T23:59:59.999Z")).unwrap(), Freshness::Fresh);
    // An expired catalog still parses and still says what the device would get: it is the caller that
    // installs nothing new, and nothing about it means "roll back".
    assert_eq!(decide(&c, &DeviceProfile::default()).unwrap().map(|d| d.release), Some(1));
}

#[test]
fn release_envelopes_must_match_the_catalog_pin_byte_for_byte() {
    let signer = Signer::from_seed(&[7; 32]);
    let dist = Dist::small("pins");
    let one = publish(&dist, &ReleaseSpec { release: 1, ..ReleaseSpec::new("1.0.1", "b1.zip") }, &[&signer]);
    let two = publish(&dist, &ReleaseSpec { release: 2, ..ReleaseSpec::new("1.0.2", "b2.zip") }, &[&signer]);
    let mut v = base();
    v["releases"] = json!({"1": {"sha256": sha256_hex(&one.envelope)}, "2": {"sha256": sha256_hex(&two.envelope)}});
    let c = parse(&v);
    check_pin(&c, 1, &one.envelope).unwrap();
    check_pin(&c, 2, &two.envelope).unwrap();
    // Mix-and-match: a validly signed manifest of another release served under release 1.
    assert_eq!(transit(check_pin(&c, 1, &two.envelope)), "pin_mismatch");
    // The same signed content re-serialized (still verifies) is not the pinned file either.
    let reserialized = serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&one.envelope).unwrap()).unwrap();
    let trusted = TrustedKeys::new(&[signer.public_key()]).unwrap();
    envelope::verify(&reserialized, RELEASE_PAYLOAD_TYPE, &trusted, 1).unwrap();
    assert_eq!(transit(check_pin(&c, 1, &reserialized)), "pin_mismatch");
    // A release the catalog does not pin at all.
    assert_eq!(code(check_pin(&c, 3, &one.envelope)), "pin_mismatch");
}

#[test]
fn a_signed_catalog_round_trips_through_the_envelope_and_is_refused_as_a_release() {
    let signer = Signer::from_seed(&[9; 32]);
    let other = Signer::from_seed(&[10; 32]);
    let trusted = TrustedKeys::new(&[signer.public_key()]).unwrap();
    let dist = Dist::small("signed");
    let release = publish(&dist, &ReleaseSpec::new("1.0.1", "b1.zip"), &[&signer]);
    let mut v = base();
    v["releases"]["1"]["sha256"] = json!(sha256_hex(&release.envelope));
    let payload = bytes(&v);
    let env = envelope::sign(CATALOG_PAYLOAD_TYPE, &payload, &[&signer]);

    // The device's path: verify, parse, bind, freshness, decide, then pin and verify the release.
    let verified = envelope::verify(&env, CATALOG_PAYLOAD_TYPE, &trusted, 1).unwrap();
    assert_eq!(verified, payload, "the exact payload bytes come back");
    let c = Catalog::parse(&verified).unwrap();
    c.check_binding("com.example.app", "production").unwrap();
    let fresh = catalog::check_freshness(&c, Some(9), None, &sha256_hex(&verified), ms(BEFORE_EXPIRY)).unwrap();
    assert_eq!(fresh, Freshness::Fresh);
    let decision = decide(&c, &DeviceProfile::default()).unwrap().unwrap();
    check_pin(&c, decision.release, &release.envelope).unwrap();
    let manifest =
        ReleaseManifest::parse(&envelope::verify(&release.envelope, RELEASE_PAYLOAD_TYPE, &trusted, 1).unwrap())
            .unwrap();
    assert_eq!(manifest.release, decision.release);

    // Payload type is bound by the signature: a catalog is not a release manifest and vice versa.
    assert_eq!(code(envelope::verify(&env, RELEASE_PAYLOAD_TYPE, &trusted, 1)), "wrong_payload_type");
    assert_eq!(code(envelope::verify(&release.envelope, CATALOG_PAYLOAD_TYPE, &trusted, 1)), "wrong_payload_type");
    // Signed by a key the app does not trust.
    let forged = envelope::sign(CATALOG_PAYLOAD_TYPE, &payload, &[&other]);
    assert_eq!(code(envelope::verify(&forged, CATALOG_PAYLOAD_TYPE, &trusted, 1)), "signature_invalid");
}
