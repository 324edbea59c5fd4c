//! A signed catalog repo on a loopback server, built by hand (release manifests with any file list, catalogs
//! with revocations) for scenario tests that need more control than the publisher gives.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use airlock_core::catalog::{CATALOG_PAYLOAD_TYPE, Catalog, ReleasePin, Rule};
use airlock_core::envelope::{self, Signer};
use airlock_core::release::{BundleRef, NativeRange, RELEASE_PAYLOAD_TYPE, ReleaseManifest};
use airlock_core::unpack::FileEntry;
use airlock_core::{Agent, BundleInfo, Cancel};
use airlock_testkit::bundle::{Dist, b64, sha256_hex};
use airlock_testkit::server::TestServer;

use super::Phone;

pub const APP: &str = "com.example.app";

pub struct Repo {
    pub server: TestServer,
    pub signer: Signer,
    pins: RefCell<BTreeMap<String, ReleasePin>>,
    serial: Cell<u64>,
}

impl Repo {
    pub fn start() -> Repo {
        Repo {
            server: TestServer::start(),
            signer: Signer::from_seed(&[9u8; 32]),
            pins: RefCell::default(),
            serial: Cell::new(0),
        }
    }

    /// A device of app `APP` reading this repo and trusting its key; `extra` adds plugin config keys.
    pub fn phone(&self, extra: serde_json::Value) -> Phone {
        let mut plugin = serde_json::json!({
            "catalogUrl": self.server.url("/"),
            "trustedKeys": [b64(&self.signer.public_key())],
        });
        for (k, v) in extra.as_object().unwrap() {
            plugin[k] = v.clone();
        }
        Phone::new(plugin)
    }

    /// Signs and serves release `n` with an arbitrary file list; `objects` are served as per-file objects and
    /// `zip` as the full bundle, declared `declared_size` bytes long in the manifest.
    pub fn release_with_files(
        &self,
        n: u64,
        version: &str,
        files: Vec<FileEntry>,
        objects: &[&[u8]],
        zip: Vec<u8>,
        declared_size: u64,
    ) {
        for o in objects {
            self.server.put(&format!("/{APP}/objects/{}", sha256_hex(o)), o.to_vec());
        }
        let manifest = ReleaseManifest {
            spec: 1,
            app_id: APP.into(),
            release: n,
            version: version.into(),
            native: NativeRange { min: None, max: None },
            platforms: vec![],
            created_at: "2026-11-28T00:00:00Z".into(),
            bundle: BundleRef {
                url: format!("../bundles/{n}.zip"),
                size: declared_size,
                sha256: sha256_hex(&zip),
                encryption: None,
            },
            files,
            metadata: None,
            compressed_objects: vec![],
        };
        self.server.put(&format!("/{APP}/bundles/{n}.zip"), zip);
        let env = envelope::sign(RELEASE_PAYLOAD_TYPE, &serde_json::to_vec(&manifest).unwrap(), &[&self.signer]);
        self.pins.borrow_mut().insert(n.to_string(), ReleasePin { sha256: sha256_hex(&env), version: None });
        self.server.put(&format!("/{APP}/releases/{n}.json"), env);
    }

    /// A normal release of `dist`: its full bundle and every file as an object.
    pub fn release(&self, n: u64, version: &str, dist: &Dist) {
        let objects: Vec<&[u8]> = dist.files.iter().map(|(_, b)| b.as_slice()).collect();
        let zip = dist.zip();
        let size = zip.len() as u64;
        self.release_with_files(n, version, dist.entries(), &objects, zip, size);
    }

    /// Publishes the channel catalog (the next serial): every device gets `release`; `revoked` are withdrawn.
    pub fn catalog(&self, release: u64, revoked: Vec<u64>) {
        self.serial.set(self.serial.get() + 1);
        let c = Catalog {
            spec: 1,
            app_id: APP.into(),
            channel: "production".into(),
            serial: self.serial.get(),
            expires_at: "2030-01-01T00:00:00Z".into(),
            self_assign: false,
            releases: self.pins.borrow().clone(),
            revoked,
            rules: vec![Rule { release: Some(release), ..Default::default() }],
        };
        let env = envelope::sign(CATALOG_PAYLOAD_TYPE, &serde_json::to_vec(&c).unwrap(), &[&self.signer]);
        self.server.put(&format!("/{APP}/channels/production.json"), env);
    }

    /// Publishes release `n` (`Dist::small("r<n>")`) to every device, then has `agent` update, launch it and call
    /// ready, as a healthy app does; returns the installed bundle.
    pub fn ship(&self, agent: &Agent, n: u64, version: &str) -> BundleInfo {
        self.release(n, version, &Dist::small(&format!("r{n}")));
        self.catalog(n, vec![]);
        let info = agent.update(&Cancel::never()).unwrap().expect("the release installs");
        let l = agent.launch().unwrap();
        assert_eq!(l.bundle.id, info.id, "the launch serves the new release");
        agent.notify_app_ready(&l.token).unwrap();
        info
    }

    pub fn manifest_url(&self, n: u64) -> String {
        self.server.url(&format!("/{APP}/releases/{n}.json"))
    }
}
