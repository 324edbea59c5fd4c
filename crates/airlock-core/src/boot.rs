//! Launch selection and rollback. Invariant: `launch()` only ever returns a complete, verified tree or the
//! builtin bundle, and it records the boot attempt durably before returning; a bundle is rolled back only for
//! failing to reach ready (never for storage, network or clock trouble), and once rolled back it is blocklisted;
//! a tree that cannot be read right now stays `current` while builtin serves that launch; a ready blesses only
//! the bundle that is still current and usable; a failed or revoked tree is deleted only by a launch that does
//! not serve it.

use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use crate::clock::iso8601;
use crate::config::Config;
use crate::error::Result;
use crate::events::{BUILTIN_ID, BundleInfo, BundleStatus, Event, Launch};
use crate::fsutil;
use crate::layout::Layout;
use crate::store::{self, BootState, Booting, BundleRow};
use crate::treecheck::{self, TreeState};
use crate::unpack::FileEntry;

/// What a state transition needs besides the transaction.
pub struct BootCtx<'a> {
    pub config: &'a Config,
    pub layout: &'a Layout,
    pub now_ms: i64,
}

/// The result of a transition plus what to do once it is committed.
pub struct Outcome<T> {
    pub value: T,
    /// Events to deliver after the commit, in order.
    pub events: Vec<Event>,
    /// Trees to delete after the commit (their rows already say they are gone).
    pub remove: Vec<PathBuf>,
    /// Purge partial downloads after the commit (native build changed).
    pub purge_downloads: bool,
    /// The bundle the returned launch serves (this process's page holds its tree from now on).
    pub serve: Option<String>,
}

impl<T> Outcome<T> {
    /// An outcome with no follow-up work.
    pub fn new(value: T) -> Self {
        Outcome { value, events: Vec::new(), remove: Vec::new(), purge_downloads: false, serve: None }
    }

    /// The same follow-up work with another value.
    pub fn with<U>(self, value: U) -> Outcome<U> {
        Outcome {
            value,
            events: self.events,
            remove: self.remove,
            purge_downloads: self.purge_downloads,
            serve: self.serve,
        }
    }
}

/// Result of `notify_app_ready`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// The token belonged to the load in progress: its bundle is now `success` and the last good one.
    Blessed(BundleInfo),
    /// The token is stale or nothing is booting; nothing changed.
    Ignored { current: BundleInfo, reason: String },
}

/// `BundleInfo` for an id (builtin included).
pub fn bundle_info(c: &Connection, ctx: &BootCtx<'_>, id: &str) -> Result<Option<BundleInfo>> {
    if id == BUILTIN_ID {
        return Ok(Some(builtin_info(ctx.config)));
    }
    Ok(store::get_bundle(c, id)?.map(|r| row_info(&r)))
}

pub fn builtin_info(config: &Config) -> BundleInfo {
    BundleInfo {
        id: BUILTIN_ID.into(),
        version: config.builtin_version().to_string(),
        downloaded: iso8601(0),
        checksum: String::new(),
        status: BundleStatus::Success,
        link: None,
        comment: None,
    }
}

pub fn row_info(r: &BundleRow) -> BundleInfo {
    BundleInfo {
        id: r.id.clone(),
        version: r.version.clone(),
        downloaded: iso8601(r.downloaded_ms),
        checksum: r.checksum.clone(),
        status: r.status,
        link: r.link.clone(),
        comment: r.comment.clone(),
    }
}

fn info_or_builtin(c: &Connection, ctx: &BootCtx<'_>, id: &str) -> Result<BundleInfo> {
    Ok(bundle_info(c, ctx, id)?.unwrap_or_else(|| builtin_info(ctx.config)))
}

/// Did the native build change since the last launch (or is this the first launch after a fresh install)? This
/// is what step 2 of [`launch`] acts on; read it before `launch` records the new build.
pub fn native_build_changed(st: &BootState, config: &Config) -> bool {
    st.native_build.as_deref() != Some(config.device.native_build.as_str())
}

