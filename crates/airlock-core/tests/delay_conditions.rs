//! Capgo's delay conditions (`setMultiDelay` / `cancelDelay`) holding a queued bundle, played as app lives
//! against a real signed catalog. Invariant under test: a queued bundle is applied automatically only once every
//! condition is satisfied (`background` at a foreground after a long enough stay, `kill` at the next process
//! start, `date` once the clock passes it, `nativeVersion` once the native app is new enough), unless the catalog
//! marks the release mandatory or the app calls `reload()` / `set()` itself.

mod common;
mod lifecycle_support;

use airlock_core::clock::iso8601;
use airlock_core::lifecycle::AutoOutcome;
use airlock_core::schedule::{Apply, DelayCondition, DelayKind, Trigger};
use airlock_core::{Agent, BundleInfo, Cancel, Clock, ErrorKind};
use lifecycle_support::{HOUR, World, cold_start, current, install, next, world, world_in_mode};

fn no() -> Cancel {
    Cancel::never()
}

fn cond(kind: DelayKind, value: Option<&str>) -> DelayCondition {
    DelayCondition::new(kind, value)
}

/// Opens the app, sets `conds`, and lets the cold-start check queue release 1 (atBackground timing).
fn queued_under(w: &World, conds: &[DelayCondition]) -> (Agent, BundleInfo) {
    let agent = w.open();
    cold_start(&agent);
    agent.set_delay_conditions(conds).unwrap();
    let bundle = match agent.check_and_update(Trigger::ColdStart, &no()).unwrap() {
        AutoOutcome::Downloaded { bundle, apply: Apply::NextBackground } => bundle,
        other => panic!("expected the bundle queued for the next background, got {other:?}"),
    };
    assert_eq!((current(&agent).as_str(), next(&agent)), ("builtin", Some(bundle.id.clone())));
    assert_eq!(w.bundle_dirs(), vec![bundle.id.clone()]);
    (agent, bundle)
}

fn assert_held(w: &World, agent: &Agent, bundle: &BundleInfo) {
    assert_eq!(agent.on_background().unwrap(), None, "the queued bundle must be held");
    assert_eq!((current(agent).as_str(), next(agent)), ("builtin", Some(bundle.id.clone())));
    assert_eq!(w.bundle_dirs(), vec![bundle.id.clone()], "held bundles stay on disk");
}

fn assert_applied_at_background(agent: &Agent, bundle: &BundleInfo) {
    let launch = agent.on_background().unwrap().expect("the queued bundle applies at background");
    assert_eq!(launch.bundle.id, bundle.id);
    assert_eq!((current(agent), next(agent)), (bundle.id.clone(), None));
}

#[test]
fn background_without_value_holds_until_a_return_to_foreground_then_applies_at_the_following_background() {
    let w = world_in_mode("atBackground");
    w.release(1, "1.0.1");
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::Background, None)]);
    assert_held(&w, &agent, &bundle);
    assert_eq!(agent.delay_conditions().unwrap(), vec![cond(DelayKind::Background, None)]);
    // Any stay in the background satisfies it, on the way back to the foreground (nothing applies there).
    let again = agent.on_foreground(1, &no()).unwrap();
    assert!(matches!(again, AutoOutcome::Downloaded { apply: Apply::NextBackground, .. }), "{again:?}");
    assert_eq!(agent.delay_conditions().unwrap(), vec![]);
    assert_eq!(current(&agent), "builtin");
    assert_applied_at_background(&agent, &bundle);
}

#[test]
fn background_with_a_value_needs_a_stay_at_least_that_long() {
    let w = world_in_mode("atBackground");
    w.release(1, "1.0.1");
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::Background, Some("60000"))]);
    agent.on_foreground(30_000, &no()).unwrap();
    assert_eq!(agent.delay_conditions().unwrap().len(), 1, "30 s is not enough");
    assert_held(&w, &agent, &bundle);
    agent.on_foreground(60_000, &no()).unwrap();
    assert!(agent.delay_conditions().unwrap().is_empty());
    assert_applied_at_background(&agent, &bundle);
}

