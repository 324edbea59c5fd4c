//! Capgo's `autoUpdate` modes, the catalog's install modes and maintenance windows, and periodic checks, played
//! as app lives: cold starts, foregrounds and backgrounds against a real signed catalog on a loopback server.
//! Invariant under test: each mode downloads and applies exactly when Capgo's table (and the catalog rule) says,
//! and the disk (`current`, `next`, bundle directories) always agrees with what the agent returned.

mod common;
mod lifecycle_support;

use airlock_core::lifecycle::AutoOutcome;
use airlock_core::schedule::{self, Apply, Trigger};
use airlock_core::{Agent, BundleInfo, Cancel, Clock};
use lifecycle_support::{HOUR, cold_start, current, install, next, ready, world, world_in_mode};

fn no() -> Cancel {
    Cancel::never()
}

fn downloaded(outcome: AutoOutcome, want: Apply) -> BundleInfo {
    match outcome {
        AutoOutcome::Downloaded { bundle, apply } if apply == want => bundle,
        other => panic!("expected Downloaded with {want:?}, got {other:?}"),
    }
}

fn reload(outcome: AutoOutcome) -> airlock_core::Launch {
    match outcome {
        AutoOutcome::Reload(l) => l,
        other => panic!("expected Reload, got {other:?}"),
    }
}

fn skipped(outcome: AutoOutcome) -> String {
    match outcome {
        AutoOutcome::Skipped { reason } => reason,
        other => panic!("expected Skipped, got {other:?}"),
    }
}

/// The shell's automatic check right after the cold-start launch.
fn cold_start_check(agent: &Agent) -> AutoOutcome {
    agent.check_and_update(Trigger::ColdStart, &no()).expect("cold start check")
}

#[test]
fn off_never_checks_downloads_or_applies_by_itself() {
    let w = world_in_mode("off");
    w.release(1, "1.0.1");
    let agent = w.open();
    assert!(!agent.auto_update_enabled());
    cold_start(&agent);
    assert!(skipped(cold_start_check(&agent)).contains("off"));
    assert!(skipped(agent.on_foreground(60_000, &no()).unwrap()).contains("off"));
    assert!(skipped(agent.check_and_update(Trigger::Manual, &no()).unwrap()).contains("off"));
    assert_eq!(agent.on_background().unwrap(), None);
    assert_eq!(w.catalog_requests(), 0, "off never reads the catalog");
    assert!(w.bundle_dirs().is_empty());
    assert_eq!((current(&agent).as_str(), next(&agent)), ("builtin", None));
}

#[test]
fn at_background_downloads_at_cold_start_and_applies_at_the_next_background() {
    let w = world_in_mode("atBackground");
    let dist = w.release(1, "1.0.1");
    let agent = w.open();
    assert!(agent.auto_update_enabled());
    cold_start(&agent);
    let bundle = downloaded(cold_start_check(&agent), Apply::NextBackground);
    assert_eq!(bundle.version, "1.0.1");
    assert_eq!(w.bundle_dirs(), vec![bundle.id.clone()]);
    assert_eq!((current(&agent).as_str(), next(&agent)), ("builtin", Some(bundle.id.clone())));

    // Back from a short background stay: checked again, nothing new downloaded, still only queued.
    let again = downloaded(agent.on_foreground(5_000, &no()).unwrap(), Apply::NextBackground);
    assert_eq!(again.id, bundle.id);
    assert_eq!(w.bundle_dirs(), vec![bundle.id.clone()]);
    assert_eq!(current(&agent), "builtin");

    // Going to background applies it: the shell loads the returned launch.
    let launch = agent.on_background().unwrap().expect("applied at background");
    assert_eq!(launch.bundle.id, bundle.id);
    w.assert_serves(&launch, &dist);
    assert_eq!((current(&agent), next(&agent)), (bundle.id.clone(), None));
    ready(&agent, &launch);
    // Nothing left to apply at the following background, and the next check is up to date.
    assert_eq!(agent.on_background().unwrap(), None);
    assert_eq!(agent.on_foreground(1_000, &no()).unwrap(), AutoOutcome::UpToDate);
}

#[test]
fn at_background_applies_a_queued_bundle_at_the_next_cold_start_when_the_app_was_killed_instead() {
    let w = world_in_mode("atBackground");
    w.release(1, "1.0.1");
    let agent = w.open();
    cold_start(&agent);
    let bundle = downloaded(cold_start_check(&agent), Apply::NextBackground);
    drop(agent); // swiped away without a background event

    let agent = w.open();
    let launch = cold_start(&agent);
    assert_eq!(launch.bundle.id, bundle.id);
    assert_eq!((current(&agent), next(&agent)), (bundle.id, None));
}