/// Step 1–5 of DESIGN §7: account for a previous load that never reached ready, reset on a native build change,
/// apply `next`, validate the chosen tree, and durably arm the boot record. `next` is applied unconditionally
/// (explicit `reload()` / `set()`); see [`launch_with`] for a gated step 3.
pub fn launch(c: &Connection, ctx: &BootCtx<'_>) -> Result<Outcome<Launch>> {
    launch_with(c, ctx, &mut |_, _| Ok(true))
}

/// [`launch`] whose step 3 applies the queued bundle only when `may_apply(c, state)` says so (delay conditions,
/// the queued plan); a held bundle stays queued. `may_apply` is asked only when a bundle other than the current
/// one is queued, after step 2.
pub fn launch_with(
    c: &Connection,
    ctx: &BootCtx<'_>,
    may_apply: &mut dyn FnMut(&Connection, &BootState) -> Result<bool>,
) -> Result<Outcome<Launch>> {
    let mut st = store::load_state(c)?;
    let mut out = Outcome::new(());
    // 1. A previous load that never reported ready.
    if let Some(prev) = st.booting.take() {
        count_failed_boot(c, ctx, &mut st, &prev, &mut out)?;
    }
    // 2. Native build change.
    let build = &ctx.config.device.native_build;
    if native_build_changed(&st, ctx.config) {
        if st.native_build.is_some() && ctx.config.plugin.reset_when_update {
            log::info!("native build changed ({:?} -> {build}): back to builtin", st.native_build);
            for row in store::list_bundles(c)? {
                if row.status != BundleStatus::Deleted {
                    store::set_status(c, &row.id, BundleStatus::Deleted)?;
                    out.remove.push(ctx.layout.bundle(&row.id));
                }
            }
            st.current = BUILTIN_ID.into();
            st.next = None;
            st.last_good = BUILTIN_ID.into();
            out.purge_downloads = true;
        }
        st.native_build = Some(build.clone());
    }
    // 3. Apply the queued bundle, unless the gate holds it (then it stays queued).
    let held = match st.next.as_deref() {
        Some(next) if next != st.current => !may_apply(c, &st)?,
        _ => false,
    };
    if held {
        log::info!("queued bundle {:?} is held: its install conditions do not hold yet", st.next);
    } else if let Some(next) = st.next.take()
        && next != st.current
    {
        match usable(c, &next)? {
            Some(_) | None if next == BUILTIN_ID => {
                st.current = next;
                out.events.push(Event::Set { bundle: builtin_info(ctx.config) });
            }
            Some(row) => {
                st.current = next;
                out.events.push(Event::Set { bundle: row_info(&row) });
            }
            None => log::warn!("queued bundle {next} is no longer usable; ignoring it"),
        }
    }
    let launch = arm(c, ctx, &mut st, &mut out)?;
    store::save_state(c, &st)?;
    Ok(out.with(launch))
}

/// Makes `st.current` a valid tree (falling back to last good, then builtin, without counting a failure when a
/// tree is damaged) and writes a fresh boot record. A tree that merely cannot be read right now stays current:
/// builtin serves this launch only (the boot record names builtin, so its ready blesses nothing). The caller
/// saves `st`; trees of failed or revoked bundles other than the one served go once it is committed.
fn arm(c: &Connection, ctx: &BootCtx<'_>, st: &mut BootState, out: &mut Outcome<()>) -> Result<Launch> {
    let launch = choose(c, ctx, st, out)?;
    remove_failed_trees(c, ctx, &launch.bundle.id, out)?;
    out.serve = Some(launch.bundle.id.clone());
    Ok(launch)
}

/// This launch moves away from every `error` bundle (failed here, or revoked by the publisher) it does not serve:
/// their trees, kept while a page might still serve them, are deleted now (with `autoDeleteFailed`).
fn remove_failed_trees(c: &Connection, ctx: &BootCtx<'_>, served: &str, out: &mut Outcome<()>) -> Result<()> {
    if !ctx.config.plugin.auto_delete_failed {
        return Ok(());
    }
    for row in store::list_bundles(c)? {
        let path = ctx.layout.bundle(&row.id);
        if row.status == BundleStatus::Error && row.id != served && !out.remove.contains(&path) && path.exists() {
            log::info!("bundle {} failed or was revoked and no longer serves: removing its tree", row.id);
            out.remove.push(path);
        }
    }
    Ok(())
}

