//! Device-side segmentation (DESIGN §6.1): rollouts, weighted variants and rule matching, as a device evaluates a
//! parsed channel catalog. Invariant under test: shares match the published percentages, raising a rollout only
//! adds devices, the first fitting rule decides, and revoked releases are never chosen.

use std::collections::BTreeMap;

use airlock_core::catalog::Catalog;
use airlock_core::segment::{self, DeviceProfile, cohort, decide, in_rollout, may_self_assign, resolve_channel};
use airlock_testkit::bundle::Rng;
use serde_json::{Value, json};

const DEVICES: usize = 10_000;
const TOLERANCE_POINTS: f64 = 1.5;

/// 10 000 lowercase UUID-v4-like device ids from a seeded PRNG.
fn device_ids() -> Vec<String> {
    let mut rng = Rng::new(0x5e6_3e47);
    (0..DEVICES)
        .map(|_| {
            let mut b = [0u8; 16];
            rng.fill(&mut b);
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let h = hex::encode(b);
            format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
        })
        .collect()
}

/// A parsed catalog for channel "production" with the given rules, pinning releases 1..=9.
fn catalog(rules: Value) -> Catalog {
    catalog_with(rules, json!([]))
}

fn catalog_with(rules: Value, revoked: Value) -> Catalog {
    let releases: serde_json::Map<String, Value> =
        (1..=9).map(|n| (n.to_string(), json!({"sha256": format!("{n:064x}")}))).collect();
    let payload = json!({
        "spec": 1, "app_id": "com.example.app", "channel": "production", "serial": 7,
        "expires_at": "2099-01-01T00:00:00Z", "releases": releases, "revoked": revoked, "rules": rules,
    });
    Catalog::parse(payload.to_string().as_bytes()).expect("test catalog is valid")
}

fn device(id: &str) -> DeviceProfile {
    DeviceProfile {
        device_id: id.to_string(),
        platform: "android".into(),
        native_version: "1.4.2".into(),
        custom_id: Some("qa-7".into()),
        attributes: BTreeMap::from([("plan".to_string(), "enterprise".to_string()), ("beta".into(), "yes".into())]),
    }
}

fn decided_release(c: &Catalog, d: &DeviceProfile) -> Option<u64> {
    decide(c, d).unwrap().map(|x| x.release)
}

fn share(count: usize) -> f64 {
    count as f64 * 100.0 / DEVICES as f64
}

#[test]
fn each_rollout_percentage_reaches_its_share_of_10000_devices_within_1_5_points() {
    let ids = device_ids();
    for percent in [1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0] {
        let c = catalog(json!([{"rollout": {"percent": percent, "salt": "r42"}, "release": 3}]));
        let inside = ids.iter().filter(|id| decided_release(&c, &device(id)) == Some(3)).count();
        let measured = share(inside);
        println!("rollout {percent:>4}%: {inside:>5} of {DEVICES} devices = {measured:.2}%");
        assert!((measured - percent).abs() <= TOLERANCE_POINTS, "rollout {percent}% measured {measured:.2}%");
        // The decision and the bare formula agree device by device.
        assert_eq!(inside, ids.iter().filter(|id| in_rollout(percent, "r42", id)).count());
    }
}

#[test]
fn each_variant_split_reaches_its_weights_within_1_5_points() {
    let ids = device_ids();
    for weights in [vec![50u32, 50], vec![50, 30, 20], vec![90, 10]] {
        let variants: Vec<Value> =
            weights.iter().enumerate().map(|(i, w)| json!({"release": i + 1, "weight": w})).collect();
        let c = catalog(json!([{"rollout": {"percent": 100.0, "salt": "ab"}, "variants": variants}]));
        let mut counts = vec![0usize; weights.len()];
        for id in &ids {
            let d = decide(&c, &device(id)).unwrap().expect("everyone is in a 100 % split");
            let i = d.variant_index.expect("a split reports its variant");
            assert_eq!(d.release, i as u64 + 1);
            counts[i] += 1;
        }
        let total: u32 = weights.iter().sum();
        for (i, w) in weights.iter().enumerate() {
            let expected = f64::from(*w) * 100.0 / f64::from(total);
            let measured = share(counts[i]);
            println!("split {weights:?} variant {i}: {:>5} devices = {measured:.2}% (want {expected:.0}%)", counts[i]);
            assert!((measured - expected).abs() <= TOLERANCE_POINTS, "split {weights:?} variant {i}: {measured:.2}%");
        }
    }
}

