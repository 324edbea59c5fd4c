//! Directory snapshots for "nothing changed outside X" assertions. Invariant: a snapshot never follows links, so
//! a symlink planted by a hostile archive is recorded as a link, not as what it points to.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// What a directory holds, recursively, without following links.
#[derive(Debug, PartialEq, Eq)]
pub enum Node {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
    Other,
}

/// Every entry below `root` (relative paths), except the subtree `skip`.
pub fn snapshot(root: &Path, skip: &Path) -> BTreeMap<PathBuf, Node> {
    fn walk(dir: &Path, root: &Path, skip: &Path, out: &mut BTreeMap<PathBuf, Node>) {
        for entry in fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path == skip {
                continue;
            }
            let meta = fs::symlink_metadata(&path).expect("stat");
            let rel = path.strip_prefix(root).expect("prefix").to_path_buf();
            if meta.file_type().is_symlink() {
                out.insert(rel, Node::Link(fs::read_link(&path).expect("readlink")));
            } else if meta.is_dir() {
                out.insert(rel, Node::Dir);
                walk(&path, root, skip, out);
            } else if meta.is_file() {
                out.insert(rel, Node::File(fs::read(&path).expect("read")));
            } else {
                out.insert(rel, Node::Other);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, skip, &mut out);
    out
}

/// Files (with contents) and directories under `root`, by relative path; panics on links or special files.
pub fn files_and_dirs(root: &Path) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
    let mut files = BTreeMap::new();
    let mut dirs = Vec::new();
    for (path, node) in snapshot(root, Path::new("")) {
        let rel = path.to_str().expect("utf-8 path").to_owned();
        match node {
            Node::File(bytes) => {
                files.insert(rel, bytes);
            }
            Node::Dir => dirs.push(rel),
            other => panic!("unexpected {other:?} at {rel}"),
        }
    }
    (files, dirs)
}