fn choose(c: &Connection, ctx: &BootCtx<'_>, st: &mut BootState, out: &mut Outcome<()>) -> Result<Launch> {
    let mut unreadable = None;
    for candidate in [st.current.clone(), st.last_good.clone()] {
        if candidate == BUILTIN_ID {
            break;
        }
        let Some(row) = usable(c, &candidate)? else { continue };
        match tree_state(c, ctx, &row)? {
            TreeState::Intact => {
                st.current = candidate.clone();
                let token = fsutil::random_id(24)?;
                st.booting = Some(Booting {
                    bundle: candidate.clone(),
                    token: token.clone(),
                    started_ms: ctx.now_ms,
                    attempt: row.boot_failures + 1,
                });
                let path = ctx.layout.bundle(&candidate).to_string_lossy().into_owned();
                return Ok(Launch { bundle: row_info(&row), path, token });
            }
            TreeState::Unreadable => {
                // Transient (EACCES, EIO, a locked data-protection class, descriptor exhaustion): builtin serves
                // this launch only; the bundle stays current and untouched, and the next launch looks again.
                log::warn!(
                    "bundle {} cannot be read right now (storage locked or failing); builtin serves this launch \
                     only, the bundle stays current and is tried again at the next launch",
                    row.id
                );
                unreadable = Some(candidate);
                break;
            }
            TreeState::Damaged => {
                log::warn!("bundle {} is damaged on disk; falling back (storage, not counted as a failure)", row.id);
                store::set_status(c, &row.id, BundleStatus::Deleted)?;
                out.remove.push(ctx.layout.bundle(&row.id));
                if st.last_good == row.id {
                    st.last_good = BUILTIN_ID.into();
                }
                if st.next.as_deref() == Some(row.id.as_str()) {
                    st.next = None;
                }
            }
        }
    }
    st.current = unreadable.unwrap_or_else(|| BUILTIN_ID.into());
    let token = fsutil::random_id(24)?;
    st.booting = Some(Booting { bundle: BUILTIN_ID.into(), token: token.clone(), started_ms: ctx.now_ms, attempt: 1 });
    Ok(Launch {
        bundle: builtin_info(ctx.config),
        path: ctx.config.device.builtin_dir.to_string_lossy().into_owned(),
        token,
    })
}

/// A row that may still be served: pending or success, and neither its content hash nor its release number is
/// blocklisted (failed here before, or revoked by the publisher).
pub(crate) fn usable(c: &Connection, id: &str) -> Result<Option<BundleRow>> {
    let Some(row) = store::get_bundle(c, id)? else { return Ok(None) };
    if !matches!(row.status, BundleStatus::Pending | BundleStatus::Success) {
        return Ok(None);
    }
    if store::blocklisted(c, Some(&row.checksum), row.release)?.is_some() {
        return Ok(None);
    }
    Ok(Some(row))
}

/// Cheap check (every file present with its recorded size), or a full re-hash on the first boot of a bundle and
/// in strict mode; a successful full check is remembered.
fn tree_state(c: &Connection, ctx: &BootCtx<'_>, row: &BundleRow) -> Result<TreeState> {
    let dir = ctx.layout.bundle(&row.id);
    let Some(json) = store::bundle_files(c, &row.id)? else { return Ok(TreeState::Damaged) };
    let full = ctx.config.plugin.strict_verify || !row.verified;
    if !full {
        let Ok(files) = serde_json::from_str::<Vec<SizeRecord<'_>>>(&json) else { return Ok(TreeState::Damaged) };
        return Ok(treecheck::sizes_match(&dir, &files));
    }
    let Ok(files) = serde_json::from_str::<Vec<FileEntry>>(&json) else { return Ok(TreeState::Damaged) };
    let mut buf = vec![0u8; 256 * 1024];
    for f in &files {
        let state = hash_state(&dir.join(&f.path), f, &mut buf);
        if state != TreeState::Intact {
            log::warn!("bundle {}: {} is {:?} on disk", row.id, f.path, state);
            return Ok(state);
        }
    }
    store::set_verified(c, &row.id)?;
    Ok(TreeState::Intact)
}

