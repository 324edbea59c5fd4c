//! Specification of `unpack` on archives large enough to be written by several workers: the tree and the
//! returned list are exactly those of a single-threaded extraction, progress is reported on the calling thread
//! and adds up, and one bad entry anywhere rejects the whole bundle without touching anything outside staging.

use std::collections::BTreeMap;
use std::fs;

use airlock_core::unpack::{FileEntry, Limits, unpack};
use airlock_core::{Cancel, Error};
use airlock_testkit::snapshot::{files_and_dirs, snapshot};
use airlock_testkit::zipcraft::{RawEntry, build, good_zip};
use sha2::{Digest, Sha256};

const INDEX: &[u8] = b"<!doctype html><html><body><script src=\"app.js\"></script></body></html>\n";

fn manifest(files: &[(String, Vec<u8>)]) -> Vec<FileEntry> {
    let mut list: Vec<FileEntry> = files
        .iter()
        .map(|(p, b)| FileEntry { path: p.clone(), size: b.len() as u64, sha256: hex::encode(Sha256::digest(b)) })
        .collect();
    list.sort();
    list
}

/// `index.html` and 1 999 more files over 40 directories (some nested), 0 bytes to 600 KiB, about 4.5 MB in
/// all: far over the thresholds for parallel extraction, with files larger than one copy buffer.
fn two_thousand_files() -> Vec<(String, Vec<u8>)> {
    let mut files = vec![("index.html".to_owned(), INDEX.to_vec())];
    for i in 1..2000u32 {
        let path = match i % 3 {
            0 => format!("assets/d{}/f{i}.js", i % 40),
            1 => format!("assets/d{}/deep/er/f{i}.css", i % 40),
            _ => format!("img/f{i}.bin"),
        };
        let size = match i {
            7 | 1001 | 1998 => 600 * 1024,
            _ if i % 97 == 0 => 0,
            _ => (i as usize * 37) % 3000,
        };
        let data = (0..size).map(|j| (j as u32).wrapping_mul(i).wrapping_add(j as u32 >> 7) as u8).collect();
        files.push((path, data));
    }
    files
}

#[test]
fn a_two_thousand_file_bundle_written_by_several_workers_gives_the_exact_tree_and_list() {
    let sandbox = tempfile::tempdir().unwrap();
    let files = two_thousand_files();
    let pairs: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    let zip_path = sandbox.path().join("big.zip");
    fs::write(&zip_path, good_zip(&pairs)).unwrap();
    let staging = sandbox.path().join("staging");
    fs::create_dir(&staging).unwrap();
    let before = snapshot(sandbox.path(), &staging);
    let signed = manifest(&files);
    let caller = std::thread::current().id();
    let (mut progressed, mut reports, mut off_thread) = (0u64, 0usize, 0usize);

    let got = unpack(&zip_path, &staging, &Limits::default(), Some(&signed), &Cancel::never(), &mut |n| {
        progressed += n;
        reports += 1;
        if std::thread::current().id() != caller {
            off_thread += 1;
        }
    })
    .unwrap();

    assert_eq!(got, signed, "returned list: every file, sorted by path, with its size and SHA-256");
    let (on_disk, dirs) = files_and_dirs(&staging);
    let want: BTreeMap<String, Vec<u8>> = files.iter().cloned().collect();
    assert_eq!(on_disk.len(), 2000);
    assert!(on_disk == want, "the files on disk differ from the archive's");
    let mut want_dirs = vec!["assets".to_owned(), "img".to_owned()];
    for d in 0..40 {
        want_dirs.extend([format!("assets/d{d}"), format!("assets/d{d}/deep"), format!("assets/d{d}/deep/er")]);
    }
    want_dirs.sort();
    assert_eq!(dirs, want_dirs, "exactly the directories the files need");
    assert_eq!(progressed, files.iter().map(|(_, b)| b.len() as u64).sum::<u64>(), "progress adds up");
    assert!(reports > 0);
    assert_eq!(off_thread, 0, "progress is reported on the calling thread only");
    assert_eq!(snapshot(sandbox.path(), &staging), before, "nothing changed outside staging");
}

#[test]
fn a_crc_error_in_entry_1000_of_2000_rejects_the_whole_bundle_and_touches_nothing_outside_staging() {
    let sandbox = tempfile::tempdir().unwrap();
    fs::write(sandbox.path().join("victim.txt"), b"must stay as is").unwrap();
    let files = two_thousand_files();
    let entries: Vec<RawEntry> = files
        .iter()
        .enumerate()
        .map(|(i, (path, data))| {
            let entry = if i % 2 == 0 { RawEntry::deflated(path, data) } else { RawEntry::stored(path, data) };
            if i == 1000 { entry.crc(0xdead_beef) } else { entry }
        })
        .collect();
    assert!(!files[1000].1.is_empty(), "the damaged entry has data to check");
    let zip_path = sandbox.path().join("damaged.zip");
    fs::write(&zip_path, build(&entries)).unwrap();
    let staging = sandbox.path().join("staging");
    fs::create_dir(&staging).unwrap();
    let before = snapshot(sandbox.path(), &staging);
    let mut progressed = 0u64;

    let result = unpack(&zip_path, &staging, &Limits::default(), None, &Cancel::never(), &mut |n| progressed += n);

    match result {
        Err(Error::Rejected { code, message }) => {
            assert_eq!(code, "corrupt_zip", "{message}");
            assert!(message.contains(&format!("{:?}", files[1000].0)), "{message} does not name the entry");
        }
        other => panic!("expected a corrupt_zip rejection, got {other:?}"),
    }
    assert_eq!(snapshot(sandbox.path(), &staging), before, "nothing changed outside staging");
    assert!(staging.is_dir(), "staging itself survives for the caller to remove");
    let (on_disk, _) = files_and_dirs(&staging);
    let known: BTreeMap<&str, &[u8]> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    for (path, bytes) in &on_disk {
        let want = known.get(path.as_str()).unwrap_or_else(|| panic!("{path} is not in the archive"));
        assert!(want.starts_with(bytes), "{path} holds bytes that are not its own");
    }
    assert!(progressed <= files.iter().map(|(_, b)| b.len() as u64).sum::<u64>());
}
