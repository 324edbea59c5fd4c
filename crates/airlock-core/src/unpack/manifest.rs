//! Comparison of an unpacked tree with the signed file list. Invariant: equality is exact (same paths, sizes
//! and SHA-256, nothing extra, nothing missing) and a difference is reported by the first differing path.

use std::cmp::Ordering;

use super::FileEntry;
use super::plan::Plan;
use crate::error::{Error, Result};

fn mismatch(what: String) -> Error {
    Error::rejected(
        "file_list_mismatch",
        format!("{what}; the bundle does not match its signed release manifest: republish it"),
    )
}

/// One side of the comparison: path, size and, once known, the SHA-256.
type View<'a> = (&'a str, u64, Option<&'a str>);

fn compare(mut got: Vec<View<'_>>, expected: &[FileEntry]) -> Result<()> {
    got.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut want: Vec<View<'_>> = expected.iter().map(|e| (e.path.as_str(), e.size, Some(e.sha256.as_str()))).collect();
    want.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let (mut g, mut w) = (got.iter().peekable(), want.iter().peekable());
    loop {
        match (g.peek(), w.peek()) {
            (None, None) => return Ok(()),
            (Some(&&(path, ..)), None) => {
                return Err(mismatch(format!("file {path:?} is in the bundle but not in the signed file list")));
            }
            (None, Some(&&(path, ..))) => {
                return Err(mismatch(format!("file {path:?} is in the signed file list but missing from the bundle")));
            }
            (Some(&&(gp, gs, gh)), Some(&&(wp, ws, wh))) => match gp.cmp(wp) {
                Ordering::Less => {
                    return Err(mismatch(format!("file {gp:?} is in the bundle but not in the signed file list")));
                }
                Ordering::Greater => {
                    return Err(mismatch(format!(
                        "file {wp:?} is in the signed file list but missing from the bundle"
                    )));
                }
                Ordering::Equal => {
                    if gs != ws {
                        return Err(mismatch(format!(
                            "file {gp:?} is {gs} bytes in the bundle but {ws} bytes in the signed file list"
                        )));
                    }
                    if let (Some(gh), Some(wh)) = (gh, wh)
                        && !gh.eq_ignore_ascii_case(wh)
                    {
                        return Err(mismatch(format!(
                            "file {gp:?} has SHA-256 {gh} but the signed file list says {wh}"
                        )));
                    }
                    g.next();
                    w.next();
                }
            },
        }
    }
}

/// Compares the files an archive would produce (names and declared sizes) with the signed list, before writing.
pub(super) fn compare_listing(plan: &Plan, expected: &[FileEntry]) -> Result<()> {
    compare(plan.files.iter().map(|f| (f.path.as_str(), f.size, None)).collect(), expected)
}

/// Compares the written tree (with hashes) with the signed list.
pub(super) fn compare_tree(tree: &[FileEntry], expected: &[FileEntry]) -> Result<()> {
    compare(tree.iter().map(|f| (f.path.as_str(), f.size, Some(f.sha256.as_str()))).collect(), expected)
}