/// The part of a file-list record the cheap check needs, borrowed from the JSON text (no per-file allocation).
#[derive(serde::Deserialize)]
pub(crate) struct SizeRecord<'a> {
    #[serde(borrow)]
    pub path: std::borrow::Cow<'a, str>,
    pub size: u64,
}

fn hash_state(path: &std::path::Path, f: &FileEntry, buf: &mut [u8]) -> TreeState {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) => return TreeState::from_io(&e),
    };
    let mut h = Sha256::new();
    let mut n = 0u64;
    loop {
        match file.read(buf) {
            Ok(0) => break,
            Ok(k) => {
                h.update(buf.get(..k).unwrap_or_default());
                n += k as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return TreeState::Unreadable,
        }
    }
    if n == f.size && hex::encode(h.finalize()) == f.sha256 { TreeState::Intact } else { TreeState::Damaged }
}

fn count_failed_boot(
    c: &Connection,
    ctx: &BootCtx<'_>,
    st: &mut BootState,
    prev: &Booting,
    out: &mut Outcome<()>,
) -> Result<()> {
    let Some(row) = store::get_bundle(c, &prev.bundle)? else { return Ok(()) };
    if row.status == BundleStatus::Error {
        // Failed or revoked while it was booting: it is already out of service.
        log::info!("previous load of {} ended before ready; it was failed or revoked meanwhile", row.id);
        return Ok(());
    }
    if row.status != BundleStatus::Pending {
        // Builtin, or a bundle that already reached ready once: fix forward, never roll back.
        log::info!("previous load of {} ended before ready; it was healthy before, not rolling back", row.id);
        return Ok(());
    }
    let failures = row.boot_failures + 1;
    store::set_boot_failures(c, &row.id, failures)?;
    if failures >= ctx.config.plugin.max_boot_attempts {
        let reason = format!("did not call notifyAppReady() in {failures} launch(es)");
        roll_back(c, ctx, st, &row, &reason, out)?;
    } else {
        log::warn!(
            "bundle {} did not reach ready ({failures} of {} attempts)",
            row.id,
            ctx.config.plugin.max_boot_attempts
        );
    }
    Ok(())
}

/// Marks a bundle failed for good: `error`, blocklisted, recorded for `getFailedUpdate`, unqueued, and no longer
/// current (last good, else builtin).
fn roll_back(
    c: &Connection,
    ctx: &BootCtx<'_>,
    st: &mut BootState,
    row: &BundleRow,
    reason: &str,
    out: &mut Outcome<()>,
) -> Result<()> {
    log::error!("rolling back bundle {} ({}): {reason}", row.id, row.version);
    store::set_status(c, &row.id, BundleStatus::Error)?;
    store::blocklist_add(c, &row.checksum, &row.version, row.release, reason, ctx.now_ms)?;
    let event_id = fsutil::random_id(20)?;
    let fallback = if st.last_good == row.id { BUILTIN_ID.to_string() } else { st.last_good.clone() };
    let old = info_or_builtin(c, ctx, &fallback)?.version;
    store::queue_event(c, &event_id, ctx.now_ms, "update_fail", &row.version, Some(&old), Some(reason))?;
    st.failed_update = Some(row.id.clone());
    if st.next.as_deref() == Some(row.id.as_str()) {
        st.next = None;
    }
    if st.last_good == row.id {
        st.last_good = BUILTIN_ID.into();
    }
    if st.current == row.id {
        st.current = fallback;
    }
    if ctx.config.plugin.auto_delete_failed {
        out.remove.push(ctx.layout.bundle(&row.id));
    }
    let mut info = row_info(row);
    info.status = BundleStatus::Error;
    out.events.push(Event::UpdateFailed { bundle: info });
    Ok(())
}

