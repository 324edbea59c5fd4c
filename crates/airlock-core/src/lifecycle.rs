//! The automatic update lifecycle: when the agent checks, downloads and applies on its own (Capgo's `autoUpdate`
//! modes, delay conditions, catalog install modes and maintenance windows, periodic checks). Invariant: outside
//! the explicit `reload()` / `set()`, a queued bundle becomes current only when [`schedule`] allows it at that
//! moment (delay conditions unless mandatory, the plan it was queued with, the window), and every change is one
//! transaction whose events are delivered after the commit.

mod persist;

use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, Ordering};

use self::persist::QueuedPlan;
use crate::agent::Agent;
use crate::boot::{self, BootCtx, Outcome};
use crate::catalog::{InstallPolicy, Window};
use crate::clock::iso8601;
use crate::config::{AutoUpdate, SourceKind};
use crate::error::Result;
use crate::events::{BundleInfo, BundleStatus, Cancel, Event, Launch};
use crate::schedule::{self, Apply, ApplyContext, DelayCondition, Moment, Trigger};
use crate::source::CheckResult;
use crate::store::{self, BootState};

pub(crate) use self::persist::forget_plan;

/// Facts about this app process (never persisted; a new process starts with all of them false).
#[derive(Debug, Default)]
pub struct ProcessFlags {
    /// `launch()` ran at least once in this process.
    launched: AtomicBool,
    /// The first `launch()` of this process saw a fresh install or a native build change.
    first_launch_after_install: AtomicBool,
    /// The first automatic check after the first `launch()` has started.
    first_check_done: AtomicBool,
    /// An automatic pipeline is running (one at a time, as in Capgo).
    checking: AtomicBool,
}

/// What the automatic pipeline did, and what the shell must do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoOutcome {
    /// No check ran; `reason` says why (mode `off`, not due yet, another check running, no catalog source).
    Skipped { reason: String },
    /// The check found nothing to install.
    UpToDate,
    /// The bundle is on the device and will be applied as `apply` says: queued as next for
    /// [`Apply::NextBackground`] / [`Apply::NextLaunch`], only announced (`updateAvailable`) for [`Apply::Never`].
    Downloaded { bundle: BundleInfo, apply: Apply },
    /// The bundle is current now: the shell must load this launch (it calls nothing else).
    Reload(Launch),
}

/// Clears the "check running" flag when the pipeline ends, however it ends.
struct Running<'a>(&'a AtomicBool);

