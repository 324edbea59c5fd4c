//! The catalog source through the agent: every forged, replayed, stale or mismatched catalog or manifest is
//! refused with its own code and changes no state (the database dump and the tree are identical afterwards).

mod common;

use airlock_core::catalog::{CATALOG_PAYLOAD_TYPE, Catalog, ReleasePin, Rule};
use airlock_core::envelope::{self, Signer};
use airlock_core::release::NativeRange;
use airlock_core::source::CheckResult;
use airlock_core::{Cancel, Error};
use airlock_testkit::bundle::{Dist, ReleaseSpec, b64, publish, sha256_hex};
use airlock_testkit::server::TestServer;
use common::{Phone, T0};
use std::collections::BTreeMap;

struct World {
    phone: Phone,
    server: TestServer,
    key: Signer,
}

fn world() -> World {
    let key = Signer::from_seed(&[4u8; 32]);
    let server = TestServer::start();
    let phone = Phone::new(serde_json::json!({
        "catalogUrl": server.url(""), "trustedKeys": [b64(&key.public_key())],
    }));
    World { phone, server, key }
}

/// Publishes release `n` of `dist` and returns the envelope bytes' pin.
fn release(w: &World, n: u64, spec: ReleaseSpec<'_>) -> String {
    let p = publish(&Dist::small(&format!("r{n}")), &ReleaseSpec { release: n, ..spec }, &[&w.key]);
    w.server.put(&format!("/com.example.app/bundles/r{n}.zip"), p.bundle);
    w.server.put(&format!("/com.example.app/releases/{n}.json"), p.envelope.clone());
    sha256_hex(&p.envelope)
}

fn catalog(serial: u64, expires_ms: i64, pins: &[(u64, String)], rules: Vec<Rule>) -> Catalog {
    Catalog {
        spec: 1,
        app_id: "com.example.app".into(),
        channel: "production".into(),
        serial,
        expires_at: airlock_core::clock::iso8601(expires_ms),
        self_assign: false,
        releases: pins
            .iter()
            .map(|(n, s)| (n.to_string(), ReleasePin { sha256: s.clone(), version: None }))
            .collect::<BTreeMap<_, _>>(),
        revoked: vec![],
        rules,
    }
}

fn to(n: u64) -> Rule {
    Rule { matcher: None, rollout: None, release: Some(n), variants: None, install: None }
}

fn put_catalog(w: &World, c: &Catalog, signers: &[&Signer]) {
    let payload = serde_json::to_vec(c).unwrap();
    w.server.put("/com.example.app/channels/production.json", envelope::sign(CATALOG_PAYLOAD_TYPE, &payload, signers));
}

/// For catalogs refused at the catalog level, nothing at all may change; when the catalog is valid and the
/// manifest is refused (`manifest_level`), the valid catalog is remembered (kv) but no bundle, pointer or blocklist
/// entry changes.
fn refused(w: &World, code: &str, f: impl FnOnce(&airlock_core::Agent) -> Result<(), Error>) {
    refused_at(w, code, false, f)
}

fn refused_at(w: &World, code: &str, manifest_level: bool, f: impl FnOnce(&airlock_core::Agent) -> Result<(), Error>) {
    let agent = w.phone.open();
    let dump = |phone: &Phone| {
        let d = phone.db_dump();
        if manifest_level { d.split("\nkv\n").next().unwrap_or("").to_string() } else { d }
    };
    let db = dump(&w.phone);
    let tree = w.phone.tree_outside_downloads();
    let err = f(&agent).expect_err("must be refused");
    assert_eq!(err.reject_code(), Some(code), "{err}");
    assert_eq!(dump(&w.phone), db, "state changed by a refused catalog ({code})");
    assert_eq!(w.phone.tree_outside_downloads(), tree);
}

fn update(agent: &airlock_core::Agent) -> Result<(), Error> {
    agent.update(&Cancel::never()).map(|_| ())
}