/// Only the page loaded with `token` may bless its bundle (DESIGN §7, Capgo issue #907).
pub fn notify_app_ready(c: &Connection, ctx: &BootCtx<'_>, token: &str) -> Result<Outcome<Ready>> {
    let mut st = store::load_state(c)?;
    let current = info_or_builtin(c, ctx, &st.current)?;
    let Some(booting) = st.booting.clone() else {
        let reason = "no load is waiting for ready (already ready, or the token is from an old page)".to_string();
        return Ok(Outcome::new(Ready::Ignored { current, reason }));
    };
    if booting.token != token {
        let reason = format!("stale ready token: it belongs to an earlier page, not the load of {}", booting.bundle);
        log::warn!("{reason}; ignored");
        return Ok(Outcome::new(Ready::Ignored { current, reason }));
    }
    if let Some(reason) = not_blessable(c, &st, &booting)? {
        // The page is alive (it called ready), so its load is over; but it proves nothing about `current`.
        log::warn!("{reason}");
        st.booting = None;
        store::save_state(c, &st)?;
        return Ok(Outcome::new(Ready::Ignored { current, reason }));
    }
    let mut out = Outcome::new(());
    st.booting = None;
    let previous_good = st.last_good.clone();
    if booting.bundle != BUILTIN_ID {
        store::set_status(c, &booting.bundle, BundleStatus::Success)?;
        store::set_boot_failures(c, &booting.bundle, 0)?;
    }
    st.last_good = booting.bundle.clone();
    if ctx.config.plugin.auto_delete_previous && previous_good != st.last_good {
        for row in store::list_bundles(c)? {
            let keep = row.id == st.current || Some(&row.id) == st.next.as_ref() || row.id == st.last_good;
            if !keep && row.status == BundleStatus::Success {
                store::set_status(c, &row.id, BundleStatus::Deleted)?;
                out.remove.push(ctx.layout.bundle(&row.id));
            }
        }
    }
    let bundle = info_or_builtin(c, ctx, &booting.bundle)?;
    let event_id = fsutil::random_id(20)?;
    store::queue_event(c, &event_id, ctx.now_ms, "app_launch_ready", &bundle.version, None, None)?;
    store::save_state(c, &st)?;
    out.events.push(Event::AppReady { bundle: bundle.clone(), status: "bundle reported ready".into() });
    Ok(out.with(Ready::Blessed(bundle)))
}

/// Why the ready of the load in progress must not bless its bundle, if it must not: only the bundle that is still
/// `current` and still usable is blessed. A load that served builtin in place of an unreadable `current`, or a
/// bundle revoked (or failed) while it was booting, changes no status, no last good and deletes nothing.
fn not_blessable(c: &Connection, st: &BootState, booting: &Booting) -> Result<Option<String>> {
    if booting.bundle != st.current {
        if booting.bundle == BUILTIN_ID {
            return Ok(Some(format!(
                "ready from the builtin page that served in place of bundle {} (it could not be read at launch): \
                 {} stays current and last good is unchanged; the next launch tries it again",
                st.current, st.current
            )));
        }
        return Ok(Some(format!(
            "ready for bundle {} ignored: it was revoked or replaced while it was booting, so it is not marked \
             healthy; the next launch serves {}",
            booting.bundle, st.current
        )));
    }
    if booting.bundle != BUILTIN_ID && usable(c, &booting.bundle)?.is_none() {
        return Ok(Some(format!(
            "ready for bundle {} ignored: it failed or was revoked by the publisher while it was booting, so it is \
             not marked healthy; reset or the next launch serves the last good bundle",
            booting.bundle
        )));
    }
    Ok(None)
}

/// The shell's ready timer fired for `token`: roll the bundle back now and return what to load instead.
/// Returns `None` when the token is stale or the load cannot be rolled back (builtin, or already healthy).
pub fn ready_timeout(c: &Connection, ctx: &BootCtx<'_>, token: &str) -> Result<Outcome<Option<Launch>>> {
    let mut st = store::load_state(c)?;
    let Some(booting) = st.booting.clone().filter(|b| b.token == token) else {
        return Ok(Outcome::new(None));
    };
    let Some(row) = store::get_bundle(c, &booting.bundle)?.filter(|r| r.status == BundleStatus::Pending) else {
        return Ok(Outcome::new(None));
    };
    let mut out = Outcome::new(());
    st.booting = None;
    let reason = format!("did not call notifyAppReady() within {} ms", ctx.config.plugin.app_ready_timeout_ms);
    roll_back(c, ctx, &mut st, &row, &reason, &mut out)?;
    let launch = arm(c, ctx, &mut st, &mut out)?;
    store::save_state(c, &st)?;
    Ok(out.with(Some(launch)))
}
