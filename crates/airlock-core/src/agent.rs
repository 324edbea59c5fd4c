//! The facade: the public API of DESIGN §8 composed from the modules. Invariant: every state change runs under
//! the in-process mutex and the cross-process `flock`, in one SQLite transaction, and events are delivered only
//! after the change is durable.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::boot::{self, BootCtx, Outcome, Ready};
use crate::clock::Clock;
use crate::config::Config;
use crate::envelope::TrustedKeys;
use crate::error::{Error, Result};
use crate::events::{BUILTIN_ID, BundleInfo, BundleStatus, Event, EventSink, Launch};
use crate::fsutil::{self, FileLock};
use crate::http::{Http, HttpOptions};
use crate::layout::Layout;
use crate::store::{self, Store};

pub use crate::install::DownloadRequest;

/// Live-update agent. One per app process; cheap to share behind an `Arc`.
pub struct Agent {
    pub(crate) config: Config,
    pub(crate) layout: Layout,
    pub(crate) store: Mutex<Store>,
    pub(crate) http: Http,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) events: Arc<dyn EventSink>,
    pub(crate) trusted: TrustedKeys,
    /// `setCustomId` value of this process (persisted too with `persistCustomId`).
    pub(crate) custom_id: Mutex<Option<String>>,
    /// Bytes this agent fetched over the network (bundles, objects, manifests, catalogs).
    pub(crate) fetched: std::sync::atomic::AtomicU64,
    /// Facts about this app process that the automatic lifecycle needs (cold start, first check...).
    pub(crate) process: crate::lifecycle::ProcessFlags,
    /// The bundle this process's page serves and the shared lock on its `serving/<id>.lock` (none for builtin).
    serving: Mutex<Option<(String, Option<FileLock>)>>,
}

/// `current()`: the serving bundle and the builtin (native) version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Current {
    pub bundle: BundleInfo,
    pub native: String,
}

impl Agent {
    /// Opens the agent on its data directory: creates the layout, opens and migrates the database, and sweeps
    /// what a crash may have left (staging trees, plaintext temporaries, published trees with no row).
    pub fn open(config: Config, events: Arc<dyn EventSink>, clock: Arc<dyn Clock>) -> Result<Agent> {
        Self::open_with_http(config, events, clock, HttpOptions::default())
    }

    /// `open` with explicit HTTP options (tests: watchdog thresholds, extra CAs).
    pub fn open_with_http(
        config: Config,
        events: Arc<dyn EventSink>,
        clock: Arc<dyn Clock>,
        mut http: HttpOptions,
    ) -> Result<Agent> {
        let layout = Layout::new(&config.device.data_dir);
        layout.ensure()?;
        let trusted = TrustedKeys::new(&config.plugin.trusted_keys)?;
        http.response_timeout_ms = config.plugin.response_timeout_ms;
        http.allow_insecure_http = config.plugin.allow_insecure_http;
        if http.user_agent.is_empty() {
            http.user_agent = format!("airlock/{} ({})", crate::PLUGIN_VERSION, config.device.platform);
        }
        let http = Http::new(http)?.with_host_backoff(clock.clone(), layout.db());
        let store = {
            let _lock = FileLock::exclusive(&layout.lock())?;
            let store = Store::open(&layout.db())?;
            layout.sweep()?;
            // Best effort: stale downloads only cost space, never a failed open.
            if let Err(e) = layout.sweep_downloads(clock.now_ms(), Some(crate::layout::DOWNLOAD_MAX_AGE_MS)) {
                log::warn!("could not remove stale partial downloads: {e}");
            }
            sweep_orphan_trees(&store, &layout)?;
            crate::delta::sweep_objects(&layout.objects());
            store
        };
        Ok(Agent {
            config,
            layout,
            store: Mutex::new(store),
            http,
            clock,
            events,
            trusted,
            custom_id: Mutex::new(None),
            fetched: Default::default(),
            process: Default::default(),
            serving: Mutex::new(None),
        })
    }

