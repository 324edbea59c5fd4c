//! When to check and when to apply. Invariant: pure decisions — no I/O, no clock reads, no randomness; the same
//! inputs (time passed in as Unix ms) always give the same answer, and no automatic decision ever says "apply
//! now" while delay conditions block it or the maintenance window is closed.
//!
//! The agent calls these at lifecycle moments: [`should_check`] before an automatic check, [`apply_plan`] after
//! the automatic pipeline downloaded a bundle, [`settle`] then [`may_apply_next`] at every launch, foreground and
//! background, [`next_periodic_check`] to arm the periodic timer, [`backoff_ms`] between failed attempts and
//! [`pending_deadline`] to read a stored deadline back (one further ahead than it could be is due).

mod delay;
mod timing;

use serde::{Deserialize, Serialize};

pub use self::delay::{DelayCondition, DelayKind, settle, validate};
pub use self::timing::{backoff_ms, in_window, next_periodic_check, pending_deadline};
use crate::config::AutoUpdate;

/// A lifecycle moment at which delay conditions are re-evaluated and a queued bundle may apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Moment {
    /// A new process start, right before the WebView loads (`launch()`): `kill` conditions are satisfied.
    Launch,
    /// Back in the foreground after a background stay of `background_ms` milliseconds.
    Foreground {
        /// How long the app stayed in the background (negative values count as 0).
        #[serde(rename = "backgroundMs")]
        background_ms: i64,
    },
    /// The app just moved to the background (where Capgo's `installNext` runs).
    Background,
}

/// Why an automatic update check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Trigger {
    /// The process started (Capgo's `load()`).
    ColdStart,
    /// The app came back to the foreground.
    Foreground,
    /// The `periodCheckDelay` timer fired.
    Periodic,
    /// The app asked: `triggerUpdateCheck()`, or `setChannel`/`unsetChannel` with `triggerAutoUpdate`.
    Manual,
}

/// Does the automatic pipeline run for `trigger` in `mode`? `off` never checks automatically (manual API calls
/// such as `download`/`getLatest` still work); every other mode checks on every trigger (Capgo §4.5).
pub fn should_check(mode: AutoUpdate, trigger: Trigger) -> bool {
    match trigger {
        Trigger::ColdStart | Trigger::Foreground | Trigger::Periodic | Trigger::Manual => mode != AutoUpdate::Off,
    }
}

/// When to apply a bundle that the automatic pipeline has just downloaded. Persist it with the queued bundle:
/// [`may_apply_next`] needs it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Apply {
    /// `set_current` and reload the WebView now.
    Now,
    /// `set_next`; applied at the next background (Capgo's `installNext`) or the next launch, whichever is first.
    NextBackground,
    /// `set_next`; applied at the next cold start only, never under a running app.
    NextLaunch,
    /// Do not queue it; only announce it (`updateAvailable`): the app installs it itself.
    Never,
}

/// A catalog rule's `install.mode` (DESIGN §6.1); overrides the app's `autoUpdate` timing when present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InstallMode {
    /// Apply as soon as it is downloaded (still subject to delays and the window).
    Immediate,
    /// Apply at the next background.
    Background,
    /// Apply at the next cold start only.
    #[serde(alias = "onLaunch")]
    Launch,
}

/// Parses a catalog `install.mode` string: `immediate`, `background`, `launch` (or `onLaunch`). Anything else is
/// `None`; the caller should log it and fall back to the app's configured mode, as for a missing `install`.
pub fn parse_install_mode(s: &str) -> Option<InstallMode> {
    match s {
        "immediate" => Some(InstallMode::Immediate),
        "background" => Some(InstallMode::Background),
        "launch" | "onLaunch" => Some(InstallMode::Launch),
        _ => None,
    }
}

