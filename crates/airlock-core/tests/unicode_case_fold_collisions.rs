//! Specification of case-fold collisions: two bundle paths that an APFS case-insensitive volume would store as one
//! file (its rule: canonical decomposition, Unicode full case folding, decomposition again — the Unicode
//! canonical caseless match) make the bundle refused with a message naming both paths, in a zip (unpack policy)
//! and in a signed file list (release manifest / delta path); names APFS keeps apart are accepted.

use std::fs;

use airlock_core::unpack::{FileEntry, Limits, check_file_list, unpack};
use airlock_core::{Cancel, Error};
use airlock_testkit::zipcraft::good_zip;
use sha2::{Digest, Sha256};

const INDEX: &[u8] = b"<!doctype html><html><body>hi</body></html>\n";

/// Pairs of names that are one name on APFS (case-insensitive) but that ASCII or simple lower-casing keeps apart
/// (except the Kelvin sign, which `to_lowercase` already maps to `k`, kept as a regression guard).
const COLLIDING: &[(&str, &str, &str)] = &[
    ("long s", "\u{17F}.js", "s.js"),
    ("Kelvin sign", "\u{212A}.js", "k.js"),
    ("sharp s", "stra\u{DF}e.js", "STRASSE.js"),
    ("fi ligature", "\u{FB01}le.js", "FILE.js"),
    ("Greek final sigma", "\u{3C2}.js", "\u{3A3}.js"),
    ("long s in a directory", "\u{17F}rc/a.js", "src/b.js"),
    ("case folding of a decomposed name", "E\u{301}t\u{E9}.js", "\u{E9}T\u{C9}.js"),
];

/// Pairs APFS keeps as two files (full, non-Turkic folding: dotless i has no folding, so it stays apart from i).
const DISTINCT: &[(&str, &str, &str)] = &[
    ("dotless i", "\u{131}.js", "i.js"),
    ("capital I with dot", "\u{130}.js", "i.js"),
    ("e and e acute", "e.js", "\u{E9}.js"),
];

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn list(paths: &[&str]) -> Vec<FileEntry> {
    let mut v: Vec<FileEntry> = paths
        .iter()
        .map(|p| FileEntry { path: (*p).to_owned(), size: p.len() as u64, sha256: sha(p.as_bytes()) })
        .collect();
    v.sort();
    v
}

fn assert_names_both(err: Error, a: &str, b: &str, code: &str, case: &str) {
    match err {
        Error::Rejected { code: got, message } => {
            assert_eq!(got, code, "{case}: wrong code; message: {message}");
            assert!(
                message.contains(&format!("{a:?}")) || message.contains(&format!("{:?}", first_dir(a))),
                "{case}: {message:?} does not name {a:?}"
            );
            assert!(
                message.contains(&format!("{b:?}")) || message.contains(&format!("{:?}", first_dir(b))),
                "{case}: {message:?} does not name {b:?}"
            );
            assert!(message.contains("; "), "{case}: {message:?} names no fix");
        }
        other => panic!("{case}: expected a {code} rejection, got {other:?}"),
    }
}

fn first_dir(p: &str) -> &str {
    p.split('/').next().unwrap_or(p)
}

#[test]
fn names_that_one_apfs_file_would_hold_make_a_zip_refused_before_any_file_is_written() {
    let sandbox = tempfile::tempdir().unwrap();
    for (n, (case, a, b)) in COLLIDING.iter().enumerate() {
        let staging = sandbox.path().join(format!("staging-{n}"));
        fs::create_dir(&staging).unwrap();
        let zip_path = sandbox.path().join(format!("bundle-{n}.zip"));
        fs::write(&zip_path, good_zip(&[("index.html", INDEX), (a, b"one"), (b, b"two")])).unwrap();
        let err = unpack(&zip_path, &staging, &Limits::default(), None, &Cancel::never(), &mut |_| {})
            .expect_err(&format!("{case}: {a:?} and {b:?} must collide"));
        assert_names_both(err, a, b, "unsafe_zip", case);
        assert_eq!(fs::read_dir(&staging).unwrap().count(), 0, "{case}: staging must stay empty");
    }
}

#[test]
fn names_that_one_apfs_file_would_hold_make_a_signed_file_list_refused() {
    for (case, a, b) in COLLIDING {
        let err = check_file_list(&list(&["index.html", a, b]), &Limits::default())
            .expect_err(&format!("{case}: {a:?} and {b:?} must collide"));
        assert_names_both(err, a, b, "bad_metadata", case);
    }
}

#[test]
fn names_that_apfs_keeps_apart_install_as_two_files() {
    let sandbox = tempfile::tempdir().unwrap();
    for (n, (case, a, b)) in DISTINCT.iter().enumerate() {
        check_file_list(&list(&["index.html", a, b]), &Limits::default())
            .unwrap_or_else(|e| panic!("{case}: {a:?} and {b:?} are distinct on APFS: {e}"));
        let staging = sandbox.path().join(format!("staging-{n}"));
        fs::create_dir(&staging).unwrap();
        let zip_path = sandbox.path().join(format!("bundle-{n}.zip"));
        fs::write(&zip_path, good_zip(&[("index.html", INDEX), (a, b"one"), (b, b"two")])).unwrap();
        let files = unpack(&zip_path, &staging, &Limits::default(), None, &Cancel::never(), &mut |_| {})
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(files.len(), 3, "{case}");
        assert_eq!(fs::read(staging.join(a)).unwrap(), b"one", "{case}");
        assert_eq!(fs::read(staging.join(b)).unwrap(), b"two", "{case}");
    }
}