#[test]
fn at_install_applies_immediately_on_the_first_launch_after_install_and_later_at_background() {
    let w = world_in_mode("atInstall");
    let v1 = w.release(1, "1.0.1");
    // Fresh install: the first check of the first launch reloads into the new bundle right away.
    let agent = w.open();
    let first = cold_start(&agent);
    assert_eq!(first.bundle.id, "builtin");
    let launch = reload(cold_start_check(&agent));
    assert_eq!(launch.bundle.version, "1.0.1");
    w.assert_serves(&launch, &v1);
    assert_eq!((current(&agent), next(&agent)), (launch.bundle.id.clone(), None));
    ready(&agent, &launch);
    // The old page's token no longer blesses anything.
    assert!(matches!(agent.notify_app_ready(&first.token).unwrap(), airlock_core::boot::Ready::Ignored { .. }));
    drop(agent);

    // A later cold start of the same native build: queued for the next background instead.
    w.release(2, "1.0.2");
    let agent = w.open();
    assert_eq!(cold_start(&agent).bundle.id, launch.bundle.id);
    let v2 = downloaded(cold_start_check(&agent), Apply::NextBackground);
    assert_eq!(current(&agent), launch.bundle.id);
    assert_eq!(agent.on_background().unwrap().expect("applied at background").bundle.id, v2.id);
    assert_eq!(current(&agent), v2.id);
}

#[test]
fn at_install_also_applies_immediately_after_a_native_app_update() {
    let mut w = world_in_mode("atInstall");
    w.release(1, "1.0.1");
    let agent = w.open();
    cold_start(&agent);
    let v1 = reload(cold_start_check(&agent));
    ready(&agent, &v1);
    drop(agent);

    // The store installs native build 101 (resetWhenUpdate: back to builtin, downloads purged).
    w.set_device_fact("nativeBuild", serde_json::json!("101"));
    w.release(2, "1.0.2");
    let agent = w.open();
    assert_eq!(cold_start(&agent).bundle.id, "builtin");
    assert!(w.bundle_dirs().is_empty(), "the native update purged old bundles");
    let v2 = reload(cold_start_check(&agent));
    assert_eq!(v2.bundle.version, "1.0.2");
    assert_eq!(current(&agent), v2.bundle.id);
    assert_eq!(w.bundle_dirs(), vec![v2.bundle.id.clone()]);
}

#[test]
fn on_launch_applies_immediately_only_for_the_first_check_after_a_cold_start() {
    let w = world_in_mode("onLaunch");
    w.release(1, "1.0.1");
    let agent = w.open();
    cold_start(&agent);
    let v1 = reload(cold_start_check(&agent));
    assert_eq!(current(&agent), v1.bundle.id);
    ready(&agent, &v1);

    // A foreground check in the same process only queues.
    w.release(2, "1.0.2");
    let v2 = downloaded(agent.on_foreground(10_000, &no()).unwrap(), Apply::NextBackground);
    assert_eq!((current(&agent), next(&agent)), (v1.bundle.id.clone(), Some(v2.id.clone())));
    let l2 = agent.on_background().unwrap().expect("applied at background");
    assert_eq!(current(&agent), v2.id);
    ready(&agent, &l2);
    drop(agent);

    // The next cold start's first check applies at once again.
    w.release(3, "1.0.3");
    let agent = w.open();
    cold_start(&agent);
    let v3 = reload(cold_start_check(&agent));
    assert_eq!((v3.bundle.version.as_str(), current(&agent)), ("1.0.3", v3.bundle.id.clone()));
}

#[test]
fn always_applies_immediately_at_every_check() {
    let w = world_in_mode("always");
    w.release(1, "1.0.1");
    let agent = w.open();
    cold_start(&agent);
    let v1 = reload(cold_start_check(&agent));
    ready(&agent, &v1);
    w.release(2, "1.0.2");
    let v2 = reload(agent.on_foreground(1_000, &no()).unwrap());
    assert_eq!((v2.bundle.version.as_str(), current(&agent), next(&agent)), ("1.0.2", v2.bundle.id.clone(), None));
    ready(&agent, &v2);
    w.release(3, "1.0.3");
    let v3 = reload(agent.check_and_update(Trigger::Manual, &no()).unwrap());
    assert_eq!(current(&agent), v3.bundle.id);
    // auto-delete-previous keeps the serving and last good bundles only once v3 is ready.
    ready(&agent, &v3);
    assert_eq!(w.bundle_dirs(), vec![v3.bundle.id.clone()]);
}

