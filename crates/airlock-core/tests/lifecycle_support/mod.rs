//! A publisher repo on a real loopback server (signed catalogs, signed releases, per-file objects) and a phone
//! whose agent reads it: the world of the automatic-update scenarios.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;

use airlock_core::catalog::{CATALOG_PAYLOAD_TYPE, Catalog, InstallPolicy, ReleasePin, Rule, Window};
use airlock_core::envelope::{self, Signer};
use airlock_core::events::Launch;
use airlock_core::{Agent, BundleInfo};
use airlock_testkit::bundle::{Dist, ReleaseSpec, b64, publish, sha256_hex};
use airlock_testkit::server::TestServer;
use serde_json::Value;

use crate::common::Phone;

pub const APP: &str = "com.example.app";
pub const CHANNEL_PATH: &str = "/com.example.app/channels/production.json";
pub const HOUR: i64 = 3_600_000;

pub struct World {
    pub phone: Phone,
    pub server: TestServer,
    publisher: Signer,
    serial: RefCell<u64>,
    pins: RefCell<BTreeMap<String, ReleasePin>>,
}

/// A phone whose plugin config reads the server's repo with the publisher's key, plus `extra` plugin keys.
pub fn world(extra: Value) -> World {
    let server = TestServer::start();
    let publisher = Signer::from_seed(&[1u8; 32]);
    let mut plugin = serde_json::json!({
        "catalogUrl": server.url("/"),
        "trustedKeys": [b64(&publisher.public_key())],
    });
    for (k, v) in extra.as_object().expect("extra plugin keys are an object") {
        plugin[k] = v.clone();
    }
    World { phone: Phone::new(plugin), server, publisher, serial: RefCell::new(0), pins: RefCell::default() }
}

/// `world` whose config has `autoUpdate` set to `mode`.
pub fn world_in_mode(mode: &str) -> World {
    world(serde_json::json!({ "autoUpdate": mode }))
}

impl World {
    /// Opens the agent as a new app process would.
    pub fn open(&self) -> Agent {
        self.phone.open()
    }

    /// Publishes release `n` (version `version`): its bundle, signed manifest and per-file objects.
    pub fn publish(&self, n: u64, version: &str) -> Dist {
        let dist = Dist::small(version);
        let bundle_url = format!("../bundles/{n}.zip");
        let spec = ReleaseSpec { release: n, ..ReleaseSpec::new(version, &bundle_url) };
        let p = publish(&dist, &spec, &[&self.publisher]);
        self.server.put(&format!("/{APP}/bundles/{n}.zip"), p.bundle);
        for (_, bytes) in &dist.files {
            self.server.put(&format!("/{APP}/objects/{}", sha256_hex(bytes)), bytes.clone());
        }
        self.pins.borrow_mut().insert(n.to_string(), ReleasePin { sha256: sha256_hex(&p.envelope), version: None });
        self.server.put(&format!("/{APP}/releases/{n}.json"), p.envelope);
        dist
    }

    /// Signs and serves a new catalog serial whose single rule offers `release` to every device.
    pub fn offer(&self, release: u64, install: Option<InstallPolicy>) {
        let serial = {
            let mut s = self.serial.borrow_mut();
            *s += 1;
            *s
        };
        let catalog = Catalog {
            spec: 1,
            app_id: APP.into(),
            channel: "production".into(),
            serial,
            expires_at: "2030-01-01T00:00:00Z".into(),
            self_assign: false,
            releases: self.pins.borrow().clone(),
            revoked: Vec::new(),
            rules: vec![Rule { release: Some(release), install, ..Default::default() }],
        };
        let payload = serde_json::to_vec(&catalog).expect("catalog json");
        self.server.put(CHANNEL_PATH, envelope::sign(CATALOG_PAYLOAD_TYPE, &payload, &[&self.publisher]));
    }

    /// Publishes release `n` and offers it with the app's own install timing.
    pub fn release(&self, n: u64, version: &str) -> Dist {
        let dist = self.publish(n, version);
        self.offer(n, None);
        dist
    }

    /// How many times the device asked for the channel catalog.
    pub fn catalog_requests(&self) -> usize {
        self.server.requests_for(CHANNEL_PATH).len()
    }

    /// Sets a device fact (e.g. `nativeVersion`) for the next process.
    pub fn set_device_fact(&mut self, key: &str, value: Value) {
        self.phone.device.device[key] = value;
    }

    /// The bundle directory of `bundle` holds exactly `dist`.
    pub fn assert_serves(&self, launch: &Launch, dist: &Dist) {
        dist.assert_tree(std::path::Path::new(&launch.path));
    }

    /// The ids of the bundle directories on disk.
    pub fn bundle_dirs(&self) -> Vec<String> {
        self.phone.bundle_dirs()
    }
}

/// A catalog install policy.
pub fn install(mode: Option<&str>, window: Option<(&str, &str)>, mandatory: bool) -> Option<InstallPolicy> {
    Some(InstallPolicy {
        mode: mode.map(str::to_owned),
        window: window.map(|(s, e)| Window { start: s.into(), end: e.into() }),
        mandatory,
    })
}

/// The page of `launch` reports ready (what a healthy app does on every load).
pub fn ready(agent: &Agent, launch: &Launch) {
    let r = agent.notify_app_ready(&launch.token).expect("notify ready");
    assert!(matches!(r, airlock_core::boot::Ready::Blessed(_)), "ready was not accepted: {r:?}");
}

/// A cold start: the shell launches the WebView and the page reports ready.
pub fn cold_start(agent: &Agent) -> Launch {
    let l = agent.launch().expect("launch");
    ready(agent, &l);
    l
}

/// Id of the current bundle.
pub fn current(agent: &Agent) -> String {
    agent.current().expect("current").bundle.id
}

/// Id of the queued bundle, if any.
pub fn next(agent: &Agent) -> Option<String> {
    agent.next_bundle().expect("next").map(|b| b.id)
}

/// Version of a bundle info.
pub fn version(b: &BundleInfo) -> &str {
    &b.version
}
