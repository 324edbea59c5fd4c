//! Known-answer vectors of DESIGN §6.1 for cohorts and variant choice, computed by an independent implementation.
//! Invariant: our cohort, rollout and variant functions reproduce every vector of tests/fixtures/formats.json.

use airlock_core::catalog::Variant;
use airlock_core::segment::{cohort, in_rollout, pick_variant};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/formats.json");
    let text = std::fs::read_to_string(path).expect("tests/fixtures/formats.json is readable");
    serde_json::from_str(&text).expect("formats.json is JSON")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("vector field {key} is a string"))
}

/// The vectors name variants A, B, C; they map to releases 1, 2, 3.
const NAMES: [&str; 3] = ["A", "B", "C"];

#[test]
fn every_cohort_vector_gives_the_same_cohort_and_25_percent_membership() {
    let all = vectors()["cohorts"].as_array().unwrap().clone();
    assert!(all.len() >= 10, "expected the full cohort vector set, got {}", all.len());
    for v in &all {
        let (salt, device) = (s(v, "salt"), s(v, "device_id"));
        assert_eq!(u64::from(cohort(salt, device)), v["cohort"].as_u64().unwrap(), "cohort of {salt} / {device}");
        assert_eq!(in_rollout(25.0, salt, device), v["in_25_percent"].as_bool().unwrap(), "25 % of {salt} / {device}");
        assert!(!in_rollout(0.0, salt, device), "0 % includes nobody");
        assert!(in_rollout(100.0, salt, device), "100 % includes everybody");
    }
}

#[test]
fn every_variant_vector_picks_the_same_variant() {
    let all = vectors()["variants"].as_array().unwrap().clone();
    assert!(all.len() >= 5, "expected the full variant vector set, got {}", all.len());
    for v in &all {
        let (salt, device) = (s(v, "salt"), s(v, "device_id"));
        // The vector's v is the cohort under salt + "/variant".
        assert_eq!(u64::from(cohort(&format!("{salt}/variant"), device)), v["v"].as_u64().unwrap(), "v of {device}");
        let weights = v["weights"].as_object().unwrap();
        let variants: Vec<Variant> = NAMES
            .iter()
            .enumerate()
            .filter_map(|(i, name)| {
                weights.get(*name).map(|w| Variant { release: i as u64 + 1, weight: w.as_u64().unwrap() as u32 })
            })
            .collect();
        assert_eq!(variants.len(), weights.len(), "weights only use the names A, B, C");
        let expected = NAMES.iter().position(|n| *n == s(v, "variant")).unwrap() as u64 + 1;
        let picked = pick_variant(&variants, salt, device).expect("a variant is picked");
        assert_eq!(picked.release, expected, "variant of {salt} / {device}");
    }
}