/// Everything [`apply_plan`] needs to know, gathered by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyContext {
    /// The app's configured `autoUpdate` mode.
    pub mode: AutoUpdate,
    /// This process is the first cold start after the app was installed or its native build changed.
    pub first_launch_after_install: bool,
    /// This is the first automatic check since the process started (the splash screen may still be up).
    pub first_check_of_cold_start: bool,
    /// Stored delay conditions remain after [`settle`] (the caller need not account for `mandatory`).
    pub delays_pending: bool,
    /// The catalog rule's `install.mode`, if any (`None` also for the capgo source).
    pub install: Option<InstallMode>,
    /// The catalog rule's `install.mandatory`: delay conditions are ignored (the window still applies).
    pub mandatory: bool,
    /// [`in_window`] for the rule's `install.window`, or `true` when there is no window.
    pub in_window: bool,
}

/// Decides when to apply a bundle the automatic pipeline just downloaded.
///
/// The app's mode gives the timing (Capgo §4.5): `atBackground` → next background; `atInstall` → now for the
/// first check of the first launch after install or native update, else next background; `onLaunch` → now for
/// the first check after a cold start, else next background; `always` → now; `onlyDownload` and `off` → never.
/// A catalog `install.mode` replaces that timing (`immediate` → now, `background` → next background, `launch` →
/// next launch) except in `off` and `onlyDownload`, where the app installs bundles itself and nothing is ever
/// applied behind its back. Then "now" is downgraded to next background while delay conditions are pending
/// (unless `mandatory`) or the maintenance window is closed; the background apply is gated again by
/// [`may_apply_next`] at that time.
pub fn apply_plan(ctx: &ApplyContext) -> Apply {
    let timing = match (ctx.mode, ctx.install) {
        (AutoUpdate::Off | AutoUpdate::OnlyDownload, _) => return Apply::Never,
        (_, Some(InstallMode::Immediate)) => Apply::Now,
        (_, Some(InstallMode::Background)) => Apply::NextBackground,
        (_, Some(InstallMode::Launch)) => Apply::NextLaunch,
        (AutoUpdate::AtBackground, None) => Apply::NextBackground,
        (AutoUpdate::AtInstall, None) if ctx.first_launch_after_install && ctx.first_check_of_cold_start => Apply::Now,
        (AutoUpdate::OnLaunch, None) if ctx.first_check_of_cold_start => Apply::Now,
        (AutoUpdate::AtInstall | AutoUpdate::OnLaunch, None) => Apply::NextBackground,
        (AutoUpdate::Always, None) => Apply::Now,
    };
    let blocked = (ctx.delays_pending && !ctx.mandatory) || !ctx.in_window;
    match timing {
        Apply::Now if blocked => Apply::NextBackground,
        other => other,
    }
}

/// Should the queued `next` bundle, planned as `queued`, be applied at `moment`?
///
/// - [`Apply::NextBackground`] (also what a manual `next()` means) applies at [`Moment::Background`] when no
///   delay blocks and the window is open, and at [`Moment::Launch`] when no delay blocks;
/// - [`Apply::NextLaunch`] applies at [`Moment::Launch`] only, when no delay blocks;
/// - [`Apply::Now`] (left queued, e.g. the reload never happened) behaves like `NextBackground`;
/// - [`Apply::Never`] never applies automatically; nothing applies at [`Moment::Foreground`].
///
/// A launch is not gated by the window: a cold start interrupts nobody, and apps that are never backgrounded
/// during the window would otherwise never update. `delays_pending` means conditions remain after [`settle`] at
/// this same moment *and* the bundle is not mandatory. Capgo also refuses when `next`'s version equals the
/// current one, or `next` is in `error`; that check is the caller's.
pub fn may_apply_next(queued: Apply, moment: &Moment, delays_pending: bool, in_window: bool) -> bool {
    if delays_pending {
        return false;
    }
    match (queued, moment) {
        (Apply::Never, _) | (_, Moment::Foreground { .. }) => false,
        (Apply::Now | Apply::NextBackground | Apply::NextLaunch, Moment::Launch) => true,
        (Apply::Now | Apply::NextBackground, Moment::Background) => in_window,
        (Apply::NextLaunch, Moment::Background) => false,
    }
}