#[test]
fn kill_holds_through_backgrounds_and_reloads_of_the_same_process_and_applies_at_the_next_cold_start() {
    let w = world_in_mode("atBackground");
    w.release(1, "1.0.1");
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::Kill, None)]);
    assert_held(&w, &agent, &bundle);
    agent.on_foreground(HOUR, &no()).unwrap();
    assert_held(&w, &agent, &bundle);
    // The shell re-loading its WebView is not a new process.
    assert_eq!(agent.launch().unwrap().bundle.id, "builtin");
    assert_eq!(next(&agent), Some(bundle.id.clone()));
    drop(agent);

    let agent = w.open();
    assert_eq!(agent.delay_conditions().unwrap(), vec![cond(DelayKind::Kill, None)], "kept across processes");
    let launch = cold_start(&agent);
    assert_eq!(launch.bundle.id, bundle.id);
    assert_eq!((current(&agent), next(&agent)), (bundle.id, None));
    assert!(agent.delay_conditions().unwrap().is_empty());
}

#[test]
fn date_holds_until_the_clock_passes_it() {
    let w = world_in_mode("atBackground");
    w.release(1, "1.0.1");
    let at = iso8601(w.phone.clock.now_ms() + HOUR);
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::Date, Some(&at))]);
    w.phone.clock.advance_ms(HOUR); // exactly at the date: not after it yet
    assert_held(&w, &agent, &bundle);
    w.phone.clock.advance_ms(1);
    assert_applied_at_background(&agent, &bundle);
    assert!(agent.delay_conditions().unwrap().is_empty());
}

#[test]
fn a_passed_date_also_releases_the_bundle_at_the_next_cold_start() {
    let w = world_in_mode("atBackground");
    w.release(1, "1.0.1");
    let at = iso8601(w.phone.clock.now_ms() + HOUR);
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::Date, Some(&at))]);
    drop(agent);
    let agent = w.open();
    assert_eq!(cold_start(&agent).bundle.id, "builtin", "still before the date");
    drop(agent);
    w.phone.clock.advance_ms(2 * HOUR);
    let agent = w.open();
    assert_eq!(cold_start(&agent).bundle.id, bundle.id);
}

#[test]
fn native_version_lower_than_the_app_is_already_satisfied() {
    let w = world_in_mode("atBackground");
    w.release(1, "1.0.1");
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::NativeVersion, Some("0.9.0"))]);
    assert!(agent.delay_conditions().unwrap().is_empty(), "device runs native 1.0.0");
    assert_applied_at_background(&agent, &bundle);
}

#[test]
fn native_version_higher_than_the_app_holds_until_the_native_app_is_updated() {
    let mut w = world(serde_json::json!({"autoUpdate": "atBackground", "resetWhenUpdate": false}));
    w.release(1, "1.0.1");
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::NativeVersion, Some("2.0.0"))]);
    assert_held(&w, &agent, &bundle);
    drop(agent);
    let agent = w.open();
    assert_eq!(cold_start(&agent).bundle.id, "builtin", "a cold start does not satisfy nativeVersion");
    assert_held(&w, &agent, &bundle);
    drop(agent);

    w.set_device_fact("nativeVersion", serde_json::json!("2.0.0"));
    w.set_device_fact("nativeBuild", serde_json::json!("200"));
    let agent = w.open();
    assert_eq!(cold_start(&agent).bundle.id, bundle.id);
    assert!(agent.delay_conditions().unwrap().is_empty());
}

#[test]
fn pending_conditions_turn_an_immediate_apply_into_a_queued_one() {
    let w = world_in_mode("always");
    w.release(1, "1.0.1");
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::Background, None)]);
    // Once satisfied, the next `always` check applies at once.
    match agent.on_foreground(5_000, &no()).unwrap() {
        AutoOutcome::Reload(l) => assert_eq!(l.bundle.id, bundle.id),
        other => panic!("expected a reload once the delay cleared, got {other:?}"),
    }
    assert_eq!((current(&agent), next(&agent)), (bundle.id, None));
}