#[test]
fn raising_a_rollout_keeps_every_device_that_was_in_and_only_adds() {
    let ids = device_ids();
    let at = |p: f64| -> Vec<bool> { ids.iter().map(|id| in_rollout(p, "r42", id)).collect() };
    let (ten, thirty) = (at(10.0), at(30.0));
    assert!(ten.iter().zip(&thirty).all(|(before, after)| !before || *after), "no device leaves when raising 10→30");
    let added = thirty.iter().filter(|x| **x).count() - ten.iter().filter(|x| **x).count();
    println!("raising 10% → 30% added {added} devices");
    assert!(added > 1_500, "raising 10→30 adds about 2000 devices, added {added}");
    assert!(at(0.0).iter().all(|x| !x), "0 % includes nobody");
    assert!(at(100.0).iter().all(|x| *x), "100 % includes everybody");
    // Fractional percentages use round(percent × 100) buckets of 0.01 %.
    let id = &ids[0];
    let c = cohort("r42", id);
    assert!(in_rollout(f64::from(c + 1) / 100.0, "r42", id));
    assert!(!in_rollout(f64::from(c) / 100.0, "r42", id));
}

#[test]
fn a_different_salt_reshuffles_cohorts() {
    let ids = device_ids();
    let both = ids.iter().filter(|id| in_rollout(50.0, "r42", id) && in_rollout(50.0, "r43", id)).count();
    // Independent halves overlap on about a quarter of the devices.
    assert!((share(both) - 25.0).abs() <= TOLERANCE_POINTS, "overlap {:.2}%", share(both));
}

#[test]
fn each_match_field_matches_positively_and_negatively() {
    let d = device("6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b");
    let cases = [
        (json!({"platforms": ["ios", "android"]}), true),
        (json!({"platforms": ["ios"]}), false),
        (json!({"native": ">=1.2.0 <2.0.0"}), true),
        (json!({"native": ">=1.5"}), false),
        (json!({"native": "<1.4.2"}), false),
        (json!({"custom_ids": ["qa-7", "qa-8"]}), true),
        (json!({"custom_ids": ["qa-8"]}), false),
        (json!({"device_ids": ["6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b"]}), true),
        (json!({"device_ids": ["00000000-0000-4000-8000-000000000000"]}), false),
        (json!({"attributes": {"plan": "enterprise"}}), true),
        (json!({"attributes": {"plan": "enterprise", "beta": "yes"}}), true),
        (json!({"attributes": {"plan": "free"}}), false),
        (json!({"attributes": {"region": "eu"}}), false),
        (json!({}), true),
        (
            json!({"platforms": ["android"], "native": ">=1", "custom_ids": ["qa-7"], "attributes": {"beta": "yes"}}),
            true,
        ),
        (
            json!({"platforms": ["android"], "native": ">=1", "custom_ids": ["qa-9"], "attributes": {"beta": "yes"}}),
            false,
        ),
    ];
    for (m, expected) in cases {
        let c = catalog(json!([{"match": m, "release": 2}]));
        let got = decided_release(&c, &d);
        assert_eq!(got, expected.then_some(2), "match {m}");
        assert_eq!(segment::rule_matches(c.rules[0].matcher.as_ref().unwrap(), &d).unwrap(), expected, "match {m}");
    }
}

#[test]
fn an_absent_field_matches_everyone_and_a_present_empty_list_matches_nobody() {
    let d = device("6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b");
    assert_eq!(decided_release(&catalog(json!([{"release": 4}])), &d), Some(4), "no match at all: everyone");
    for empty in ["platforms", "custom_ids", "device_ids"] {
        let c = catalog(json!([{"match": {empty: []}, "release": 4}]));
        assert_eq!(decided_release(&c, &d), None, "empty {empty} matches nobody");
    }
    let c = catalog(json!([{"match": {"attributes": {}}, "release": 4}]));
    assert_eq!(decided_release(&c, &d), Some(4), "an empty attribute map requires nothing");
}

#[test]
fn a_device_without_a_custom_id_does_not_match_a_custom_id_list() {
    let mut d = device("6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b");
    d.custom_id = None;
    let c = catalog(json!([{"match": {"custom_ids": ["qa-7"]}, "release": 2}]));
    assert_eq!(decided_release(&c, &d), None);
}

