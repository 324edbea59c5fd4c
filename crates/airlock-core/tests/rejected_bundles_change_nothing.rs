//! Every forged, corrupt or unsuitable bundle is rejected with its own code, leaves the database exactly as it
//! was, and leaves no file outside `downloads/`.

mod common;

use airlock_core::envelope::Signer;
use airlock_core::install::DownloadRequest;
use airlock_core::{Cancel, Error};
use airlock_testkit::bundle::{Dist, ReleaseSpec, b64, publish, sha256_hex};
use airlock_testkit::server::TestServer;
use common::Phone;

const APP_KEY: [u8; 32] = [9u8; 32];

struct World {
    phone: Phone,
    server: TestServer,
    publisher: Signer,
}

fn world(extra: serde_json::Value) -> World {
    let publisher = Signer::from_seed(&[1u8; 32]);
    let mut plugin = serde_json::json!({
        "trustedKeys": [b64(&publisher.public_key())],
        "encryptionKey": b64(&APP_KEY),
    });
    for (k, v) in extra.as_object().unwrap() {
        plugin[k] = v.clone();
    }
    World { phone: Phone::new(plugin), server: TestServer::start(), publisher }
}

/// Runs `attempt` on an agent that already serves a blessed bundle, and checks nothing changed.
fn assert_rejected(
    w: &World,
    code: &str,
    attempt: impl FnOnce(&airlock_core::Agent) -> Result<airlock_core::BundleInfo, Error>,
) {
    let agent = w.phone.open();
    let before_db = w.phone.db_dump();
    let before_tree = w.phone.tree_outside_downloads();
    let err = attempt(&agent).expect_err("must be rejected");
    // Bytes spoiled in transit fail the same way but are transient (never remembered); see
    // corrupt_in_transit_never_blocks_a_release.rs.
    assert_eq!(err.reject_code().or(err.transit_code()), Some(code), "wrong rejection: {err}");
    assert_eq!(w.phone.db_dump(), before_db, "database changed by a rejected bundle ({code})");
    assert_eq!(w.phone.tree_outside_downloads(), before_tree, "files changed outside downloads/ ({code})");
    assert!(w.phone.staging_entries().is_empty());
    let failed: Vec<_> = w.phone.events.take().into_iter().filter(|e| e.name() == "downloadFailed").collect();
    assert_eq!(failed.len(), 1, "one downloadFailed event");
    assert_eq!(w.phone.queued_actions().last().map(String::as_str), Some("download_fail"), "the failure is reported");
    // Rejected artifacts are deleted, not kept for resume (an empty lock file may stay).
    let leftovers: Vec<_> = std::fs::read_dir(w.phone.device.root().join("downloads"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_none_or(|x| x != "lock"))
        .map(|e| e.path())
        .collect();
    assert!(leftovers.is_empty(), "downloads/ keeps nothing of a rejected bundle: {leftovers:?}");
}

/// Publishes a release: the manifest at `/app/releases/<n>.json`, the bundle where its URL points
/// (absolute paths as given, relative ones resolved against the manifest's folder).
fn release(w: &World, dist: &Dist, spec: ReleaseSpec<'_>, signers: &[&Signer]) -> String {
    let p = publish(dist, &spec, signers);
    let served = match spec.bundle_url.strip_prefix("../") {
        Some(rel) => format!("/app/{rel}"),
        None => spec.bundle_url.to_string(),
    };
    w.server.put(&served, p.bundle);
    let path = format!("/app/releases/{}.json", spec.release);
    w.server.put(&path, p.envelope);
    w.server.url(&path)
}

fn by_manifest(url: String) -> impl FnOnce(&airlock_core::Agent) -> Result<airlock_core::BundleInfo, Error> {
    move |agent| agent.download(&DownloadRequest { manifest_url: Some(url), ..Default::default() }, &Cancel::never())
}

#[test]
fn a_signed_release_installs_and_is_byte_identical() {
    let w = world(serde_json::json!({}));
    let dist = Dist::generate(30, 300_000, 11);
    let url = release(&w, &dist, ReleaseSpec::new("2.0.0", "../bundles/b.zip"), &[&w.publisher]);
    let agent = w.phone.open();
    let info = by_manifest(url)(&agent).unwrap();
    assert_eq!(info.version, "2.0.0");
    dist.assert_tree(&w.phone.device.root().join("bundles").join(&info.id));
}

#[test]
fn an_encrypted_signed_release_installs() {
    let w = world(serde_json::json!({}));
    let dist = Dist::generate(10, 200_000, 12);
    let mut spec = ReleaseSpec::new("2.1.0", "/app/bundles/enc.zip");
    spec.encrypt_with = Some(APP_KEY);
    spec.chunk_size = 4096;
    let url = release(&w, &dist, spec, &[&w.publisher]);
    let agent = w.phone.open();
    let info = by_manifest(url)(&agent).unwrap();
    dist.assert_tree(&w.phone.device.root().join("bundles").join(&info.id));
}

#[test]
fn a_wrong_checksum_is_rejected() {
    let w = world(serde_json::json!({"trustedKeys": []}));
    let zip = Dist::small("x").zip();
    w.server.put("/b.zip", zip);
    assert_rejected(&w, "checksum_mismatch", |agent| {
        let req = DownloadRequest {
            url: Some(w.server.url("/b.zip")),
            version: Some("2.0.0".into()),
            checksum: Some(sha256_hex(b"something else")),
            ..Default::default()
        };
        agent.download(&req, &Cancel::never())
    });
}

#[test]
fn an_unsigned_download_is_refused_when_trusted_keys_are_configured() {
    let w = world(serde_json::json!({}));
    w.server.put("/b.zip", Dist::small("x").zip());
    assert_rejected(&w, "unsigned", |agent| {
        let req =
            DownloadRequest { url: Some(w.server.url("/b.zip")), version: Some("2.0.0".into()), ..Default::default() };
        agent.download(&req, &Cancel::never())
    });
}

#[test]
fn a_tampered_manifest_is_rejected() {
    let w = world(serde_json::json!({}));
    let p = publish(&Dist::small("x"), &ReleaseSpec::new("2.0.0", "/b.zip"), &[&w.publisher]);
    w.server.put("/b.zip", p.bundle);
    let mut env: serde_json::Value = serde_json::from_slice(&p.envelope).unwrap();
    let mut m = p.manifest.clone();
    m.version = "9.9.9".into();
    env["payload"] = b64(&serde_json::to_vec(&m).unwrap()).into();
    w.server.put("/r.json", serde_json::to_vec(&env).unwrap());
    assert_rejected(&w, "signature_invalid", by_manifest(w.server.url("/r.json")));
}

#[test]
fn a_manifest_signed_with_an_untrusted_key_is_rejected() {
    let w = world(serde_json::json!({}));
    let stranger = Signer::from_seed(&[2u8; 32]);
    let url = release(&w, &Dist::small("x"), ReleaseSpec::new("2.0.0", "/b.zip"), &[&stranger]);
    assert_rejected(&w, "signature_invalid", by_manifest(url));
}

#[test]
fn signatures_below_the_threshold_are_rejected() {
    let second = Signer::from_seed(&[3u8; 32]);
    let w = world(serde_json::json!({
        "signatureThreshold": 2,
        "trustedKeys": [b64(&Signer::from_seed(&[1u8; 32]).public_key()), b64(&second.public_key())],
    }));
    // Signed twice by the same key: counts once.
    let url = release(&w, &Dist::small("x"), ReleaseSpec::new("2.0.0", "/b.zip"), &[&w.publisher, &w.publisher]);
    assert_rejected(&w, "signature_invalid", by_manifest(url));
}

#[test]
fn an_encrypted_bundle_with_a_flipped_byte_is_rejected() {
    let w = world(serde_json::json!({}));
    let mut spec = ReleaseSpec::new("2.0.0", "/enc.zip");
    spec.encrypt_with = Some(APP_KEY);
    let p = publish(&Dist::generate(5, 100_000, 4), &spec, &[&w.publisher]);
    // The publisher's signed hash covers the flipped bytes (a compromised CDN cannot do this; a buggy
    // encryptor can): the AEAD still refuses them.
    let mut bad = p.bundle.clone();
    let i = bad.len() / 2;
    bad[i] ^= 0x01;
    let mut m = p.manifest.clone();
    m.bundle.sha256 = sha256_hex(&bad);
    let env = airlock_core::envelope::sign(
        airlock_core::release::RELEASE_PAYLOAD_TYPE,
        &serde_json::to_vec(&m).unwrap(),
        &[&w.publisher],
    );
    w.server.put("/enc.zip", bad);
    w.server.put("/r.json", env);
    assert_rejected(&w, "decrypt_failed", by_manifest(w.server.url("/r.json")));
}

#[test]
fn a_flipped_byte_in_transit_fails_the_hash_before_decryption() {
    let w = world(serde_json::json!({}));
    let mut spec = ReleaseSpec::new("2.0.0", "/enc.zip");
    spec.encrypt_with = Some(APP_KEY);
    let p = publish(&Dist::small("x"), &spec, &[&w.publisher]);
    let mut bad = p.bundle.clone();
    bad[40] ^= 0x80;
    w.server.put("/enc.zip", bad);
    w.server.put("/r.json", p.envelope);
    assert_rejected(&w, "checksum_mismatch", by_manifest(w.server.url("/r.json")));
}

#[test]
fn a_bundle_encrypted_for_another_app_key_is_rejected() {
    let w = world(serde_json::json!({}));
    let mut spec = ReleaseSpec::new("2.0.0", "/enc.zip");
    spec.encrypt_with = Some([7u8; 32]);
    let url = release(&w, &Dist::small("x"), spec, &[&w.publisher]);
    assert_rejected(&w, "wrong_key", by_manifest(url));
}

#[test]
fn a_release_for_another_app_platform_or_native_range_is_rejected() {
    let w = world(serde_json::json!({}));
    let dist = Dist::small("x");
    let url =
        release(&w, &dist, ReleaseSpec { app_id: "com.other", ..ReleaseSpec::new("2.0.0", "/b.zip") }, &[&w.publisher]);
    assert_rejected(&w, "wrong_app", by_manifest(url));
    let url = release(
        &w,
        &dist,
        ReleaseSpec { platforms: vec!["ios".into()], release: 2, ..ReleaseSpec::new("2.0.0", "/b.zip") },
        &[&w.publisher],
    );
    assert_rejected(&w, "wrong_platform", by_manifest(url));
    let url = release(
        &w,
        &dist,
        ReleaseSpec {
            native: airlock_core::release::NativeRange { min: Some("2".into()), max: None },
            release: 3,
            ..ReleaseSpec::new("2.0.0", "/b.zip")
        },
        &[&w.publisher],
    );
    assert_rejected(&w, "incompatible_native", by_manifest(url));
}
