//! Specification: an HTML page answered for a catalog, a release manifest or the channel index (a captive portal,
//! a middlebox's error page) is a transient network error that names the captive portal, whatever Content-Type it
//! came with; it is never "bundle rejected … republish it", nothing is remembered, and the release installs once
//! the network is healthy. A redirect to a scheme the agent does not fetch (`file://`) says so.

mod common;

use airlock_core::catalog::{CATALOG_PAYLOAD_TYPE, Catalog, Rule};
use airlock_core::envelope::{self, Signer};
use airlock_core::source::INDEX_PAYLOAD_TYPE;
use airlock_core::{Cancel, Error};
use airlock_testkit::bundle::{Dist, ReleaseSpec, b64, publish};
use airlock_testkit::server::{Fault, TestServer};
use common::{Phone, T0};
use std::collections::BTreeMap;

const CHANNEL: &str = "/com.example.app/channels/production.json";
const MANIFEST: &str = "/com.example.app/releases/1.json";
const INDEX: &str = "/com.example.app/channels/index.json";
const PORTAL: &[u8] = b"<!DOCTYPE html><html><body><form action=\"/login\">Sign in to Free WiFi</form></body></html>";

struct World {
    phone: Phone,
    server: TestServer,
    /// The signed catalog and manifest as published (to serve again once the network is healthy).
    catalog: Vec<u8>,
    manifest: Vec<u8>,
}

fn world() -> World {
    let key = Signer::from_seed(&[8u8; 32]);
    let server = TestServer::start();
    let phone = Phone::new(serde_json::json!({
        "catalogUrl": server.url(""), "trustedKeys": [b64(&key.public_key())],
    }));
    let spec = ReleaseSpec { release: 1, ..ReleaseSpec::new("1.0.1", "../bundles/r1.zip") };
    let p = publish(&Dist::small("r1"), &spec, &[&key]);
    server.put("/com.example.app/bundles/r1.zip", p.bundle.clone());
    server.put(MANIFEST, p.envelope.clone());
    let catalog = Catalog {
        spec: 1,
        app_id: "com.example.app".into(),
        channel: "production".into(),
        serial: 1,
        expires_at: airlock_core::clock::iso8601(T0 + 86_400_000),
        self_assign: true,
        releases: BTreeMap::from([("1".to_string(), p.pin())]),
        revoked: vec![],
        rules: vec![Rule { release: Some(1), ..Default::default() }],
    };
    let payload = serde_json::to_vec(&catalog).unwrap();
    let catalog = envelope::sign(CATALOG_PAYLOAD_TYPE, &payload, &[&key]);
    server.put(CHANNEL, catalog.clone());
    let index = serde_json::json!({"spec": 1, "app_id": "com.example.app",
                                   "channels": [{"name": "production", "self_assign": true}]});
    server.put(INDEX, envelope::sign(INDEX_PAYLOAD_TYPE, &serde_json::to_vec(&index).unwrap(), &[&key]));
    World { phone, server, catalog, manifest: p.envelope }
}

fn update(w: &World) -> Result<Option<airlock_core::BundleInfo>, Error> {
    w.phone.open().update(&Cancel::never())
}

fn assert_portal(err: &Error, what: &str) {
    assert!(err.is_transient(), "{what}: {err}");
    assert_eq!(err.kind_name(), "network", "{what}: {err}");
    let msg = err.to_string();
    assert!(msg.contains("HTML page") && msg.contains("captive portal"), "{what}: {msg}");
    assert!(!msg.contains("rejected") && !msg.contains("republish"), "{what}: {msg}");
}

/// The HTML page served as `200 text/html` (`Html200`) or as a plain `application/octet-stream` body.
fn serve_portal(w: &World, path: &str, as_html: bool) {
    if as_html {
        w.server.set_fault(path, Fault::Html200);
    } else {
        w.server.put(path, PORTAL.to_vec());
    }
}

#[test]
fn an_html_page_for_the_catalog_is_a_transient_captive_portal_error_and_the_release_installs_afterwards() {
    for as_html in [true, false] {
        let w = world();
        drop(w.phone.open());
        let original = w.phone.db_dump();
        serve_portal(&w, CHANNEL, as_html);
        let tree = w.phone.tree_outside_downloads();
        let err = update(&w).unwrap_err();
        assert_portal(&err, "catalog");
        assert_eq!(w.phone.db_dump(), original, "nothing is remembered (as_html={as_html})");
        assert_eq!(w.phone.tree_outside_downloads(), tree);

        w.server.clear_faults(CHANNEL);
        w.server.put(CHANNEL, w.catalog.clone());
        let queued = update(&w).unwrap().expect("the release installs once the network is healthy");
        assert_eq!(queued.version, "1.0.1");
    }
}

#[test]
fn an_html_page_for_the_manifest_is_a_transient_captive_portal_error_and_is_not_remembered_as_rejected() {
    for as_html in [true, false] {
        let w = world();
        serve_portal(&w, MANIFEST, as_html);
        let err = update(&w).unwrap_err();
        assert_portal(&err, "manifest");
        let dump = w.phone.db_dump();
        assert!(!dump.contains("rejected:"), "a portal page is never remembered as a rejection: {dump}");
        assert!(w.phone.bundle_dirs().is_empty());

        w.server.clear_faults(MANIFEST);
        w.server.put(MANIFEST, w.manifest.clone());
        let queued = update(&w).unwrap().expect("the release installs once the network is healthy");
        assert_eq!(queued.version, "1.0.1");
    }
}

#[test]
fn an_html_page_for_get_latest_and_the_channel_index_is_a_transient_captive_portal_error() {
    let w = world();
    serve_portal(&w, MANIFEST, true);
    assert_portal(&w.phone.open().latest(None, &Cancel::never()).unwrap_err(), "latest manifest");
    w.server.clear_faults(MANIFEST);
    serve_portal(&w, INDEX, false);
    assert_portal(&w.phone.open().list_channels(&Cancel::never()).unwrap_err(), "channel index");
    serve_portal(&w, INDEX, true);
    assert_portal(&w.phone.open().list_channels(&Cancel::never()).unwrap_err(), "channel index");
}

#[test]
fn a_redirect_to_a_file_url_says_the_scheme_is_not_supported() {
    let w = world();
    w.server.set_fault(CHANNEL, Fault::Redirect("file:///etc/passwd".into()));
    let err = update(&w).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("redirect") && msg.contains("file:///etc/passwd"), "{msg}");
    assert!(msg.contains("unsupported scheme 'file'"), "{msg}");
    assert!(!msg.contains("rejected"), "{msg}");
    assert!(w.phone.bundle_dirs().is_empty());
}

#[test]
fn a_bundle_redirected_to_a_file_url_says_the_scheme_is_not_supported_and_installs_once_fixed() {
    let w = world();
    let bundle = "/com.example.app/bundles/r1.zip";
    w.server.set_fault(bundle, Fault::Redirect("file:///etc/passwd".into()));
    let err = update(&w).unwrap_err();
    let msg = err.to_string();
    assert!(err.is_transient(), "{msg}");
    assert!(msg.contains("redirect") && msg.contains("file:///etc/passwd"), "{msg}");
    assert!(msg.contains("unsupported scheme 'file'"), "{msg}");
    assert!(w.phone.bundle_dirs().is_empty());
    w.server.clear_faults(bundle);
    update(&w).expect("the release installs once the redirect is gone");
    assert_eq!(w.phone.bundle_dirs().len(), 1);
}
