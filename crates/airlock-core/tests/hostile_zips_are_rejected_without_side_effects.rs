//! Specification of `unpack`: every hostile archive of the corpus is rejected with its stable code and a
//! message naming the offending entry, without a single byte written outside staging (and, for policy
//! violations, without writing anything at all); every good archive installs exactly its files.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use airlock_core::unpack::{FileEntry, Limits, check_path, unpack};
use airlock_core::{Cancel, Error};
use airlock_testkit::snapshot::{files_and_dirs, snapshot};
use airlock_testkit::zipcraft::{
    FLAG_ENCRYPTED, FLAG_UTF8, MODE_CHAR_DEVICE, MODE_DIR, MODE_FIFO, RawEntry, build, build_zip64, deflate, good_zip,
    streamed_zip,
};
use sha2::{Digest, Sha256};

const INDEX: &[u8] = b"<!doctype html><html><body><script src=\"app.js\"></script></body></html>\n";
const APP: &[u8] = b"console.log('hello from the bundle');\n";

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn manifest(files: &[(&str, &[u8])]) -> Vec<FileEntry> {
    let mut list: Vec<FileEntry> = files
        .iter()
        .map(|(path, bytes)| FileEntry { path: (*path).to_owned(), size: bytes.len() as u64, sha256: sha(bytes) })
        .collect();
    list.sort();
    list
}

/// A hostile archive and what its rejection must look like.
struct Bad {
    name: &'static str,
    zip: Vec<u8>,
    limits: Limits,
    expected: Option<Vec<FileEntry>>,
    code: &'static str,
    says: String,
    /// The rejection happens during validation, so staging must stay empty.
    before_writing: bool,
}

fn bad(name: &'static str, zip: Vec<u8>, code: &'static str, says: impl Into<String>) -> Bad {
    Bad { name, zip, limits: Limits::default(), expected: None, code, says: says.into(), before_writing: true }
}

impl Bad {
    fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    fn expected(mut self, expected: Vec<FileEntry>) -> Self {
        self.expected = Some(expected);
        self
    }
    /// Detected while streaming data, so earlier files of the bundle may already sit in staging.
    fn detected_while_writing(mut self) -> Self {
        self.before_writing = false;
        self
    }
}

fn index() -> RawEntry {
    RawEntry::deflated("index.html", INDEX)
}

/// An index plus one more crafted entry.
fn with_index(entry: RawEntry) -> Vec<u8> {
    build(&[index(), entry])
}