#[test]
fn a_mandatory_release_ignores_delay_conditions() {
    // Immediate + mandatory reloads at once despite a pending kill condition.
    let w = world_in_mode("atBackground");
    w.publish(1, "1.0.1");
    w.offer(1, install(Some("immediate"), None, true));
    let agent = w.open();
    cold_start(&agent);
    agent.set_delay_conditions(&[cond(DelayKind::Kill, None)]).unwrap();
    match agent.check_and_update(Trigger::ColdStart, &no()).unwrap() {
        AutoOutcome::Reload(l) => assert_eq!(current(&agent), l.bundle.id),
        other => panic!("expected a reload, got {other:?}"),
    }
    // The conditions are the app's: they stay for the next update.
    assert_eq!(agent.delay_conditions().unwrap(), vec![cond(DelayKind::Kill, None)]);

    // Background + mandatory applies at the background even though the background condition is pending.
    let w = world_in_mode("atBackground");
    w.publish(1, "1.0.1");
    w.offer(1, install(Some("background"), None, true));
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::Background, Some("600000"))]);
    assert_applied_at_background(&agent, &bundle);
    assert_eq!(agent.delay_conditions().unwrap().len(), 1);
}

#[test]
fn explicit_reload_and_set_apply_whatever_the_conditions() {
    let w = world_in_mode("atBackground");
    w.release(1, "1.0.1");
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::Kill, None)]);
    let l = agent.reload().unwrap();
    assert_eq!((l.bundle.id.clone(), current(&agent), next(&agent)), (bundle.id.clone(), bundle.id.clone(), None));

    let w = world_in_mode("atBackground");
    w.release(1, "1.0.1");
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::Kill, None)]);
    assert_eq!(agent.set_current(&bundle.id).unwrap().bundle.id, bundle.id);
    assert_eq!(current(&agent), bundle.id);
}

#[test]
fn a_bundle_queued_by_hand_is_held_by_conditions_like_an_automatic_one() {
    let w = world_in_mode("onlyDownload");
    w.release(1, "1.0.1");
    let agent = w.open();
    cold_start(&agent);
    let bundle = match agent.check_and_update(Trigger::ColdStart, &no()).unwrap() {
        AutoOutcome::Downloaded { bundle, apply: Apply::Never } => bundle,
        other => panic!("{other:?}"),
    };
    agent.set_delay_conditions(&[cond(DelayKind::Background, None)]).unwrap();
    agent.set_next(&bundle.id).unwrap();
    assert_held(&w, &agent, &bundle);
    agent.on_foreground(1_000, &no()).unwrap();
    assert_applied_at_background(&agent, &bundle);
}

#[test]
fn cancel_delay_releases_a_held_bundle() {
    let w = world_in_mode("atBackground");
    w.release(1, "1.0.1");
    let (agent, bundle) = queued_under(&w, &[cond(DelayKind::Date, Some("2099-01-01T00:00:00Z"))]);
    assert_held(&w, &agent, &bundle);
    agent.cancel_delay().unwrap();
    assert!(agent.delay_conditions().unwrap().is_empty());
    assert_applied_at_background(&agent, &bundle);
}

#[test]
fn malformed_conditions_are_refused_at_the_call_and_nothing_is_stored() {
    let w = world_in_mode("atBackground");
    let agent = w.open();
    agent.set_delay_conditions(&[cond(DelayKind::Kill, None)]).unwrap();
    for bad in [
        cond(DelayKind::Date, Some("tomorrow")),
        cond(DelayKind::Background, Some("-5")),
        cond(DelayKind::NativeVersion, None),
    ] {
        let err = agent.set_delay_conditions(&[cond(DelayKind::Kill, None), bad]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage, "{err}");
        assert!(err.to_string().contains("#2"), "{err}");
    }
    assert_eq!(agent.delay_conditions().unwrap(), vec![cond(DelayKind::Kill, None)]);
}
