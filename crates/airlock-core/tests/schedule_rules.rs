//! Scheduling rules (DESIGN §6.1 install object, §7 step 3, §8 delays; Capgo §4.5–4.7): when the agent checks,
//! when a downloaded bundle applies, how delay conditions settle, maintenance windows, periodic checks, backoff.
//! Every time is injected as Unix milliseconds; nothing sleeps.

use airlock_core::clock::parse_rfc3339;
use airlock_core::config::AutoUpdate;
use airlock_core::error::Error;
use airlock_core::schedule::{
    Apply, ApplyContext, DelayCondition, DelayKind, InstallMode, Moment, Trigger, apply_plan, backoff_ms, in_window,
    may_apply_next, next_periodic_check, parse_install_mode, settle, should_check, validate,
};

const ALL_MODES: [AutoUpdate; 6] = [
    AutoUpdate::Off,
    AutoUpdate::AtBackground,
    AutoUpdate::AtInstall,
    AutoUpdate::OnLaunch,
    AutoUpdate::Always,
    AutoUpdate::OnlyDownload,
];
const ALL_TRIGGERS: [Trigger; 4] = [Trigger::ColdStart, Trigger::Foreground, Trigger::Periodic, Trigger::Manual];
const LAUNCH: Moment = Moment::Launch;
const BACKGROUND: Moment = Moment::Background;

fn t(s: &str) -> i64 {
    parse_rfc3339(s).unwrap()
}

fn foreground(after_ms: i64) -> Moment {
    Moment::Foreground { background_ms: after_ms }
}

fn cond(kind: DelayKind, value: Option<&str>) -> DelayCondition {
    DelayCondition::new(kind, value)
}

// ---------------------------------------------------------------------------------------------------------------
// should_check