fn bad_cases(sandbox: &Path, outside: &Path) -> Vec<Bad> {
    let abs_name = format!("{}/abs.txt", sandbox.display());
    let outside_target = outside.display().to_string();
    let big: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let kernel: Vec<u8> = (0..20_000u32).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
    let good = good_zip(&[("index.html", INDEX), ("app.js", APP)]);
    let long_component = format!("{}.js", "a".repeat(256));
    let small = |f: &dyn Fn(&mut Limits)| {
        let mut limits = Limits::default();
        f(&mut limits);
        limits
    };
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"trailing junk");
    let mut overlap = vec![index(), RawEntry::deflated("a.js", &kernel)];
    for name in ["b.js", "c.js", "d.js", "e.js"] {
        overlap.push(RawEntry::deflated(name, &kernel).sharing_local_header_of(1));
    }
    let unsafe_zip = "unsafe_zip";
    let corrupt = "corrupt_zip";
    let mismatch = "file_list_mismatch";
    vec![
        bad(
            "traversal ../x",
            with_index(RawEntry::stored("../x", b"escaped")),
            unsafe_zip,
            r#"entry "../x" has a ".." path component"#,
        ),
        bad(
            "traversal a/../../x",
            with_index(RawEntry::stored("a/../../x", b"escaped")),
            unsafe_zip,
            r#"entry "a/../../x" has a ".." path component"#,
        ),
        bad(
            "absolute path",
            with_index(RawEntry::stored(&abs_name, b"escaped")),
            unsafe_zip,
            format!("entry {abs_name:?} is an absolute path"),
        ),
        bad(
            "drive prefix",
            with_index(RawEntry::stored("C:/x.txt", b"escaped")),
            unsafe_zip,
            r#"entry "C:/x.txt" starts with the drive prefix "C:""#,
        ),
        bad("backslash", with_index(RawEntry::stored("..\\x.txt", b"escaped")), unsafe_zip, "contains a backslash"),
        bad(
            "NUL byte",
            with_index(RawEntry::stored("x", b"nul").name_bytes(b"a\0b.js")),
            unsafe_zip,
            "contains a NUL byte",
        ),
        bad(
            "control character",
            with_index(RawEntry::stored("a\u{1b}b.js", b"esc")),
            unsafe_zip,
            "contains the control character U+001B",
        ),
        bad(
            "empty component",
            with_index(RawEntry::stored("a//b.js", b"x")),
            unsafe_zip,
            r#"entry "a//b.js" has an empty path component"#,
        ),
        bad(
            "dot component",
            with_index(RawEntry::stored("a/./b.js", b"x")),
            unsafe_zip,
            r#"entry "a/./b.js" has a "." path component"#,
        ),
        bad(
            "trailing dot",
            with_index(RawEntry::stored("assets./x.js", b"x")),
            unsafe_zip,
            r#"path component "assets." ending in a dot or space"#,
        ),
        bad(
            "trailing space",
            with_index(RawEntry::stored("assets /x.js", b"x")),
            unsafe_zip,
            r#"path component "assets " ending in a dot or space"#,
        ),
        bad(
            "component over 255 bytes",
            with_index(RawEntry::stored(&long_component, b"x")),
            unsafe_zip,
            "has a path component of 259 bytes, over the limit of 255 bytes",
        ),
        bad(
            "path too long",
            with_index(RawEntry::stored("assets/images/logo.png", b"x")),
            unsafe_zip,
            r#"entry "assets/images/logo.png" has a path of 22 bytes, over the limit of 16 bytes"#,
        )
        .limits(small(&|l| l.max_path_bytes = 16)),
        bad(
            "too deep",
            with_index(RawEntry::stored("a/b/c/d.js", b"x")),
            unsafe_zip,
            r#"entry "a/b/c/d.js" is 4 levels deep, over the limit of 3"#,
        )
        .limits(small(&|l| l.max_depth = 3)),
        bad(
            "symlink pointing inside",
            with_index(RawEntry::symlink("link.js", "index.html")),
            unsafe_zip,
            r#"entry "link.js" is a symbolic link"#,
        ),
        bad(
            "symlink pointing outside, then a write through it",
            build(&[
                index(),
                RawEntry::symlink("escape", &outside_target),
                RawEntry::stored("escape/pwned.txt", b"pwned"),
            ]),
            unsafe_zip,
            r#"entry "escape" is a symbolic link"#,
        ),
        bad(
            "fifo",
            with_index(RawEntry::stored("pipe", b"").unix_mode(MODE_FIFO)),
            unsafe_zip,
            r#"entry "pipe" is a FIFO"#,
        ),
        bad(
            "character device",
            with_index(RawEntry::stored("tty", b"").unix_mode(MODE_CHAR_DEVICE)),
            unsafe_zip,
            r#"entry "tty" is a character device"#,
        ),
        bad(
            "directory mode on a file name",
            with_index(RawEntry::stored("assets", b"").unix_mode(MODE_DIR)),
            unsafe_zip,
            r#"entry "assets" is marked as a directory but has no trailing "/""#,
        ),
        bad(
            "duplicate names",
            build(&[index(), RawEntry::stored("app.js", b"one"), RawEntry::stored("app.js", b"two")]),
            unsafe_zip,
            r#"entry "app.js" appears more than once"#,
        ),
        bad(
            "duplicate names behind Zip64 end records",
            build_zip64(&[index(), RawEntry::stored("app.js", b"one"), RawEntry::stored("app.js", b"two")]),
            unsafe_zip,
            r#"entry "app.js" appears more than once: the archive declares 3 entries"#,
        ),
        bad(
            "case-fold collision",
            build(&[index(), RawEntry::stored("App.js", b"A"), RawEntry::stored("app.js", b"a")]),
            unsafe_zip,
            r#"entry "app.js" and "App.js" differ only by letter case"#,
        ),
        bad(
            "NFC/NFD collision",
            build(&[index(), RawEntry::stored("caf\u{e9}.js", b"nfc"), RawEntry::stored("cafe\u{301}.js", b"nfd")]),
            unsafe_zip,
            "are the same name in different Unicode normalisation forms (NFC/NFD)",
        ),
        bad(
            "case-fold directory collision",
            build(&[index(), RawEntry::stored("Assets/a.js", b"A"), RawEntry::stored("assets/b.js", b"a")]),
            unsafe_zip,
            r#"entry "assets" and "Assets" differ only by letter case"#,
        ),
        bad(
            "file used as a directory",
            build(&[index(), RawEntry::stored("lib", b"f"), RawEntry::stored("lib/x.js", b"x")]),
            unsafe_zip,
            r#"entry "lib" is used both as a file and as a directory (by "lib/x.js")"#,
        ),
        bad(
            "overlapping entries (Fifield)",
            build(&overlap),
            unsafe_zip,
            "share bytes in the archive (overlapping entries, a zip bomb)",
        ),
        bad(
            "data running into the central directory",
            with_index(RawEntry::deflated("app.js", APP).declared_compressed_size(deflate(APP).len() as u32 + 20)),
            unsafe_zip,
            r#"entry "app.js" overlaps the central directory"#,
        ),
        bad(
            "more entries than the limit",
            build(&[
                index(),
                RawEntry::stored("a.js", b"a"),
                RawEntry::stored("b.js", b"b"),
                RawEntry::stored("c.js", b"c"),
                RawEntry::stored("d.js", b"d"),
            ]),
            unsafe_zip,
            "the archive lists 5 entries, over the limit of 3",
        )
        .limits(small(&|l| l.max_entries = 3)),
        bad(
            "uncompressed size bigger than declared",
            with_index(RawEntry::deflated("app.js", &big).declared_size(100)),
            corrupt,
            r#"entry "app.js": File is larger than its declared uncompressed size"#,
        )
        .detected_while_writing(),
        bad(
            "uncompressed size smaller than declared",
            with_index(RawEntry::deflated("app.js", APP).declared_size(200)),
            corrupt,
            "less than its declared size of 200 bytes (lying size)",
        )
        .detected_while_writing(),
        bad(
            "bad CRC",
            with_index(RawEntry::stored("app.js", APP).crc(0xdead_beef)),
            corrupt,
            r#"entry "app.js": Invalid checksum"#,
        )
        .detected_while_writing(),
        bad(
            "encrypted entry",
            with_index(RawEntry::stored("secret.js", APP).flags(FLAG_UTF8 | FLAG_ENCRYPTED)),
            unsafe_zip,
            r#"entry "secret.js" is encrypted"#,
        ),
        bad(
            "bzip2 method",
            with_index(RawEntry::stored("app.js", APP).method(12)),
            unsafe_zip,
            r#"entry "app.js" uses compression method 12 (Bzip2)"#,
        ),
        bad(
            "lzma method",
            with_index(RawEntry::stored("app.js", APP).method(14)),
            unsafe_zip,
            r#"entry "app.js" uses compression method 14 (Lzma)"#,
        ),
        bad(
            "ratio bomb",
            with_index(RawEntry::deflated("bomb.js", &vec![0u8; 1 << 20]).declared_size(200 << 20)),
            unsafe_zip,
            "over the limit of 1100:1 (zip bomb)",
        ),
        bad(
            "declared total over the limit",
            with_index(RawEntry::stored("app.js", &big)),
            unsafe_zip,
            r#"entry "app.js" brings the declared uncompressed total to"#,
        )
        .limits(small(&|l| l.max_total_bytes = 900)),
        bad(
            "missing index.html",
            good_zip(&[("app.js", APP), ("style.css", b"body{}")]),
            "missing_index",
            "bundle is missing index.html at its root",
        ),
        bad(
            "index.html too deep in a single folder",
            good_zip(&[("dist/sub/index.html", INDEX)]),
            "missing_index",
            "bundle is missing index.html at its root",
        ),
        bad(
            "local name differs from central name",
            with_index(RawEntry::stored("safe.js", APP).local_name(b"evil.js")),
            unsafe_zip,
            r#"entry "safe.js" has a different name in its local header"#,
        ),
        bad(
            "name that is not UTF-8",
            with_index(RawEntry::stored("x", APP).name_bytes(b"caf\xe9.js")),
            unsafe_zip,
            "has a name that is not valid UTF-8",
        ),
        bad(
            "stored entry with two sizes",
            with_index(RawEntry::stored("app.js", APP).declared_compressed_size(10)),
            corrupt,
            r#"entry "app.js" is stored uncompressed but declares 10 stored bytes"#,
        ),
        bad(
            "garbage bytes",
            b"this is not a zip archive, just some text that is long enough".to_vec(),
            corrupt,
            "no end-of-central-directory record ends the archive",
        ),
        bad(
            "truncated archive",
            good[..good.len() / 2].to_vec(),
            corrupt,
            "no end-of-central-directory record ends the archive",
        ),
        bad("empty file", Vec::new(), corrupt, "too short for a zip file"),
        bad(
            "trailing junk after the end record",
            trailing,
            corrupt,
            "no end-of-central-directory record ends the archive",
        ),
        bad(
            "signed list lacks a file of the bundle",
            good.clone(),
            mismatch,
            r#"file "app.js" is in the bundle but not in the signed file list"#,
        )
        .expected(manifest(&[("index.html", INDEX)])),
        bad(
            "signed list has a file the bundle lacks",
            good.clone(),
            mismatch,
            r#"file "vendor.js" is in the signed file list but missing from the bundle"#,
        )
        .expected(manifest(&[("index.html", INDEX), ("app.js", APP), ("vendor.js", b"v")])),
        bad(
            "signed list has another size",
            good.clone(),
            mismatch,
            format!(r#"file "app.js" is {} bytes in the bundle but 1 bytes in the signed file list"#, APP.len()),
        )
        .expected(manifest(&[("index.html", INDEX), ("app.js", b"x")])),
        bad(
            "signed list has another hash",
            good.clone(),
            mismatch,
            format!(r#"file "app.js" has SHA-256 {} but the signed file list says"#, sha(APP)),
        )
        .expected({
            let mut list = manifest(&[("index.html", INDEX), ("app.js", APP)]);
            list[0].sha256 = sha(b"something else");
            list
        })
        .detected_while_writing(),
    ]
}

/// A good archive and the exact tree it must install.
struct Good {
    name: &'static str,
    zip: Vec<u8>,
    tree: Vec<(&'static str, Vec<u8>)>,
    signed: bool,
}

fn good(name: &'static str, zip: Vec<u8>, tree: &[(&'static str, &[u8])]) -> Good {
    Good { name, zip, tree: tree.iter().map(|(p, b)| (*p, b.to_vec())).collect(), signed: false }
}