#[test]
fn only_download_downloads_and_announces_but_never_applies() {
    let w = world_in_mode("onlyDownload");
    w.release(1, "1.0.1");
    let agent = w.open();
    cold_start(&agent);
    w.phone.events.take();
    let bundle = downloaded(cold_start_check(&agent), Apply::Never);
    assert!(w.phone.event_names().contains(&"updateAvailable"));
    assert_eq!(w.bundle_dirs(), vec![bundle.id.clone()]);
    assert_eq!((current(&agent).as_str(), next(&agent)), ("builtin", None));
    assert_eq!(agent.on_background().unwrap(), None);
    assert_eq!(downloaded(agent.on_foreground(60_000, &no()).unwrap(), Apply::Never).id, bundle.id);
    drop(agent);
    let agent = w.open();
    assert_eq!(cold_start(&agent).bundle.id, "builtin");

    // The app installs it itself when it wants.
    agent.set_next(&bundle.id).unwrap();
    assert_eq!(agent.on_background().unwrap().expect("a manual next() applies at background").bundle.id, bundle.id);
    assert_eq!(current(&agent), bundle.id);
}

#[test]
fn the_catalog_install_mode_overrides_the_app_timing() {
    // immediate: reloads now even though the app says atBackground.
    let w = world_in_mode("atBackground");
    w.publish(1, "1.0.1");
    w.offer(1, install(Some("immediate"), None, false));
    let agent = w.open();
    cold_start(&agent);
    let l = reload(cold_start_check(&agent));
    assert_eq!(current(&agent), l.bundle.id);

    // background: queued even though the app says always.
    let w = world_in_mode("always");
    w.publish(1, "1.0.1");
    w.offer(1, install(Some("background"), None, false));
    let agent = w.open();
    cold_start(&agent);
    let b = downloaded(cold_start_check(&agent), Apply::NextBackground);
    assert_eq!(agent.on_background().unwrap().expect("applied at background").bundle.id, b.id);
}

#[test]
fn the_catalog_launch_mode_waits_for_the_next_cold_start_and_never_applies_under_a_running_app() {
    let w = world_in_mode("always");
    w.publish(1, "1.0.1");
    w.offer(1, install(Some("launch"), None, false));
    let agent = w.open();
    cold_start(&agent);
    let b = downloaded(cold_start_check(&agent), Apply::NextLaunch);
    assert_eq!(agent.on_background().unwrap(), None);
    assert_eq!(downloaded(agent.on_foreground(HOUR, &no()).unwrap(), Apply::NextLaunch).id, b.id);
    assert_eq!(agent.on_background().unwrap(), None);
    assert_eq!((current(&agent).as_str(), next(&agent)), ("builtin", Some(b.id.clone())));
    drop(agent);
    let agent = w.open();
    assert_eq!(cold_start(&agent).bundle.id, b.id);
    assert_eq!((current(&agent), next(&agent)), (b.id, None));
}

#[test]
fn a_maintenance_window_holds_the_background_apply_until_local_time_is_inside_it() {
    // T0 is 00:00 UTC; the device is at UTC+0.
    let w = world_in_mode("atBackground");
    w.publish(1, "1.0.1");
    w.offer(1, install(Some("immediate"), Some(("02:00", "04:00")), false));
    let agent = w.open();
    cold_start(&agent);
    // Immediate, but the window is closed: downgraded to the next background...
    let b = downloaded(cold_start_check(&agent), Apply::NextBackground);
    // ...which is still outside the window at 00:30.
    w.phone.clock.advance_ms(HOUR / 2);
    assert_eq!(agent.on_background().unwrap(), None);
    assert_eq!((current(&agent).as_str(), next(&agent)), ("builtin", Some(b.id.clone())));
    // 02:30 local: inside.
    w.phone.clock.advance_ms(2 * HOUR);
    assert_eq!(agent.on_background().unwrap().expect("applied inside the window").bundle.id, b.id);
    assert_eq!(current(&agent), b.id);
}