impl<'a> Running<'a> {
    fn acquire(flag: &'a AtomicBool) -> Option<Running<'a>> {
        flag.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).ok().map(|_| Running(flag))
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

fn skipped(reason: impl Into<String>) -> Result<AutoOutcome> {
    Ok(AutoOutcome::Skipped { reason: reason.into() })
}

fn with_value<T, U>(o: Outcome<T>, value: U) -> Outcome<U> {
    o.with(value)
}

/// Delay conditions are settled at moments that satisfy neither `kill` nor `background`, so only `date` and
/// `nativeVersion` can clear (a check, or the background moment itself, which satisfies neither).
const TIME_ONLY: Moment = Moment::Background;

impl Agent {
    /// JS `setMultiDelay({delayConditions})`: replaces the stored conditions after checking each of them (an
    /// empty list clears them). A queued bundle applies automatically only once all of them are satisfied.
    pub fn set_delay_conditions(&self, conds: &[DelayCondition]) -> Result<()> {
        schedule::validate(conds)?;
        self.transition(|c, _| persist::save_delays(c, conds).map(|()| Outcome::new(())))
    }

    /// JS `cancelDelay()`: removes every delay condition.
    pub fn cancel_delay(&self) -> Result<()> {
        self.set_delay_conditions(&[])
    }

    /// The delay conditions still waiting to be satisfied.
    pub fn delay_conditions(&self) -> Result<Vec<DelayCondition>> {
        persist::load_delays(self.store().read())
    }

    /// JS `isAutoUpdateEnabled()`: the configured `autoUpdate` mode is not `off`.
    pub fn auto_update_enabled(&self) -> bool {
        self.config.plugin.auto_update != AutoUpdate::Off
    }

    /// `launch()`: the first call of the process is the cold start — `kill` conditions are satisfied, and the
    /// queued bundle applies only when [`schedule::may_apply_next`] allows it at [`Moment::Launch`]. Later calls
    /// (the shell reloading its WebView) apply it under the same rule without settling anything.
    pub(crate) fn launch_gated(&self) -> Result<Launch> {
        let cold = !self.process.launched.load(Ordering::SeqCst);
        let (launch, after_install) = self.transition(|c, ctx| {
            let after_install = boot::native_build_changed(&store::load_state(c)?, ctx.config);
            let remaining = match cold {
                true => self.settle_stored(c, &Moment::Launch, ctx.now_ms)?,
                false => persist::load_delays(c)?,
            };
            let mut gate =
                |c: &Connection, st: &BootState| self.queued_may_apply(c, st, &Moment::Launch, &remaining, ctx.now_ms);
            let out = boot::launch_with(c, ctx, &mut gate)?;
            if store::load_state(c)?.next.is_none() {
                persist::forget_plan(c)?;
            }
            let value = (out.value.clone(), after_install);
            Ok(with_value(out, value))
        })?;
        if cold {
            self.process.first_launch_after_install.store(after_install, Ordering::SeqCst);
            self.process.launched.store(true, Ordering::SeqCst);
        }
        Ok(launch)
    }

    /// Shell lifecycle: the app is back in the foreground after `background_ms` in the background. Settles the
    /// delay conditions (`background` ones may clear), then runs the automatic check when the mode says so
    /// ([`Trigger::Foreground`]) and returns what to do.
    pub fn on_foreground(&self, background_ms: i64, cancel: &Cancel) -> Result<AutoOutcome> {
        self.transition(|c, ctx| {
            self.settle_stored(c, &Moment::Foreground { background_ms }, ctx.now_ms)?;
            Ok(Outcome::new(()))
        })?;
        self.check_and_update(Trigger::Foreground, cancel)
    }

    /// Shell lifecycle: the app went to the background. Settles the delay conditions and applies the queued
    /// bundle when [`schedule::may_apply_next`] allows it at [`Moment::Background`] (Capgo's `installNext`; also
    /// refused when the queued bundle failed before or has the version already serving). `Some(launch)` means
    /// the shell must load it (and call nothing else).
    pub fn on_background(&self) -> Result<Option<Launch>> {
        self.transition(|c, ctx| {
            let remaining = self.settle_stored(c, &Moment::Background, ctx.now_ms)?;
            let st = store::load_state(c)?;
            let Some(next) = st.next.clone().filter(|n| *n != st.current) else { return Ok(Outcome::new(None)) };
            if !self.queued_may_apply(c, &st, &Moment::Background, &remaining, ctx.now_ms)? {
                return Ok(Outcome::new(None));
            }
            let serving = boot::bundle_info(c, ctx, &st.current)?.map(|b| b.version);
            match boot::bundle_info(c, ctx, &next)? {
                Some(queued) if queued.status != BundleStatus::Error && Some(&queued.version) != serving.as_ref() => {}
                _ => {
                    log::info!("queued bundle {next} is not applied at background: it failed before or is unchanged");
                    return Ok(Outcome::new(None));
                }
            }
            let out = apply_queued_now(c, ctx)?;
            let value = Some(out.value.clone());
            Ok(with_value(out, value))
        })
    }

    /// The automatic pipeline for `trigger` (cold start: the shell calls it right after `launch()`; periodic;
    /// manual: `triggerUpdateCheck()`): [`schedule::should_check`], then the catalog check and the pinned
    /// download, then [`schedule::apply_plan`]. [`Apply::Now`] makes the bundle current and returns the launch to
    /// load; [`Apply::NextBackground`] / [`Apply::NextLaunch`] queue it as next with its plan (mandatory flag and
    /// window included); [`Apply::Never`] (`onlyDownload`) leaves it downloaded (`updateAvailable` was emitted).
    /// Emits `updateCheckResult` (+ `noNeedUpdate`) like [`Agent::update`]; a failed check is returned as `Err`.
    pub fn check_and_update(&self, trigger: Trigger, cancel: &Cancel) -> Result<AutoOutcome> {
        let mode = self.config.plugin.auto_update;
        if !schedule::should_check(mode, trigger) {
            return skipped(format!("autoUpdate is {}: the agent does not check by itself", mode.as_str()));
        }
        if self.config.plugin.source != SourceKind::Catalog {
            return skipped(
                "automatic updates read a signed channel catalog: set CapacitorUpdater.catalogUrl (the capgo \
                 source is not served by the automatic pipeline yet)",
            );
        }
        if trigger == Trigger::Periodic {
            match self.next_periodic_check_ms()? {
                None => return skipped("periodic checks are off (periodCheckDelay is 0)"),
                Some(due) if self.clock.now_ms() < due => {
                    return skipped(format!("the next periodic check is due at {}", iso8601(due)));
                }
                Some(_) => {}
            }
        }
        let Some(_running) = Running::acquire(&self.process.checking) else {
            return skipped("an update check is already running");
        };
        let first_check_of_cold_start =
            self.process.launched.load(Ordering::SeqCst) && !self.process.first_check_done.swap(true, Ordering::SeqCst);
        self.transition(|c, ctx| persist::record_check(c, ctx.now_ms).map(|()| Outcome::new(())))?;
        let (bundle, install) = match self.check_reported(cancel)? {
            CheckResult::UpToDate { .. } => return Ok(AutoOutcome::UpToDate),
            CheckResult::Available { release, manifest_url, install, installed, .. } => {
                let bundle = match installed {
                    Some(b) => b,
                    None => {
                        if trigger != Trigger::Manual
                            && let Some(due) = self.transit_retry_due(release)?
                        {
                            return skipped(format!(
                                "the last download of release {release} arrived corrupt in transit; the next \
                                 automatic attempt is due at {}",
                                iso8601(due)
                            ));
                        }
                        self.download_pinned(release, &manifest_url, cancel)?
                    }
                };
                (bundle, install.unwrap_or_default())
            }
        };
        self.transition(|c, ctx| self.place(c, ctx, bundle, &install, first_check_of_cold_start))
    }

    /// When the next periodic check is due (Unix ms): [`schedule::next_periodic_check`] from the last automatic
    /// check, with the device id as jitter seed; now when no check ever ran, or when that time lies further ahead
    /// than one interval from now (the clock was set back since the last check); `None` when `periodCheckDelay`
    /// is 0.
    pub fn next_periodic_check_ms(&self) -> Result<Option<i64>> {
        let period = self.config.plugin.period_check_delay_s;
        if period == 0 {
            return Ok(None);
        }
        let now = self.clock.now_ms();
        let Some(last) = persist::last_check(self.store().read())? else { return Ok(Some(now)) };
        let seed = self.device_id()?;
        let (Some(due), Some(latest)) =
            (schedule::next_periodic_check(last, period, &seed), schedule::next_periodic_check(now, period, &seed))
        else {
            return Ok(Some(now));
        };
        match schedule::pending_deadline(due, now, latest.saturating_sub(now)) {
            None if due > now => Ok(Some(now)),
            _ => Ok(Some(due)),
        }
    }

    /// Decides and records what happens to a bundle the automatic pipeline has on the device.
    fn place(
        &self,
        c: &Connection,
        ctx: &BootCtx<'_>,
        bundle: BundleInfo,
        install: &InstallPolicy,
        first_check_of_cold_start: bool,
    ) -> Result<Outcome<AutoOutcome>> {
        let remaining = self.settle_stored(c, &TIME_ONLY, ctx.now_ms)?;
        let mut st = store::load_state(c)?;
        if bundle.id == st.current {
            return Ok(Outcome::new(AutoOutcome::UpToDate));
        }
        let install_mode = install.mode.as_deref().and_then(|m| {
            let parsed = schedule::parse_install_mode(m);
            if parsed.is_none() {
                log::warn!("catalog install mode \"{m}\" is unknown; using the app's autoUpdate timing");
            }
            parsed
        });
        let apply = schedule::apply_plan(&ApplyContext {
            mode: self.config.plugin.auto_update,
            first_launch_after_install: self.process.first_launch_after_install.load(Ordering::SeqCst),
            first_check_of_cold_start,
            delays_pending: !remaining.is_empty(),
            install: install_mode,
            mandatory: install.mandatory,
            in_window: self.window_open(install.window.as_ref(), ctx.now_ms),
        });
        match apply {
            Apply::Now => {
                st.next = Some(bundle.id.clone());
                store::save_state(c, &st)?;
                let out = apply_queued_now(c, ctx)?;
                let value = AutoOutcome::Reload(out.value.clone());
                Ok(with_value(out, value))
            }
            Apply::NextBackground | Apply::NextLaunch => {
                let newly_queued = st.next.as_deref() != Some(bundle.id.as_str());
                st.next = Some(bundle.id.clone());
                store::save_state(c, &st)?;
                let plan = QueuedPlan {
                    bundle: bundle.id.clone(),
                    apply,
                    mandatory: install.mandatory,
                    window: install.window.clone(),
                };
                persist::save_plan(c, &plan)?;
                let mut out = Outcome::new(AutoOutcome::Downloaded { bundle: bundle.clone(), apply });
                if newly_queued {
                    out.events.push(Event::SetNext { bundle });
                }
                Ok(out)
            }
            Apply::Never => Ok(Outcome::new(AutoOutcome::Downloaded { bundle, apply })),
        }
    }

    /// Settles the stored delay conditions at `moment` and persists what remains.
    fn settle_stored(&self, c: &Connection, moment: &Moment, now_ms: i64) -> Result<Vec<DelayCondition>> {
        let stored = persist::load_delays(c)?;
        let remaining = schedule::settle(&stored, moment, now_ms, &self.config.device.native_version);
        if remaining != stored {
            persist::save_delays(c, &remaining)?;
        }
        Ok(remaining)
    }

    /// May the bundle queued in `st` apply at `moment`, with `remaining` delay conditions after settling?
    fn queued_may_apply(
        &self,
        c: &Connection,
        st: &BootState,
        moment: &Moment,
        remaining: &[DelayCondition],
        now_ms: i64,
    ) -> Result<bool> {
        let Some(next) = st.next.as_deref() else { return Ok(false) };
        let plan = persist::load_plan(c, next)?;
        let delays_pending = !remaining.is_empty() && !plan.mandatory;
        let in_window = match moment {
            Moment::Background => self.window_open(plan.window.as_ref(), now_ms),
            Moment::Launch | Moment::Foreground { .. } => true,
        };
        Ok(schedule::may_apply_next(plan.apply, moment, delays_pending, in_window))
    }

    /// Is device-local time inside the maintenance window (always, without one)? A malformed window is closed.
    fn window_open(&self, window: Option<&Window>, now_ms: i64) -> bool {
        let Some(w) = window else { return true };
        schedule::in_window(&w.start, &w.end, now_ms, self.config.device.utc_offset_minutes).unwrap_or_else(|e| {
            log::warn!("{e}; treating the window as closed");
            false
        })
    }
}

/// Makes the queued bundle current now (an agent-initiated switch: the page still loading, if any, is
/// interrupted by the agent, not failed, so it is not counted as a failed boot) and forgets its plan.
fn apply_queued_now(c: &Connection, ctx: &BootCtx<'_>) -> Result<Outcome<Launch>> {
    let mut st = store::load_state(c)?;
    if st.booting.take().is_some() {
        store::save_state(c, &st)?;
    }
    let out = boot::launch(c, ctx)?;
    persist::forget_plan(c)?;
    Ok(out)
}