fn good_cases() -> Vec<Good> {
    let logo: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    let deep = b"export const deep = true;\n";
    let mut signed = good(
        "matches its signed file list",
        good_zip(&[("index.html", INDEX), ("app.js", APP), ("assets/logo.png", &logo)]),
        &[("index.html", INDEX), ("app.js", APP), ("assets/logo.png", &logo)],
    );
    signed.signed = true;
    vec![
        good(
            "flat bundle",
            good_zip(&[("index.html", INDEX), ("app.js", APP), ("assets/logo.png", &logo)]),
            &[("index.html", INDEX), ("app.js", APP), ("assets/logo.png", &logo)],
        ),
        good(
            "single top-level folder is flattened",
            build(&[
                RawEntry::dir("dist/"),
                RawEntry::dir("dist/js/"),
                RawEntry::deflated("dist/index.html", INDEX),
                RawEntry::stored("dist/js/app.js", APP),
            ]),
            &[("index.html", INDEX), ("js/app.js", APP)],
        ),
        good(
            "__MACOSX and .DS_Store are ignored",
            build(&[
                RawEntry::dir("myapp/"),
                RawEntry::deflated("myapp/index.html", INDEX),
                RawEntry::stored("myapp/.DS_Store", b"\0\0\0\x01Bud1"),
                RawEntry::stored(".DS_Store", b"\0\0\0\x01Bud1"),
                RawEntry::dir("__MACOSX/"),
                RawEntry::dir("__MACOSX/myapp/"),
                RawEntry::stored("__MACOSX/myapp/._index.html", b"\0\x05\x16\x07"),
            ]),
            &[("index.html", INDEX)],
        ),
        good(
            "root index.html keeps the folders as they are",
            good_zip(&[("index.html", INDEX), ("dist/app.js", APP)]),
            &[("index.html", INDEX), ("dist/app.js", APP)],
        ),
        good(
            "nested directories",
            good_zip(&[("index.html", INDEX), ("a/b/c/d/e/f.js", deep), ("a/b/x.css", b"p{}"), ("a/y.txt", b"y")]),
            &[("index.html", INDEX), ("a/b/c/d/e/f.js", deep), ("a/b/x.css", b"p{}"), ("a/y.txt", b"y")],
        ),
        good(
            "empty files, stored and deflated",
            build(&[index(), RawEntry::stored("empty.txt", b""), RawEntry::deflated("empty2.txt", b"")]),
            &[("index.html", INDEX), ("empty.txt", b""), ("empty2.txt", b"")],
        ),
        good(
            "non-ASCII names",
            build(&[index(), RawEntry::stored("caf\u{e9}.js", APP), RawEntry::deflated("\u{65e5}\u{672c}/a.js", APP)]),
            &[("index.html", INDEX), ("caf\u{e9}.js", APP), ("\u{65e5}\u{672c}/a.js", APP)],
        ),
        good(
            "streamed archive with data descriptors",
            streamed_zip(&[("index.html", INDEX), ("js/app.js", APP), ("empty.txt", b"")]),
            &[("index.html", INDEX), ("js/app.js", APP), ("empty.txt", b"")],
        ),
        good(
            "Zip64 end records",
            build_zip64(&[index(), RawEntry::deflated("app.js", APP)]),
            &[("index.html", INDEX), ("app.js", APP)],
        ),
        signed,
    ]
}