#[test]
fn off_never_checks_automatically_and_every_other_mode_checks_on_every_trigger() {
    for mode in ALL_MODES {
        for trigger in ALL_TRIGGERS {
            assert_eq!(should_check(mode, trigger), mode != AutoUpdate::Off, "{} on {trigger:?}", mode.as_str());
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// apply_plan

/// A plain check in `mode`: not the first launch, not the first check, nothing pending, no catalog rule.
fn ctx(mode: AutoUpdate) -> ApplyContext {
    ApplyContext {
        mode,
        first_launch_after_install: false,
        first_check_of_cold_start: false,
        delays_pending: false,
        install: None,
        mandatory: false,
        in_window: true,
    }
}

#[test]
fn off_and_only_download_never_apply_whatever_the_context() {
    for mode in [AutoUpdate::Off, AutoUpdate::OnlyDownload] {
        for install in [None, Some(InstallMode::Immediate), Some(InstallMode::Background), Some(InstallMode::Launch)] {
            for flags in 0..16u8 {
                let c = ApplyContext {
                    first_launch_after_install: flags & 1 != 0,
                    first_check_of_cold_start: flags & 2 != 0,
                    delays_pending: flags & 4 != 0,
                    mandatory: flags & 8 != 0,
                    install,
                    ..ctx(mode)
                };
                assert_eq!(apply_plan(&c), Apply::Never, "{c:?}");
            }
        }
    }
}

#[test]
fn at_background_queues_for_the_next_background_even_on_the_first_check() {
    let first = ApplyContext {
        first_launch_after_install: true,
        first_check_of_cold_start: true,
        ..ctx(AutoUpdate::AtBackground)
    };
    assert_eq!(apply_plan(&ctx(AutoUpdate::AtBackground)), Apply::NextBackground);
    assert_eq!(apply_plan(&first), Apply::NextBackground);
}

#[test]
fn at_install_applies_now_only_on_the_first_check_of_the_first_launch_after_install() {
    let mode = AutoUpdate::AtInstall;
    let first_launch_first_check =
        ApplyContext { first_launch_after_install: true, first_check_of_cold_start: true, ..ctx(mode) };
    let first_launch_later_check = ApplyContext { first_launch_after_install: true, ..ctx(mode) };
    let later_launch_first_check = ApplyContext { first_check_of_cold_start: true, ..ctx(mode) };
    assert_eq!(apply_plan(&first_launch_first_check), Apply::Now);
    assert_eq!(apply_plan(&first_launch_later_check), Apply::NextBackground, "no reload under a running session");
    assert_eq!(apply_plan(&later_launch_first_check), Apply::NextBackground);
    assert_eq!(apply_plan(&ctx(mode)), Apply::NextBackground);
}

#[test]
fn on_launch_applies_now_for_the_first_check_after_a_cold_start_and_later_checks_wait_for_background() {
    let first = ApplyContext { first_check_of_cold_start: true, ..ctx(AutoUpdate::OnLaunch) };
    let second = ctx(AutoUpdate::OnLaunch);
    assert_eq!(apply_plan(&first), Apply::Now);
    assert_eq!(apply_plan(&second), Apply::NextBackground);
}

#[test]
fn always_applies_now_on_every_check() {
    for flags in 0..4u8 {
        let c = ApplyContext {
            first_launch_after_install: flags & 1 != 0,
            first_check_of_cold_start: flags & 2 != 0,
            ..ctx(AutoUpdate::Always)
        };
        assert_eq!(apply_plan(&c), Apply::Now, "{c:?}");
    }
}

#[test]
fn pending_delay_conditions_turn_now_into_next_background_in_every_applying_mode() {
    let cases = [
        ApplyContext {
            first_launch_after_install: true,
            first_check_of_cold_start: true,
            ..ctx(AutoUpdate::AtInstall)
        },
        ApplyContext { first_check_of_cold_start: true, ..ctx(AutoUpdate::OnLaunch) },
        ctx(AutoUpdate::Always),
        ApplyContext { install: Some(InstallMode::Immediate), ..ctx(AutoUpdate::AtBackground) },
    ];
    for c in cases {
        assert_eq!(apply_plan(&c), Apply::Now, "without delays {c:?}");
        assert_eq!(apply_plan(&ApplyContext { delays_pending: true, ..c }), Apply::NextBackground, "{c:?}");
    }
}

#[test]
fn pending_delays_leave_queued_timings_as_they_are() {
    let bg = ApplyContext { delays_pending: true, ..ctx(AutoUpdate::AtBackground) };
    let launch = ApplyContext { install: Some(InstallMode::Launch), ..bg };
    assert_eq!(apply_plan(&bg), Apply::NextBackground);
    assert_eq!(apply_plan(&launch), Apply::NextLaunch);
}

#[test]
fn a_catalog_install_mode_overrides_the_apps_timing_in_every_applying_mode() {
    let applying = [AutoUpdate::AtBackground, AutoUpdate::AtInstall, AutoUpdate::OnLaunch, AutoUpdate::Always];
    for mode in applying {
        for first in [false, true] {
            let base =
                ApplyContext { first_launch_after_install: first, first_check_of_cold_start: first, ..ctx(mode) };
            let with = |m| apply_plan(&ApplyContext { install: Some(m), ..base });
            assert_eq!(with(InstallMode::Immediate), Apply::Now, "{} first={first}", mode.as_str());
            assert_eq!(with(InstallMode::Background), Apply::NextBackground, "{} first={first}", mode.as_str());
            assert_eq!(with(InstallMode::Launch), Apply::NextLaunch, "{} first={first}", mode.as_str());
        }
    }
}

#[test]
fn mandatory_ignores_delay_conditions_but_not_the_window() {
    let immediate =
        ApplyContext { install: Some(InstallMode::Immediate), mandatory: true, ..ctx(AutoUpdate::AtBackground) };
    assert_eq!(apply_plan(&ApplyContext { delays_pending: true, ..immediate }), Apply::Now);
    assert_eq!(
        apply_plan(&ApplyContext { delays_pending: true, in_window: false, ..immediate }),
        Apply::NextBackground
    );
    let always = ApplyContext { mandatory: true, delays_pending: true, ..ctx(AutoUpdate::Always) };
    assert_eq!(apply_plan(&always), Apply::Now, "mandatory also applies without a catalog install mode");
}

#[test]
fn outside_the_window_nothing_applies_now_but_queued_timings_are_kept() {
    let closed = |c: ApplyContext| apply_plan(&ApplyContext { in_window: false, ..c });
    assert_eq!(closed(ctx(AutoUpdate::Always)), Apply::NextBackground);
    assert_eq!(
        closed(ApplyContext { first_check_of_cold_start: true, ..ctx(AutoUpdate::OnLaunch) }),
        Apply::NextBackground
    );
    assert_eq!(
        closed(ApplyContext { install: Some(InstallMode::Immediate), ..ctx(AutoUpdate::AtBackground) }),
        Apply::NextBackground
    );
    assert_eq!(
        closed(ApplyContext { install: Some(InstallMode::Background), ..ctx(AutoUpdate::Always) }),
        Apply::NextBackground
    );
    assert_eq!(
        closed(ApplyContext { install: Some(InstallMode::Launch), ..ctx(AutoUpdate::Always) }),
        Apply::NextLaunch
    );
}

#[test]
fn catalog_install_mode_strings_parse_and_unknown_ones_fall_back_to_none() {
    assert_eq!(parse_install_mode("immediate"), Some(InstallMode::Immediate));
    assert_eq!(parse_install_mode("background"), Some(InstallMode::Background));
    assert_eq!(parse_install_mode("launch"), Some(InstallMode::Launch));
    assert_eq!(parse_install_mode("onLaunch"), Some(InstallMode::Launch));
    for unknown in ["", "now", "Immediate", "atBackground", " launch"] {
        assert_eq!(parse_install_mode(unknown), None, "{unknown:?}");
    }
    let m: InstallMode = serde_json::from_str("\"onLaunch\"").unwrap();
    assert_eq!(m, InstallMode::Launch);
    assert_eq!(serde_json::to_string(&Apply::NextBackground).unwrap(), "\"nextBackground\"");
}

// ---------------------------------------------------------------------------------------------------------------
// may_apply_next

#[test]
fn a_next_background_bundle_applies_at_background_inside_the_window_and_at_any_launch() {
    for queued in [Apply::NextBackground, Apply::Now] {
        assert!(may_apply_next(queued, &BACKGROUND, false, true));
        assert!(!may_apply_next(queued, &BACKGROUND, false, false), "window closed");
        assert!(!may_apply_next(queued, &BACKGROUND, true, true), "delays pending");
        assert!(may_apply_next(queued, &LAUNCH, false, true));
        assert!(may_apply_next(queued, &LAUNCH, false, false), "a launch is not gated by the window");
        assert!(!may_apply_next(queued, &LAUNCH, true, true), "delays pending");
    }
}

#[test]
fn a_next_launch_bundle_applies_only_at_a_launch_without_pending_delays() {
    assert!(may_apply_next(Apply::NextLaunch, &LAUNCH, false, true));
    assert!(may_apply_next(Apply::NextLaunch, &LAUNCH, false, false));
    assert!(!may_apply_next(Apply::NextLaunch, &LAUNCH, true, true));
    assert!(!may_apply_next(Apply::NextLaunch, &BACKGROUND, false, true));
}

#[test]
fn nothing_applies_on_foreground_and_never_means_never() {
    for queued in [Apply::Now, Apply::NextBackground, Apply::NextLaunch, Apply::Never] {
        assert!(!may_apply_next(queued, &foreground(3_600_000), false, true), "{queued:?}");
    }
    for moment in [LAUNCH, BACKGROUND, foreground(0)] {
        assert!(!may_apply_next(Apply::Never, &moment, false, true), "{moment:?}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Delay conditions: settle

const NOW: &str = "2026-03-10T12:00:00Z";

fn remains(c: &DelayCondition, moment: Moment, native: &str) -> bool {
    let left = settle(std::slice::from_ref(c), &moment, t(NOW), native);
    assert!(left.is_empty() || left == [c.clone()], "settle only removes");
    !left.is_empty()
}

#[test]
fn kill_is_satisfied_at_a_launch_only() {
    let kill = cond(DelayKind::Kill, None);
    assert!(!remains(&kill, LAUNCH, "1.0.0"));
    assert!(remains(&kill, BACKGROUND, "1.0.0"));
    assert!(remains(&kill, foreground(86_400_000), "1.0.0"));
    assert!(!remains(&cond(DelayKind::Kill, Some("ignored")), LAUNCH, "1.0.0"));
}

#[test]
fn background_without_value_is_satisfied_by_any_return_to_the_foreground() {
    let bg = cond(DelayKind::Background, None);
    assert!(!remains(&bg, foreground(0), "1.0.0"));
    assert!(!remains(&bg, foreground(-5), "1.0.0"), "a clock step backwards counts as a zero-length stay");
    assert!(remains(&bg, BACKGROUND, "1.0.0"), "going to background is not coming back");
    assert!(remains(&bg, LAUNCH, "1.0.0"));
}

#[test]
fn background_with_a_value_needs_a_stay_at_least_that_long() {
    let bg = cond(DelayKind::Background, Some("60000"));
    assert!(remains(&bg, foreground(59_999), "1.0.0"));
    assert!(!remains(&bg, foreground(60_000), "1.0.0"));
    assert!(!remains(&bg, foreground(3_600_000), "1.0.0"));
    assert!(remains(&bg, BACKGROUND, "1.0.0"));
    assert!(remains(&bg, LAUNCH, "1.0.0"));
}

#[test]
fn date_is_satisfied_strictly_after_the_date_at_every_moment() {
    let before = cond(DelayKind::Date, Some("2026-03-10T12:00:01Z"));
    let exactly = cond(DelayKind::Date, Some(NOW));
    let after = cond(DelayKind::Date, Some("2026-03-10T13:59:59+02:00")); // 11:59:59Z
    for moment in [LAUNCH, BACKGROUND, foreground(0)] {
        assert!(remains(&before, moment, "1.0.0"), "{moment:?}");
        assert!(remains(&exactly, moment, "1.0.0"), "not strictly after at {moment:?}");
        assert!(!remains(&after, moment, "1.0.0"), "{moment:?}");
    }
}

#[test]
fn nativeversion_is_satisfied_once_the_native_version_reaches_the_value() {
    let need = cond(DelayKind::NativeVersion, Some("2.1"));
    for moment in [LAUNCH, BACKGROUND, foreground(0)] {
        assert!(remains(&need, moment, "2.0.9"), "lower at {moment:?}");
        assert!(!remains(&need, moment, "2.1.0"), "equal at {moment:?}");
        assert!(!remains(&need, moment, "v2.1"), "equal after coercion at {moment:?}");
        assert!(!remains(&need, moment, "10.0.0"), "higher (numeric, not lexical) at {moment:?}");
        assert!(remains(&need, moment, "unknown"), "an unparsable native version never satisfies it");
    }
}

#[test]
fn malformed_stored_conditions_are_dropped_instead_of_blocking_forever() {
    let broken = [
        cond(DelayKind::Date, Some("next tuesday")),
        cond(DelayKind::Date, None),
        cond(DelayKind::Background, Some("-1")),
        cond(DelayKind::Background, Some("1.5")),
        cond(DelayKind::NativeVersion, None),
        cond(DelayKind::NativeVersion, Some("latest")),
    ];
    for moment in [LAUNCH, BACKGROUND, foreground(0)] {
        assert_eq!(settle(&broken, &moment, t(NOW), "1.0.0"), [], "{moment:?}");
    }
}

#[test]
fn settle_removes_satisfied_conditions_and_keeps_the_rest_in_order() {
    let conds = [
        cond(DelayKind::Background, Some("60000")),
        cond(DelayKind::Kill, None),
        cond(DelayKind::Date, Some("2027-01-01T00:00:00Z")),
        cond(DelayKind::NativeVersion, Some("3.0.0")),
        cond(DelayKind::Date, Some("2025-01-01T00:00:00Z")),
    ];
    let after_launch = settle(&conds, &LAUNCH, t(NOW), "2.0.0");
    assert_eq!(after_launch, [conds[0].clone(), conds[2].clone(), conds[3].clone()]);
    let after_long_stay = settle(&after_launch, &foreground(120_000), t(NOW), "2.0.0");
    assert_eq!(after_long_stay, [conds[2].clone(), conds[3].clone()]);
    let after_native_update = settle(&after_long_stay, &LAUNCH, t(NOW), "3.0.0");
    assert_eq!(after_native_update, [conds[2].clone()]);
    let next_year = settle(&after_native_update, &BACKGROUND, t("2027-01-01T00:00:00.001Z"), "3.0.0");
    assert_eq!(next_year, []);
    assert_eq!(settle(&[], &LAUNCH, t(NOW), "1.0.0"), []);
}

// ---------------------------------------------------------------------------------------------------------------
// Delay conditions: JSON shape and validate

#[test]
fn delay_conditions_keep_capgos_json_shape() {
    let parsed: Vec<DelayCondition> = serde_json::from_str(
        r#"[{"kind":"background","value":"300"},{"kind":"kill"},{"kind":"date","value":"2026-01-01T00:00:00Z"},
            {"kind":"nativeVersion","value":"2.0.0"}]"#,
    )
    .unwrap();
    assert_eq!(parsed[0], cond(DelayKind::Background, Some("300")));
    assert_eq!(parsed[1], cond(DelayKind::Kill, None));
    assert_eq!(parsed[3].kind, DelayKind::NativeVersion);
    assert_eq!(serde_json::to_string(&parsed[1]).unwrap(), r#"{"kind":"kill"}"#);
    assert_eq!(serde_json::to_string(&parsed[0]).unwrap(), r#"{"kind":"background","value":"300"}"#);
    assert!(serde_json::from_str::<DelayCondition>(r#"{"kind":"reboot"}"#).is_err(), "unknown kinds are refused");
}

#[test]
fn validate_accepts_well_formed_conditions() {
    let ok = [
        cond(DelayKind::Background, None),
        cond(DelayKind::Background, Some("0")),
        cond(DelayKind::Background, Some("86400000")),
        cond(DelayKind::Kill, None),
        cond(DelayKind::Kill, Some("whatever")),
        cond(DelayKind::Date, Some("2026-01-01T00:00:00.000Z")),
        cond(DelayKind::Date, Some("2026-01-01T09:00:00+09:00")),
        cond(DelayKind::NativeVersion, Some("2.0")),
    ];
    validate(&ok).unwrap();
    validate(&[]).unwrap();
}

#[test]
fn validate_refuses_bad_conditions_and_names_the_one_at_fault() {
    let good = cond(DelayKind::Kill, None);
    let bad = [
        (cond(DelayKind::Date, None), "(date)"),
        (cond(DelayKind::Date, Some("2026-01-01")), "(date)"),
        (cond(DelayKind::Date, Some("2026-01-01T00:00:00")), "(date)"),
        (cond(DelayKind::Background, Some("-1")), "(background)"),
        (cond(DelayKind::Background, Some("1.5")), "(background)"),
        (cond(DelayKind::Background, Some("")), "(background)"),
        (cond(DelayKind::Background, Some("10 minutes")), "(background)"),
        (cond(DelayKind::Background, Some("99999999999999999999999")), "(background)"),
        (cond(DelayKind::NativeVersion, None), "(nativeVersion)"),
        (cond(DelayKind::NativeVersion, Some("latest")), "(nativeVersion)"),
    ];
    for (c, names) in bad {
        let err = validate(&[good.clone(), c.clone()]).unwrap_err();
        let Error::InvalidRequest(msg) = &err else { panic!("{c:?}: expected InvalidRequest, got {err:?}") };
        assert!(msg.contains("#2") && msg.contains(names), "{c:?}: {msg}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Maintenance windows

#[test]
fn a_daytime_window_includes_its_start_and_excludes_its_end() {
    let open = |at: &str| in_window("02:00", "04:00", t(at), 0).unwrap();
    assert!(!open("2026-03-10T01:59:59.999Z"));
    assert!(open("2026-03-10T02:00:00Z"));
    assert!(open("2026-03-10T03:59:59Z"));
    assert!(!open("2026-03-10T04:00:00Z"));
    assert!(!open("2026-03-10T14:00:00Z"));
}

#[test]
fn a_window_crossing_midnight_is_open_on_both_sides_of_it() {
    let open = |at: &str| in_window("22:00", "02:00", t(at), 0).unwrap();
    assert!(!open("2026-03-10T21:59:00Z"));
    assert!(open("2026-03-10T22:00:00Z"));
    assert!(open("2026-03-10T23:59:59Z"));
    assert!(open("2026-03-11T00:00:00Z"));
    assert!(open("2026-03-11T01:59:00Z"));
    assert!(!open("2026-03-11T02:00:00Z"));
    assert!(!open("2026-03-11T12:00:00Z"));
}

#[test]
fn windows_are_in_the_devices_local_time() {
    // 01:30Z is 03:30 in UTC+2 (inside 02:00–04:00) and 20:30 the day before in UTC-5.
    let at = t("2026-03-10T01:30:00Z");
    assert!(in_window("02:00", "04:00", at, 120).unwrap());
    assert!(!in_window("02:00", "04:00", at, 0).unwrap());
    assert!(!in_window("02:00", "04:00", at, -300).unwrap());
    assert!(in_window("20:00", "21:00", at, -300).unwrap());
    // Half-hour zones (India, UTC+5:30): 20:45Z is 02:15 the next day.
    assert!(in_window("02:00", "02:30", t("2026-03-10T20:45:00Z"), 330).unwrap());
    // Times before 1970 still land on the right minute of the day.
    assert!(in_window("23:00", "23:30", t("1969-12-31T23:15:00Z"), 0).unwrap());
}

#[test]
fn equal_start_and_end_means_always_open_and_2400_means_midnight() {
    for at in ["2026-03-10T00:00:00Z", "2026-03-10T09:41:00Z", "2026-03-10T23:59:59Z"] {
        assert!(in_window("03:00", "03:00", t(at), 0).unwrap(), "{at}");
        assert!(in_window("24:00", "00:00", t(at), 60).unwrap(), "{at}");
    }
    assert!(in_window("22:00", "24:00", t("2026-03-10T23:59:00Z"), 0).unwrap());
    assert!(!in_window("22:00", "24:00", t("2026-03-11T00:00:00Z"), 0).unwrap());
}

#[test]
fn malformed_window_times_are_rejected_as_bad_metadata_naming_the_bad_time() {
    let at = t(NOW);
    for (start, end, culprit) in [
        ("2:00", "04:00", "start \"2:00\""),
        ("02:00", "4", "end \"4\""),
        ("25:00", "04:00", "start \"25:00\""),
        ("02:60", "04:00", "start \"02:60\""),
        ("24:01", "04:00", "start \"24:01\""),
        ("02-00", "04:00", "start \"02-00\""),
        ("", "04:00", "start \"\""),
        ("02:00 ", "04:00", "start \"02:00 \""),
        ("+2:00", "04:00", "start \"+2:00\""),
        ("02:00", "\u{ff10}4:00", "end \"\u{ff10}4:00\""),
    ] {
        let err = in_window(start, end, at, 0).unwrap_err();
        assert_eq!(err.reject_code(), Some("bad_metadata"), "{start:?}–{end:?}");
        assert!(err.to_string().contains(culprit), "{start:?}–{end:?}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Periodic checks

#[test]
fn periodic_checks_are_off_when_the_period_is_zero() {
    assert_eq!(next_periodic_check(t(NOW), 0, "device-a"), None);
}

#[test]
fn the_next_periodic_check_comes_one_period_plus_a_stable_per_install_offset_later() {
    let last = t(NOW);
    let period_ms = 600_000;
    let a1 = next_periodic_check(last, 600, "device-a").unwrap();
    let a2 = next_periodic_check(last, 600, "device-a").unwrap();
    assert_eq!(a1, a2, "same seed, same answer");
    let offset = a1 - last - period_ms;
    assert!((0..period_ms / 10).contains(&offset), "offset {offset}");
    // The offset belongs to the install, not to the time: one device keeps a steady rhythm.
    let later = next_periodic_check(last + 12_345_678, 600, "device-a").unwrap();
    assert_eq!(later - (last + 12_345_678), a1 - last);
}

#[test]
fn periodic_offsets_spread_a_fleet_across_the_jitter_range() {
    let last = t(NOW);
    let period_ms: i64 = 3_600_000;
    let spread = period_ms / 10;
    let offsets: Vec<i64> = (0..1000)
        .map(|i| next_periodic_check(last, 3600, &format!("device-{i}")).unwrap() - last - period_ms)
        .collect();
    assert!(offsets.iter().all(|o| (0..spread).contains(o)));
    let mut distinct = offsets.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() > 990, "only {} distinct offsets", distinct.len());
    // Every tenth of the spread gets a fair share (expected 100 each).
    let mut buckets = [0u32; 10];
    for o in &offsets {
        buckets[(o * 10 / spread) as usize] += 1;
    }
    assert!(buckets.iter().all(|&n| (50..=150).contains(&n)), "{buckets:?}");
}

#[test]
fn periodic_checks_never_overflow() {
    assert_eq!(next_periodic_check(i64::MAX - 5, 600, "d"), Some(i64::MAX));
    assert_eq!(next_periodic_check(0, u64::MAX, "d"), Some(i64::MAX));
    assert!(next_periodic_check(i64::MIN, 600, "d").unwrap() > i64::MIN);
}

// ---------------------------------------------------------------------------------------------------------------
// Backoff

#[test]
fn backoff_is_a_uniform_pick_below_an_exponentially_growing_ceiling() {
    let (base, cap) = (1_000, 300_000);
    for attempt in 0..12 {
        let ceiling = (base << attempt).min(cap);
        assert_eq!(backoff_ms(attempt, base, cap, 0.0, None), 0, "full jitter may retry at once");
        assert_eq!(backoff_ms(attempt, base, cap, 1.0, None), ceiling, "attempt {attempt}");
        assert_eq!(backoff_ms(attempt, base, cap, 0.5, None), ceiling / 2, "attempt {attempt}");
    }
    assert_eq!(backoff_ms(3, base, cap, 0.25, None), 2_000);
}

#[test]
fn backoff_is_capped_and_never_overflows_whatever_the_inputs() {
    assert_eq!(backoff_ms(200, 1_000, 300_000, 1.0, None), 300_000);
    assert_eq!(backoff_ms(u32::MAX, u64::MAX, u64::MAX, 1.0, None), u64::MAX);
    assert_eq!(backoff_ms(5, 1_000, 300_000, 7.0, None), 32_000, "rand above 1 is clamped");
    assert_eq!(backoff_ms(5, 1_000, 300_000, -1.0, None), 0, "rand below 0 is clamped");
    assert_eq!(backoff_ms(5, 1_000, 300_000, f64::NAN, None), 0, "NaN counts as 0");
    assert_eq!(backoff_ms(5, 0, 300_000, 1.0, None), 0);
}

#[test]
fn retry_after_is_a_lower_bound_capped_at_the_maximum_wait() {
    let (base, cap) = (1_000, 300_000);
    assert_eq!(backoff_ms(0, base, cap, 0.0, Some(30)), 30_000, "server asked for 30 s");
    assert_eq!(backoff_ms(8, base, cap, 1.0, Some(30)), 256_000, "a longer jittered wait wins");
    assert_eq!(backoff_ms(0, base, cap, 0.0, Some(86_400)), cap, "a day-long Retry-After is capped");
    assert_eq!(backoff_ms(0, base, cap, 0.0, Some(u64::MAX)), cap);
    assert_eq!(backoff_ms(0, base, cap, 0.0, Some(0)), 0);
}
