//! Specification: `check` and `getLatest()` name a release by its display version (`1.0.3`), never by its release
//! number. The catalog pins each release as `{"sha256", "version"}`; a catalog written by an older publisher
//! (pins without `version`) still works: the agent reads the version from the pinned, verified manifest.

mod common;

use airlock_core::catalog::{CATALOG_PAYLOAD_TYPE, Catalog, ReleasePin, Rule};
use airlock_core::envelope::{self, Signer};
use airlock_core::source::CheckResult;
use airlock_core::{Cancel, Error};
use airlock_testkit::bundle::{Dist, ReleaseSpec, b64, publish};
use airlock_testkit::server::TestServer;
use common::{Phone, T0};
use std::collections::BTreeMap;

const CHANNEL: &str = "/com.example.app/channels/production.json";

struct World {
    phone: Phone,
    server: TestServer,
    key: Signer,
}

fn world() -> World {
    let key = Signer::from_seed(&[7u8; 32]);
    let server = TestServer::start();
    let phone = Phone::new(serde_json::json!({
        "catalogUrl": server.url(""), "trustedKeys": [b64(&key.public_key())],
    }));
    World { phone, server, key }
}

/// Publishes release 3 as display version 1.0.3 and serves a catalog pinning it (`with_version`: the new pin
/// format; without: the format older publishers wrote).
fn publish_release_3(w: &World, with_version: bool) {
    let spec = ReleaseSpec { release: 3, ..ReleaseSpec::new("1.0.3", "../bundles/r3.zip") };
    let p = publish(&Dist::small("r3"), &spec, &[&w.key]);
    w.server.put("/com.example.app/bundles/r3.zip", p.bundle.clone());
    w.server.put("/com.example.app/releases/3.json", p.envelope.clone());
    let mut pin: ReleasePin = p.pin();
    assert_eq!(pin.version.as_deref(), Some("1.0.3"), "the testkit publisher pins the display version");
    if !with_version {
        pin.version = None;
    }
    let catalog = Catalog {
        spec: 1,
        app_id: "com.example.app".into(),
        channel: "production".into(),
        serial: 1,
        expires_at: airlock_core::clock::iso8601(T0 + 86_400_000),
        self_assign: false,
        releases: BTreeMap::from([("3".to_string(), pin)]),
        revoked: vec![],
        rules: vec![Rule { release: Some(3), ..Default::default() }],
    };
    let payload = serde_json::to_vec(&catalog).unwrap();
    let text = String::from_utf8(payload.clone()).unwrap();
    assert_eq!(text.contains("\"version\":\"1.0.3\""), with_version, "{text}");
    w.server.put(CHANNEL, envelope::sign(CATALOG_PAYLOAD_TYPE, &payload, &[&w.key]));
}

fn available_version(w: &World) -> Result<String, Error> {
    let agent = w.phone.open();
    match agent.check(&Cancel::never())? {
        CheckResult::Available { release, version, installed, .. } => {
            assert_eq!(release, 3);
            assert!(installed.is_none());
            Ok(version)
        }
        other => panic!("expected an available release, got {other:?}"),
    }
}

#[test]
fn check_names_the_display_version_the_catalog_pins_without_fetching_the_manifest() {
    let w = world();
    publish_release_3(&w, true);
    assert_eq!(available_version(&w).unwrap(), "1.0.3");
    assert!(w.server.requests_for("/com.example.app/releases/3.json").is_empty(), "the pin names the version");
    assert!(w.phone.bundle_dirs().is_empty(), "a check downloads nothing");
}

#[test]
fn check_reads_the_display_version_from_the_pinned_manifest_when_an_older_catalog_lacks_it() {
    let w = world();
    publish_release_3(&w, false);
    assert_eq!(available_version(&w).unwrap(), "1.0.3");
    assert_eq!(w.server.requests_for("/com.example.app/releases/3.json").len(), 1);
    assert!(w.phone.bundle_dirs().is_empty(), "a check downloads nothing");
}

#[test]
fn get_latest_names_the_display_version_in_both_catalog_formats() {
    for with_version in [true, false] {
        let w = world();
        publish_release_3(&w, with_version);
        let latest = w.phone.open().latest(None, &Cancel::never()).unwrap();
        assert_eq!(latest.version, "1.0.3", "with_version={with_version}");
        assert!(latest.url.as_deref().is_some_and(|u| u.ends_with("/releases/3.json")));
    }
}

#[test]
fn a_catalog_pin_whose_version_is_not_a_string_is_refused_as_bad_metadata() {
    let w = world();
    let payload = serde_json::json!({
        "spec": 1, "app_id": "com.example.app", "channel": "production", "serial": 1,
        "expires_at": airlock_core::clock::iso8601(T0 + 86_400_000),
        "releases": {"3": {"sha256": "a".repeat(64), "version": 3}}, "rules": [{"release": 3}],
    });
    let env = envelope::sign(CATALOG_PAYLOAD_TYPE, &serde_json::to_vec(&payload).unwrap(), &[&w.key]);
    w.server.put(CHANNEL, env);
    let err = w.phone.open().check(&Cancel::never()).unwrap_err();
    assert_eq!(err.reject_code(), Some("bad_metadata"), "{err}");
}