#[test]
fn hostile_zips_are_rejected_without_side_effects() {
    let sandbox = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::write(sandbox.path().join("victim.txt"), b"must stay as is").unwrap();
    fs::create_dir(sandbox.path().join("a")).unwrap();
    let cases = bad_cases(sandbox.path(), outside.path());
    let goods = good_cases();

    for (n, case) in cases.iter().enumerate() {
        let staging = sandbox.path().join(format!("staging-{n}"));
        fs::create_dir(&staging).unwrap();
        let zip_path = sandbox.path().join(format!("bundle-{n}.zip"));
        fs::write(&zip_path, &case.zip).unwrap();
        let before = snapshot(sandbox.path(), &staging);
        let outside_before = snapshot(outside.path(), Path::new(""));

        let mut progressed = 0u64;
        let result = unpack(&zip_path, &staging, &case.limits, case.expected.as_deref(), &Cancel::never(), &mut |n| {
            progressed += n
        });

        let name = case.name;
        match result {
            Err(Error::Rejected { code, message }) => {
                assert_eq!(code, case.code, "{name}: wrong code; message: {message}");
                assert!(message.contains(&case.says), "{name}: message {message:?} lacks {:?}", case.says);
                assert!(message.contains("; "), "{name}: message {message:?} names no fix");
            }
            other => panic!("{name}: expected a {} rejection, got {other:?}", case.code),
        }
        assert_eq!(snapshot(sandbox.path(), &staging), before, "{name}: something changed outside staging");
        assert_eq!(snapshot(outside.path(), Path::new("")), outside_before, "{name}: wrote through a link");
        assert!(staging.is_dir(), "{name}: staging itself must survive");
        if case.before_writing {
            assert_eq!(fs::read_dir(&staging).unwrap().count(), 0, "{name}: staging must stay empty");
            assert_eq!(progressed, 0, "{name}: no byte may be reported written");
        }
        assert!(!outside.path().join("pwned.txt").exists());
    }

    for (n, case) in goods.iter().enumerate() {
        let name = case.name;
        let staging = sandbox.path().join(format!("good-{n}"));
        fs::create_dir(&staging).unwrap();
        let zip_path = sandbox.path().join(format!("good-{n}.zip"));
        fs::write(&zip_path, &case.zip).unwrap();
        let before = snapshot(sandbox.path(), &staging);
        let want_pairs: Vec<(&str, &[u8])> = case.tree.iter().map(|(p, b)| (*p, b.as_slice())).collect();
        let want = manifest(&want_pairs);
        let signed = case.signed.then(|| want.clone());

        let mut progressed = 0u64;
        let got = unpack(&zip_path, &staging, &Limits::default(), signed.as_deref(), &Cancel::never(), &mut |n| {
            progressed += n
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));

        assert_eq!(got, want, "{name}: returned tree");
        let (files, dirs) = files_and_dirs(&staging);
        let want_files: BTreeMap<String, Vec<u8>> =
            case.tree.iter().map(|(p, b)| ((*p).to_owned(), b.clone())).collect();
        assert_eq!(files, want_files, "{name}: files on disk");
        let mut want_dirs: Vec<String> = case
            .tree
            .iter()
            .flat_map(|(p, _)| p.match_indices('/').map(|(i, _)| p[..i].to_owned()).collect::<Vec<_>>())
            .collect();
        want_dirs.sort();
        want_dirs.dedup();
        assert_eq!(dirs, want_dirs, "{name}: directories on disk");
        assert_eq!(progressed, want.iter().map(|f| f.size).sum::<u64>(), "{name}: progress");
        assert_eq!(snapshot(sandbox.path(), &staging), before, "{name}: something changed outside staging");
    }
    assert!(cases.len() >= 30);
    println!("hostile zip corpus: {} rejected, {} installed", cases.len(), goods.len());
}

