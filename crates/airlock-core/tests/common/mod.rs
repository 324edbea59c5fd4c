//! Shared scaffolding for the scenario tests: a device, an agent on it, and snapshots of its disk and database.
#![allow(dead_code)]

pub mod repo;

use airlock_core::events::MemorySink;
use airlock_core::{Agent, ManualClock};
use airlock_testkit::bundle::Device;
use std::path::Path;
use std::sync::Arc;

pub const T0: i64 = 1_764_374_400_000;

pub struct Phone {
    pub device: Device,
    pub events: Arc<MemorySink>,
    pub clock: Arc<ManualClock>,
}

impl Phone {
    pub fn new(plugin: serde_json::Value) -> Phone {
        Phone { device: Device::with_plugin(plugin), events: Arc::default(), clock: Arc::new(ManualClock::new(T0)) }
    }

    /// Opens the agent as a fresh app process would.
    pub fn open(&self) -> Agent {
        Agent::open(self.device.config(), self.events.clone(), self.clock.clone()).expect("agent opens")
    }

    /// Every state table of the database, rendered as text. The stats queue is left out on purpose: a failure is
    /// *reported* (a `download_fail` event is queued), which is telemetry, not state; see `queued_actions`.
    pub fn db_dump(&self) -> String {
        let c = rusqlite::Connection::open(self.device.root().join("state.sqlite3")).expect("db");
        let mut out = String::new();
        for table in ["bundles", "state", "blocklist", "kv"] {
            let mut stmt = c.prepare(&format!("SELECT * FROM {table} ORDER BY 1")).expect("select");
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let mut line = Vec::new();
                    for i in 0..n {
                        line.push(format!("{:?}", r.get_ref(i)?));
                    }
                    Ok(line.join("|"))
                })
                .expect("query");
            out.push_str(table);
            out.push('\n');
            for row in rows {
                out.push_str(&row.expect("row"));
                out.push('\n');
            }
        }
        out
    }

    /// Actions waiting in the stats queue, oldest first.
    pub fn queued_actions(&self) -> Vec<String> {
        let c = rusqlite::Connection::open(self.device.root().join("state.sqlite3")).expect("db");
        let mut stmt = c.prepare("SELECT action FROM stats_queue ORDER BY seq").expect("select");
        stmt.query_map([], |r| r.get(0)).expect("query").map(|r| r.expect("row")).collect()
    }

    /// Every path under the agent root except `downloads/`, with file sizes.
    pub fn tree_outside_downloads(&self) -> Vec<String> {
        let root = self.device.root();
        let mut out = Vec::new();
        walk(&root, &root, &mut out);
        out.retain(|p| !p.starts_with("downloads") && !p.starts_with("state.sqlite3") && p != "lock");
        out.sort();
        out
    }

    pub fn bundle_dirs(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.device.root().join("bundles"))
            .map(|it| it.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn staging_entries(&self) -> Vec<String> {
        std::fs::read_dir(self.device.root().join("staging"))
            .map(|it| it.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    pub fn event_names(&self) -> Vec<&'static str> {
        self.events.take().iter().map(|e| e.name()).filter(|n| *n != "download").collect()
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.filter_map(|e| e.ok()) {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            out.push(format!("{rel}/"));
            walk(root, &p, out);
        } else {
            out.push(format!("{rel} {}", e.metadata().map(|m| m.len()).unwrap_or(0)));
        }
    }
}

use airlock_core::install::DownloadRequest;
use airlock_core::{BundleInfo, Cancel};
use airlock_testkit::bundle::{Dist, sha256_hex};
use airlock_testkit::server::TestServer;

/// Serves `dist` as a zip and downloads it with its checksum (the manual JS flow).
pub fn install(agent: &Agent, server: &TestServer, dist: &Dist, version: &str) -> BundleInfo {
    let zip = dist.zip();
    let path = format!("/bundles/{version}.zip");
    server.put(&path, zip.clone());
    let req = DownloadRequest {
        url: Some(server.url(&path)),
        version: Some(version.into()),
        checksum: Some(sha256_hex(&zip)),
        ..Default::default()
    };
    agent.download(&req, &Cancel::never()).expect("download succeeds")
}