    /// Bytes fetched over the network by this agent so far (bundles, objects, manifests, catalogs).
    pub fn bytes_fetched(&self) -> u64 {
        self.fetched.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn count_fetched(&self, n: u64) {
        self.fetched.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn emit(&self, event: Event) {
        self.events.on_event(event);
    }

    /// Runs one boot transition under both locks, then deletes trees and delivers events after the commit.
    pub(crate) fn transition<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection, &BootCtx<'_>) -> Result<Outcome<T>>,
    ) -> Result<T> {
        let out = {
            let mut store = self.store();
            let _lock = FileLock::exclusive(&self.layout.lock())?;
            let ctx = BootCtx { config: &self.config, layout: &self.layout, now_ms: self.clock.now_ms() };
            let out = store.write(|tx| f(tx, &ctx))?;
            // Still under the lock: no other process can be publishing a tree or taking these objects now.
            // This process's page now serves `out.serve`: hold its tree, let go of the one it moved away from.
            if let Some(id) = &out.serve {
                self.hold_serving(id);
            }
            for dir in &out.remove {
                remove_unserved_tree(&self.layout, dir);
            }
            if !out.remove.is_empty() {
                crate::delta::gc_objects(&self.layout.objects());
            }
            if out.purge_downloads {
                let _ = fsutil::remove_path(&self.layout.downloads());
                let _ = self.layout.ensure();
            }
            out
        };
        for e in out.events {
            self.emit(e);
        }
        Ok(out.value)
    }

    fn read<T>(&self, f: impl FnOnce(&rusqlite::Connection, &BootCtx<'_>) -> Result<T>) -> Result<T> {
        let store = self.store();
        let ctx = BootCtx { config: &self.config, layout: &self.layout, now_ms: self.clock.now_ms() };
        f(store.read(), &ctx)
    }

    /// Called by the shell right before it points the WebView at a bundle. Returns what to load and its token.
    /// The queued bundle applies only when its install conditions hold (delay conditions, its plan; see
    /// `lifecycle`); the first call of the process is the cold start.
    pub fn launch(&self) -> Result<Launch> {
        self.launch_gated()
    }

    /// JS `notifyAppReady()`: blesses the bundle of the load that `token` belongs to; stale tokens are ignored.
    pub fn notify_app_ready(&self, token: &str) -> Result<Ready> {
        self.transition(|c, ctx| boot::notify_app_ready(c, ctx, token))
    }

    /// The shell's ready timer fired: roll back now. `Some(launch)` is what to load instead.
    pub fn ready_timeout(&self, token: &str) -> Result<Option<Launch>> {
        self.transition(|c, ctx| boot::ready_timeout(c, ctx, token))
    }

    /// JS `next({id})`: queue a bundle for the next launch / reload.
    pub fn set_next(&self, id: &str) -> Result<BundleInfo> {
        self.transition(|c, ctx| {
            let info = self.usable_info(c, ctx, id)?;
            let mut st = store::load_state(c)?;
            st.next = Some(id.to_string());
            store::save_state(c, &st)?;
            crate::lifecycle::forget_plan(c)?;
            let mut out = Outcome::new(info.clone());
            out.events.push(Event::SetNext { bundle: info });
            Ok(out)
        })
    }

    /// JS `set({id})`: make the bundle current now; the shell loads the returned launch.
    pub fn set_current(&self, id: &str) -> Result<Launch> {
        self.transition(|c, ctx| {
            self.usable_info(c, ctx, id)?;
            let mut st = store::load_state(c)?;
            st.next = Some(id.to_string());
            // The page asking is alive: its load is interrupted by choice, not failed.
            st.booting = None;
            store::save_state(c, &st)?;
            crate::lifecycle::forget_plan(c)?;
            boot::launch(c, ctx)
        })
    }

    /// JS `reload()`: apply a queued bundle if any (whatever the delay conditions: an explicit call), else
    /// reload the current one.
    pub fn reload(&self) -> Result<Launch> {
        self.transition(|c, ctx| {
            // The page asking is alive: its load is interrupted by choice, not failed.
            let mut st = store::load_state(c)?;
            if st.booting.take().is_some() {
                store::save_state(c, &st)?;
            }
            boot::launch(c, ctx)
        })
    }

    /// JS `reset({toLastSuccessful})`: back to builtin, or to the last bundle that reached ready.
    pub fn reset(&self, to_last_good: bool) -> Result<Launch> {
        self.transition(|c, ctx| {
            let mut st = store::load_state(c)?;
            st.current = if to_last_good { st.last_good.clone() } else { BUILTIN_ID.to_string() };
            st.next = None;
            if !to_last_good {
                st.last_good = BUILTIN_ID.to_string();
            }
            st.booting = None;
            store::save_state(c, &st)?;
            let mut out = boot::launch(c, ctx)?;
            out.events.push(Event::Set { bundle: out.value.bundle.clone() });
            Ok(out)
        })
    }

    /// JS `current()`.
    pub fn current(&self) -> Result<Current> {
        self.read(|c, ctx| {
            let st = store::load_state(c)?;
            let bundle = boot::bundle_info(c, ctx, &st.current)?.unwrap_or_else(|| boot::builtin_info(ctx.config));
            Ok(Current { bundle, native: self.config.builtin_version().to_string() })
        })
    }

    /// JS `list()`: downloaded bundles still on disk.
    pub fn list(&self) -> Result<Vec<BundleInfo>> {
        self.read(|c, _| {
            Ok(store::list_bundles(c)?
                .into_iter()
                .filter(|r| r.status != BundleStatus::Deleted && self.layout.bundle(&r.id).is_dir())
                .map(|r| boot::row_info(&r))
                .collect())
        })
    }

    /// JS `delete({id})`: refuses the builtin, the current and the queued bundle.
    pub fn delete(&self, id: &str) -> Result<()> {
        self.transition(|c, _ctx| {
            let st = store::load_state(c)?;
            if id == BUILTIN_ID {
                return Err(Error::InvalidRequest("the builtin bundle cannot be deleted".into()));
            }
            if id == st.current || st.booting.as_ref().is_some_and(|b| b.bundle == id) {
                return Err(Error::InvalidRequest(format!("bundle {id} is in use; set another bundle first")));
            }
            if st.next.as_deref() == Some(id) {
                return Err(Error::InvalidRequest(format!("bundle {id} is queued as next; queue another first")));
            }
            let row = store::get_bundle(c, id)?
                .filter(|r| r.status != BundleStatus::Deleted)
                .ok_or_else(|| Error::InvalidRequest(format!("no bundle with id {id}")))?;
            store::set_status(c, &row.id, BundleStatus::Deleted)?;
            if st.last_good == id {
                let mut st = st.clone();
                st.last_good = BUILTIN_ID.into();
                store::save_state(c, &st)?;
            }
            Ok(Outcome { remove: vec![self.layout.bundle(id)], ..Outcome::new(()) })
        })
    }

    /// JS `getNextBundle()`.
    pub fn next_bundle(&self) -> Result<Option<BundleInfo>> {
        self.read(|c, ctx| match store::load_state(c)?.next {
            Some(id) => boot::bundle_info(c, ctx, &id),
            None => Ok(None),
        })
    }

    /// JS `getFailedUpdate()`: the last rolled-back bundle, cleared once read.
    pub fn take_failed_update(&self) -> Result<Option<BundleInfo>> {
        self.transition(|c, ctx| {
            let mut st = store::load_state(c)?;
            let value = match st.failed_update.take() {
                Some(id) => {
                    store::save_state(c, &st)?;
                    boot::bundle_info(c, ctx, &id)?
                }
                None => None,
            };
            Ok(Outcome::new(value))
        })
    }

    /// JS `getBuiltinVersion()`.
    pub fn builtin_version(&self) -> String {
        self.config.builtin_version().to_string()
    }

    /// Path the shell serves for a bundle id.
    pub fn bundle_path(&self, id: &str) -> PathBuf {
        if id == BUILTIN_ID { self.config.device.builtin_dir.clone() } else { self.layout.bundle(id) }
    }

    /// `PRAGMA integrity_check` of the state database (`"ok"` when healthy).
    pub fn integrity_check(&self) -> Result<String> {
        self.store().integrity_check()
    }

    fn usable_info(&self, c: &rusqlite::Connection, ctx: &BootCtx<'_>, id: &str) -> Result<BundleInfo> {
        let info =
            boot::bundle_info(c, ctx, id)?.ok_or_else(|| Error::InvalidRequest(format!("no bundle with id {id}")))?;
        if !info.is_builtin() && boot::usable(c, id)?.is_none() && info.status != BundleStatus::Deleted {
            return Err(Error::InvalidRequest(format!(
                "bundle {id} failed on this device or was revoked by the publisher; it is blocklisted"
            )));
        }
        match info.status {
            BundleStatus::Pending | BundleStatus::Success if info.is_builtin() || self.layout.bundle(id).is_dir() => {
                Ok(info)
            }
            BundleStatus::Error => Err(Error::InvalidRequest(format!(
                "bundle {id} failed before and is blocklisted; publish a fixed version"
            ))),
            _ => Err(Error::InvalidRequest(format!("bundle {id} is not installed"))),
        }
    }
}

impl Agent {
    /// Holds a shared lock on the tree this process's page serves, releasing the previous one. Best effort: a
    /// lock that cannot be taken only weakens the protection of other processes' pages, never a launch.
    fn hold_serving(&self, id: &str) {
        let mut serving = self.serving.lock().unwrap_or_else(|p| p.into_inner());
        if serving.as_ref().is_some_and(|(held, _)| held == id) {
            return;
        }
        let lock = if id == BUILTIN_ID {
            None
        } else {
            match FileLock::try_shared(&self.layout.serving_lock(id)) {
                Ok(lock) => lock,
                Err(e) => {
                    log::warn!("could not mark bundle {id} as served by this process: {e}");
                    None
                }
            }
        };
        *serving = Some((id.to_string(), lock));
    }
}

/// Deletes a bundle tree unless a page of some process of the app still serves it (its `serving/<id>.lock` is
/// held shared): then it stays, and a later launch or start-up sweep deletes it once nobody serves it. Runs
/// under the root lock, as every taker of a serving lock does, so removing the lock file lets no one in.
fn remove_unserved_tree(layout: &Layout, dir: &std::path::Path) {
    let Some(id) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let lock_path = layout.serving_lock(&id);
    match FileLock::try_exclusive(&lock_path) {
        Ok(Some(lock)) => {
            if let Err(e) = fsutil::remove_path(dir) {
                log::warn!("could not remove {}: {e} (it will be swept at next start)", dir.display());
            }
            if let Err(e) = lock.remove(&lock_path) {
                log::warn!("could not remove {}: {e}", lock_path.display());
            }
        }
        Ok(None) => log::info!("bundle {id} is still served by a page of another process: its tree stays for now"),
        Err(e) => log::warn!("could not check whether bundle {id} is still served ({e}); its tree stays for now"),
    }
}

/// Published trees with no live row (a crash between rename and commit, or after a delete's commit) are removed.
/// The tree of an `error` bundle (failed, or revoked by the publisher) is kept: a page of this or another process
/// of the app may still serve it; the next launch that moves away from it deletes it (`boot::arm`).
fn sweep_orphan_trees(store: &Store, layout: &Layout) -> Result<()> {
    let rows = store::list_bundles(store.read())?;
    let Ok(entries) = std::fs::read_dir(layout.bundles()) else { return Ok(()) };
    let mut removed = false;
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let live = rows.iter().any(|r| {
            r.id == name && matches!(r.status, BundleStatus::Pending | BundleStatus::Success | BundleStatus::Error)
        });
        if !live {
            log::info!("removing orphan bundle tree {name}");
            remove_unserved_tree(layout, &e.path());
            removed = true;
        }
    }
    if removed {
        fsutil::sync_dir(&layout.bundles())?;
    }
    Ok(())
}