#[test]
fn the_first_fitting_rule_wins_and_its_install_policy_comes_with_it() {
    let d = device("6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b");
    let c = catalog(json!([
        {"match": {"platforms": ["ios"]}, "release": 1},
        {"match": {"custom_ids": ["qa-7"]}, "release": 2,
         "install": {"mode": "immediate", "window": {"start": "02:00", "end": "04:00"}, "mandatory": true}},
        {"release": 3},
    ]));
    let decision = decide(&c, &d).unwrap().unwrap();
    assert_eq!((decision.release, decision.rule_index, decision.variant_index), (2, 1, None));
    let install = decision.install.unwrap();
    assert_eq!(install.mode.as_deref(), Some("immediate"));
    assert!(install.mandatory);
    assert_eq!(install.window.unwrap().start, "02:00");
    let mut other = device("00000000-0000-4000-8000-000000000000");
    other.custom_id = None;
    let decision = decide(&c, &other).unwrap().unwrap();
    assert_eq!((decision.release, decision.rule_index, decision.install), (3, 2, None));
}

#[test]
fn a_device_outside_a_rollout_falls_through_to_the_next_rule_and_without_one_stays_put() {
    let ids = device_ids();
    let c = catalog(json!([{"rollout": {"percent": 20.0, "salt": "r42"}, "release": 5}, {"release": 4}]));
    let alone = catalog(json!([{"rollout": {"percent": 20.0, "salt": "r42"}, "release": 5}]));
    let (mut fell, mut inside) = (0, 0);
    for id in &ids {
        let d = device(id);
        if in_rollout(20.0, "r42", id) {
            inside += 1;
            assert_eq!(decide(&c, &d).unwrap().map(|x| (x.release, x.rule_index)), Some((5, 0)));
        } else {
            fell += 1;
            assert_eq!(decide(&c, &d).unwrap().map(|x| (x.release, x.rule_index)), Some((4, 1)));
            assert_eq!(decide(&alone, &d).unwrap(), None, "no rule left: the device stays where it is");
        }
    }
    assert!(inside > 0 && fell > 0);
}

#[test]
fn revoked_releases_are_never_chosen_and_the_device_falls_through() {
    let ids = device_ids();
    let d = device(&ids[0]);
    let c = catalog_with(json!([{"release": 5}, {"release": 4}]), json!([5]));
    assert_eq!(decide(&c, &d).unwrap().map(|x| (x.release, x.rule_index)), Some((4, 1)));
    let c = catalog_with(json!([{"release": 5}]), json!([5]));
    assert_eq!(decide(&c, &d).unwrap(), None);
    // A split with a revoked arm: devices on that arm fall through, the others keep their arm.
    let c = catalog_with(
        json!([{"variants": [{"release": 1, "weight": 50}, {"release": 2, "weight": 50}]}, {"release": 3}]),
        json!([2]),
    );
    let mut seen = BTreeMap::new();
    for id in &ids {
        *seen.entry(decided_release(&c, &device(id)).unwrap()).or_insert(0usize) += 1;
    }
    assert!(!seen.contains_key(&2), "revoked release 2 chosen: {seen:?}");
    assert!(seen[&1] > 4_000 && seen[&3] > 4_000, "{seen:?}");
}

#[test]
fn variants_without_a_rollout_are_salted_with_the_channel_name() {
    let ids = device_ids();
    let variants = json!([{"release": 1, "weight": 1}, {"release": 2, "weight": 1}]);
    let unsalted = catalog(json!([{"variants": variants}]));
    let salted = catalog(json!([{"rollout": {"percent": 100.0, "salt": "production"}, "variants": variants}]));
    for id in ids.iter().take(500) {
        let d = device(id);
        assert_eq!(decided_release(&unsalted, &d), decided_release(&salted, &d), "device {id}");
        let expected =
            segment::pick_variant(&unsalted.rules[0].variants.clone().unwrap(), "production", id).map(|v| v.release);
        assert_eq!(decided_release(&unsalted, &d), expected);
    }
}

#[test]
fn a_zero_weight_variant_is_never_picked() {
    let ids = device_ids();
    let c = catalog(json!([{"variants": [{"release": 1, "weight": 0}, {"release": 2, "weight": 3}]}]));
    assert!(ids.iter().all(|id| decided_release(&c, &device(id)) == Some(2)));
}

#[test]
fn a_device_reads_its_assigned_channel_else_the_default_and_may_self_assign_only_when_allowed() {
    assert_eq!(resolve_channel(Some("beta"), "production"), "beta");
    assert_eq!(resolve_channel(None, "production"), "production");
    assert_eq!(resolve_channel(Some(""), "production"), "production");
    let mut c = catalog(json!([]));
    assert!(!may_self_assign(&c), "self_assign defaults to false");
    c.self_assign = true;
    assert!(may_self_assign(&c));
}