#[test]
fn a_good_catalog_installs_its_release_and_a_304_costs_no_body() {
    let w = world();
    let pin = release(&w, 1, ReleaseSpec::new("1.1.0", "../bundles/r1.zip"));
    put_catalog(&w, &catalog(1, T0 + 86_400_000, &[(1, pin)], vec![to(1)]), &[&w.key]);
    let agent = w.phone.open();
    let queued = agent.update(&Cancel::never()).unwrap().expect("an update");
    assert_eq!(queued.version, "1.1.0");
    assert_eq!(agent.next_bundle().unwrap().unwrap().id, queued.id);
    let before = w.server.body_bytes_sent_for("/com.example.app/channels/production.json");
    match agent.check(&Cancel::never()).unwrap() {
        CheckResult::Available { installed: Some(b), .. } => assert_eq!(b.id, queued.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.server.body_bytes_sent_for("/com.example.app/channels/production.json"), before, "304");
}

#[test]
fn a_catalog_signed_with_an_untrusted_key_is_refused() {
    let w = world();
    let pin = release(&w, 1, ReleaseSpec::new("1.1.0", "../bundles/r1.zip"));
    put_catalog(&w, &catalog(1, T0 + 86_400_000, &[(1, pin)], vec![to(1)]), &[&Signer::from_seed(&[9u8; 32])]);
    refused(&w, "signature_invalid", update);
}

#[test]
fn a_duplicate_key_id_counts_once_toward_the_threshold() {
    let key = Signer::from_seed(&[4u8; 32]);
    let other = Signer::from_seed(&[5u8; 32]);
    let server = TestServer::start();
    let phone = Phone::new(serde_json::json!({
        "catalogUrl": server.url(""), "signatureThreshold": 2,
        "trustedKeys": [b64(&key.public_key()), b64(&other.public_key())],
    }));
    let w = World { phone, server, key };
    let pin = release(&w, 1, ReleaseSpec::new("1.1.0", "../bundles/r1.zip"));
    put_catalog(&w, &catalog(1, T0 + 86_400_000, &[(1, pin)], vec![to(1)]), &[&w.key, &w.key]);
    refused(&w, "signature_invalid", update);
}

#[test]
fn a_tampered_catalog_payload_is_refused() {
    let w = world();
    let pin = release(&w, 1, ReleaseSpec::new("1.1.0", "../bundles/r1.zip"));
    let c = catalog(1, T0 + 86_400_000, &[(1, pin)], vec![to(1)]);
    let mut env: serde_json::Value =
        serde_json::from_slice(&envelope::sign(CATALOG_PAYLOAD_TYPE, &serde_json::to_vec(&c).unwrap(), &[&w.key]))
            .unwrap();
    let mut forged = c.clone();
    forged.serial = 99;
    env["payload"] = b64(&serde_json::to_vec(&forged).unwrap()).into();
    w.server.put("/com.example.app/channels/production.json", serde_json::to_vec(&env).unwrap());
    refused(&w, "signature_invalid", update);
}

#[test]
fn an_unknown_spec_major_is_refused() {
    let w = world();
    let pin = release(&w, 1, ReleaseSpec::new("1.1.0", "../bundles/r1.zip"));
    let mut c = catalog(1, T0 + 86_400_000, &[(1, pin)], vec![to(1)]);
    c.spec = 2;
    put_catalog(&w, &c, &[&w.key]);
    refused(&w, "unsupported_spec", update);
}

#[test]
fn a_replayed_lower_serial_is_refused_after_a_newer_one_was_seen() {
    let w = world();
    let pin = release(&w, 1, ReleaseSpec::new("1.1.0", "../bundles/r1.zip"));
    put_catalog(&w, &catalog(5, T0 + 86_400_000, &[(1, pin.clone())], vec![to(1)]), &[&w.key]);
    w.phone.open().check(&Cancel::never()).unwrap();
    put_catalog(&w, &catalog(4, T0 + 86_400_000, &[(1, pin)], vec![to(1)]), &[&w.key]);
    refused(&w, "replayed_serial", update);
}

#[test]
fn an_expired_catalog_installs_nothing_new_and_rolls_nothing_back() {
    let w = world();
    let pin = release(&w, 1, ReleaseSpec::new("1.1.0", "../bundles/r1.zip"));
    put_catalog(&w, &catalog(1, T0 - 1, &[(1, pin)], vec![to(1)]), &[&w.key]);
    let agent = w.phone.open();
    let err = agent.update(&Cancel::never()).unwrap_err();
    assert!(err.is_transient() && err.to_string().contains("expired"), "{err}");
    assert!(agent.next_bundle().unwrap().is_none());
    assert_eq!(agent.current().unwrap().bundle.id, "builtin");
}

#[test]
fn a_manifest_that_does_not_match_the_catalog_pin_is_refused_as_corrupt_in_transit_and_not_remembered() {
    let w = world();
    release(&w, 1, ReleaseSpec::new("1.1.0", "../bundles/r1.zip"));
    put_catalog(&w, &catalog(1, T0 + 86_400_000, &[(1, sha256_hex(b"another manifest"))], vec![to(1)]), &[&w.key]);
    let agent = w.phone.open();
    let state = |phone: &Phone| phone.db_dump().split("\nkv\n").next().unwrap_or("").to_string();
    let db = state(&w.phone);
    let tree = w.phone.tree_outside_downloads();
    let err = update(&agent).expect_err("must be refused");
    assert!(err.is_transient() && err.transit_code() == Some("pin_mismatch"), "{err}");
    assert!(err.to_string().contains("will be retried"), "{err}");
    assert_eq!(state(&w.phone), db, "state changed by bytes that are not the pinned ones");
    assert!(!w.phone.db_dump().contains("rejected:"), "bytes that are not the pinned ones are never remembered");
    assert_eq!(w.phone.tree_outside_downloads(), tree);
}

#[test]
fn a_release_for_another_app_platform_or_native_range_is_refused() {
    for (code, spec) in [
        ("wrong_app", ReleaseSpec { app_id: "com.other", ..ReleaseSpec::new("1.1.0", "../bundles/r1.zip") }),
        (
            "wrong_platform",
            ReleaseSpec { platforms: vec!["ios".into()], ..ReleaseSpec::new("1.1.0", "../bundles/r1.zip") },
        ),
        (
            "incompatible_native",
            ReleaseSpec {
                native: NativeRange { min: Some("2.0.0".into()), max: None },
                ..ReleaseSpec::new("1.1.0", "../bundles/r1.zip")
            },
        ),
    ] {
        let w = world();
        let pin = release(&w, 1, spec);
        put_catalog(&w, &catalog(1, T0 + 86_400_000, &[(1, pin)], vec![to(1)]), &[&w.key]);
        refused_at(&w, code, true, update);
    }
}

#[test]
fn a_device_cannot_self_assign_a_channel_that_does_not_allow_it() {
    let w = world();
    let pin = release(&w, 1, ReleaseSpec::new("1.1.0", "../bundles/r1.zip"));
    let mut c = catalog(1, T0 + 86_400_000, &[(1, pin)], vec![to(1)]);
    c.channel = "internal".into();
    w.server.put(
        "/com.example.app/channels/internal.json",
        envelope::sign(CATALOG_PAYLOAD_TYPE, &serde_json::to_vec(&c).unwrap(), &[&w.key]),
    );
    let agent = w.phone.open();
    let err = agent.set_channel("internal", &Cancel::never()).unwrap_err();
    assert!(err.to_string().contains("does not allow"), "{err}");
    assert_eq!(agent.get_channel().unwrap().channel, "production");
    assert!(w.phone.event_names().contains(&"channelPrivate"));
}

#[test]
fn a_release_needing_a_newer_native_app_emits_breaking_available() {
    let w = world();
    let pin = release(
        &w,
        1,
        ReleaseSpec {
            native: NativeRange { min: Some("3.0.0".into()), max: None },
            ..ReleaseSpec::new("3.0.1", "../bundles/r1.zip")
        },
    );
    put_catalog(&w, &catalog(1, T0 + 86_400_000, &[(1, pin)], vec![to(1)]), &[&w.key]);
    let agent = w.phone.open();
    let err = agent.update(&Cancel::never()).unwrap_err();
    assert_eq!(err.reject_code(), Some("incompatible_native"));
    let events = w.phone.events.take();
    assert!(
        events.iter().any(|e| matches!(e, airlock_core::Event::BreakingAvailable { version } if version == "3.0.1")),
        "{events:?}"
    );
}

#[test]
fn a_revoked_release_is_replaced_at_the_next_launch_and_never_installed_again() {
    let w = world();
    let pin1 = release(&w, 1, ReleaseSpec::new("1.1.0", "../bundles/r1.zip"));
    let pin2 = release(&w, 2, ReleaseSpec::new("1.2.0", "../bundles/r2.zip"));
    put_catalog(&w, &catalog(1, T0 + 86_400_000, &[(1, pin1.clone())], vec![to(1)]), &[&w.key]);
    let agent = w.phone.open();
    agent.update(&Cancel::never()).unwrap();
    let l = agent.launch().unwrap();
    agent.notify_app_ready(&l.token).unwrap();
    put_catalog(&w, &catalog(2, T0 + 86_400_000, &[(2, pin2.clone())], vec![to(2)]), &[&w.key]);
    agent.update(&Cancel::never()).unwrap();
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.version, "1.2.0");
    agent.notify_app_ready(&l.token).unwrap();

    // Release 2 turns out bad: the publisher revokes it and points back at release 1.
    let mut c = catalog(3, T0 + 86_400_000, &[(1, pin1)], vec![to(1)]);
    c.revoked = vec![2];
    put_catalog(&w, &c, &[&w.key]);
    agent.update(&Cancel::never()).unwrap();
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.version, "1.1.0", "the revoked release no longer serves");
    agent.notify_app_ready(&l.token).unwrap();

    // Even a catalog that names it again cannot bring it back on this device.
    put_catalog(&w, &catalog(4, T0 + 86_400_000, &[(2, pin2)], vec![to(2)]), &[&w.key]);
    match agent.check(&Cancel::never()).unwrap() {
        CheckResult::UpToDate { reason, .. } => {
            assert!(reason.contains("blocklisted") || reason.contains("failed"), "{reason}")
        }
        other => panic!("a revoked release was offered again: {other:?}"),
    }
}