#[test]
fn cancelling_stops_before_the_next_file() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("b.zip");
    fs::write(&zip_path, good_zip(&[("index.html", INDEX), ("a.js", APP), ("b.js", APP)])).unwrap();
    let staging = dir.path().join("staging");
    fs::create_dir(&staging).unwrap();
    let cancel = Cancel::new();
    let trigger = cancel.clone();

    let result = unpack(&zip_path, &staging, &Limits::default(), None, &cancel, &mut |_| trigger.cancel());

    assert!(matches!(result, Err(Error::Cancelled)), "got {result:?}");
    let (files, _) = files_and_dirs(&staging);
    assert_eq!(files.keys().collect::<Vec<_>>(), ["index.html"]);
}

#[test]
fn a_two_thousand_file_bundle_installs_every_file() {
    let contents: Vec<(String, Vec<u8>)> = (0..2000)
        .map(|i| {
            (
                format!("assets/d{}/f{i}.js", i % 40),
                format!("export const v{i} = {i};\n").repeat(i % 7 + 1).into_bytes(),
            )
        })
        .collect();
    let mut files: Vec<(&str, &[u8])> = vec![("index.html", INDEX)];
    files.extend(contents.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("big.zip");
    fs::write(&zip_path, good_zip(&files)).unwrap();
    let staging = dir.path().join("staging");
    fs::create_dir(&staging).unwrap();
    let signed = manifest(&files);

    let got = unpack(&zip_path, &staging, &Limits::default(), Some(&signed), &Cancel::never(), &mut |_| {}).unwrap();

    assert_eq!(got, signed);
    let (on_disk, dirs) = files_and_dirs(&staging);
    assert_eq!(on_disk.len(), 2001);
    assert_eq!(dirs.len(), 41);
    assert_eq!(on_disk["assets/d5/f1245.js"], contents[1245].1);
}

#[test]
fn check_path_accepts_plain_relative_paths_only() {
    let limits = Limits::default();
    for ok in ["index.html", "assets/app.js", "a/b/c/d.css", "caf\u{e9}.js", ".well-known/x", "a..b/c", "ab:c"] {
        assert!(check_path(ok, &limits).is_ok(), "{ok} should pass");
    }
    for bad in ["", "/x", "../x", "a/..", "a//b", "./a", "a\\b", "c:x", "a\0", "a./b", "a /b", "a/"] {
        let err = check_path(bad, &limits).expect_err(bad);
        assert_eq!(err.reject_code(), Some("unsafe_zip"), "{bad}");
        assert!(err.to_string().contains(&format!("{bad:?}")), "{bad}: {err} does not name the path");
    }
}