#[test]
fn maintenance_windows_are_in_device_local_time() {
    // 00:00 UTC is 02:30 at UTC+2:30: inside 02:00–04:00, so an immediate rule reloads at once.
    let mut w = world_in_mode("atBackground");
    w.set_device_fact("utcOffsetMinutes", serde_json::json!(150));
    w.publish(1, "1.0.1");
    w.offer(1, install(Some("immediate"), Some(("02:00", "04:00")), false));
    let agent = w.open();
    cold_start(&agent);
    let l = reload(cold_start_check(&agent));
    assert_eq!(current(&agent), l.bundle.id);
}

#[test]
fn a_cold_start_is_not_gated_by_the_window() {
    let w = world_in_mode("atBackground");
    w.publish(1, "1.0.1");
    w.offer(1, install(Some("background"), Some(("02:00", "04:00")), false));
    let agent = w.open();
    cold_start(&agent);
    let b = downloaded(cold_start_check(&agent), Apply::NextBackground);
    assert_eq!(agent.on_background().unwrap(), None, "outside the window");
    drop(agent);
    let agent = w.open();
    assert_eq!(cold_start(&agent).bundle.id, b.id, "a cold start interrupts nobody");
}

#[test]
fn periodic_checks_run_only_when_due_with_a_steady_per_device_offset() {
    let w = world(serde_json::json!({"autoUpdate": "atBackground", "periodCheckDelay": 600}));
    w.release(1, "1.0.1");
    let agent = w.open();
    cold_start(&agent);
    let t0 = w.phone.clock.now_ms();
    assert_eq!(agent.next_periodic_check_ms().unwrap(), Some(t0), "never checked: due now");
    downloaded(cold_start_check(&agent), Apply::NextBackground);
    assert_eq!(w.catalog_requests(), 1);

    let device_id = agent.device_id().unwrap();
    let due = schedule::next_periodic_check(t0, 600, &device_id).unwrap();
    assert_eq!(agent.next_periodic_check_ms().unwrap(), Some(due));
    assert!((t0 + 600_000..t0 + 660_000).contains(&due), "period plus up to a tenth of jitter");

    // Early timer fires are skipped without touching the network.
    w.phone.clock.set_ms(due - 1);
    assert!(skipped(agent.check_and_update(Trigger::Periodic, &no()).unwrap()).contains("due at"));
    assert_eq!(w.catalog_requests(), 1);

    // At the due time the check runs, and the next one is one period (plus the same offset) later.
    w.phone.clock.set_ms(due);
    w.release(2, "1.0.2");
    let b2 = downloaded(agent.check_and_update(Trigger::Periodic, &no()).unwrap(), Apply::NextBackground);
    assert_eq!((b2.version.as_str(), next(&agent)), ("1.0.2", Some(b2.id.clone())));
    assert_eq!(w.catalog_requests(), 2);
    assert_eq!(agent.next_periodic_check_ms().unwrap(), Some(due + (due - t0)));
}

#[test]
fn periodic_checks_are_off_when_the_period_is_zero() {
    let w = world_in_mode("atBackground");
    w.release(1, "1.0.1");
    let agent = w.open();
    cold_start(&agent);
    assert_eq!(agent.next_periodic_check_ms().unwrap(), None);
    assert!(skipped(agent.check_and_update(Trigger::Periodic, &no()).unwrap()).contains("periodCheckDelay"));
    assert_eq!(w.catalog_requests(), 0);
}

#[test]
fn an_up_to_date_check_emits_the_check_result_and_changes_nothing() {
    let w = world_in_mode("always");
    w.publish(1, "1.0.1");
    w.offer(1, None);
    let agent = w.open();
    cold_start(&agent);
    let l = reload(cold_start_check(&agent));
    ready(&agent, &l);
    w.phone.events.take();
    assert_eq!(agent.on_foreground(1_000, &no()).unwrap(), AutoOutcome::UpToDate);
    assert_eq!(w.phone.event_names(), vec!["updateCheckResult", "noNeedUpdate"]);
    assert_eq!((current(&agent), next(&agent)), (l.bundle.id.clone(), None));
    assert_eq!(w.bundle_dirs(), vec![l.bundle.id]);
}

#[test]
fn without_a_catalog_source_the_automatic_pipeline_says_why_it_does_nothing() {
    let phone = common::Phone::new(serde_json::json!({"autoUpdate": "always"}));
    let agent = phone.open();
    cold_start(&agent);
    assert!(skipped(cold_start_check(&agent)).contains("catalogUrl"));
    assert_eq!((current(&agent).as_str(), next(&agent)), ("builtin", None));
}
