//! Portable path rules for bundle entries. Invariant: a path accepted here is relative, canonical and names a
//! location strictly inside the directory it is later joined to, on every filesystem we target; two accepted
//! paths that could name the same file on a case- or normalisation-insensitive volume (Unicode full case folding
//! and canonical equivalence, as APFS compares names) are reported with both names.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Display;

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

use super::Limits;
use crate::error::{Error, Result};

/// Longest single path component most filesystems accept (bytes).
pub const MAX_COMPONENT_BYTES: usize = 255;

/// The fix we give for any path problem.
const PATH_FIX: &str = "rebuild the bundle so every entry has a plain relative path inside the bundle";

/// An `unsafe_zip` rejection that names the entry, the cause and the fix.
pub(super) fn unsafe_entry(name: &str, why: impl Display, fix: &str) -> Error {
    Error::rejected("unsafe_zip", format!("entry {name:?} {why}; {fix}"))
}

/// Checks one archive path (a file path, or a directory path without its trailing `/`) against the portable
/// path policy: relative, `/`-separated, no `..`, `.` or empty component, no backslash, NUL or control
/// character, no drive prefix, no component ending in a dot or space, each component at most 255 bytes, the
/// whole path at most `limits.max_path_bytes` bytes and at most `limits.max_depth` components deep.
pub fn check_path(path: &str, limits: &Limits) -> Result<()> {
    let bad = |why: String| Err(unsafe_entry(path, why, PATH_FIX));
    if path.is_empty() {
        return bad("has an empty name".into());
    }
    if path.len() > limits.max_path_bytes {
        return bad(format!("has a path of {} bytes, over the limit of {} bytes", path.len(), limits.max_path_bytes));
    }
    if let Some(c) = path.chars().find(|c| c.is_control()) {
        return if c == '\0' {
            bad("contains a NUL byte".into())
        } else {
            bad(format!("contains the control character U+{:04X}", u32::from(c)))
        };
    }
    if path.contains('\\') {
        return bad("contains a backslash (zip paths use \"/\" only; \"\\\" can hide \"..\\\" traversal)".into());
    }
    if path.starts_with('/') {
        return bad("is an absolute path".into());
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return bad(format!("starts with the drive prefix {:?}", &path[..2]));
    }
    let mut depth = 0usize;
    for component in path.split('/') {
        depth += 1;
        match component {
            "" => return bad("has an empty path component (\"//\" or a trailing \"/\")".into()),
            "." => return bad("has a \".\" path component".into()),
            ".." => {
                return bad("has a \"..\" path component that would escape the bundle directory".into());
            }
            _ => {}
        }
        if component.len() > MAX_COMPONENT_BYTES {
            return bad(format!(
                "has a path component of {} bytes, over the limit of {MAX_COMPONENT_BYTES} bytes",
                component.len()
            ));
        }
        if component.ends_with('.') || component.ends_with(' ') {
            return bad(format!(
                "has the path component {component:?} ending in a dot or space, which some filesystems strip"
            ));
        }
    }
    if depth > limits.max_depth {
        return bad(format!("is {depth} levels deep, over the limit of {}", limits.max_depth));
    }
    Ok(())
}

/// The key under which two names collide on a case-insensitive, normalisation-insensitive volume: APFS's own
/// rule, the Unicode canonical caseless match (D145): canonical decomposition, full case folding (statuses C and
/// F of `CaseFolding.txt`, non-Turkic: `ſ`→`s`, `ß`→`ss`, `K` (Kelvin)→`k`, `ﬁ`→`fi`), decomposition again. Full
/// folding also covers what HFS+, NTFS and FAT fold. ASCII folds to its lower case.
fn fold(name: &str) -> String {
    if name.is_ascii() { name.to_ascii_lowercase() } else { name.chars().nfd().default_case_fold().nfd().collect() }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

/// Detects names that would land on the same file or directory once written: equal after Unicode full case
/// folding and canonical normalisation (see `fold`), or a file that another entry also uses as a directory.
#[derive(Default)]
pub(super) struct Collisions {
    seen: HashMap<String, (String, Kind)>,
}

impl Collisions {
    /// Records the file `path` (already policy-checked) and its parent directories.
    pub(super) fn add_file(&mut self, path: &str) -> Result<()> {
        for (i, _) in path.match_indices('/') {
            self.add(&path[..i], Kind::Dir, path)?;
        }
        self.add(path, Kind::File, path)
    }

    fn add(&mut self, name: &str, kind: Kind, entry: &str) -> Result<()> {
        match self.seen.entry(fold(name)) {
            Entry::Vacant(slot) => {
                slot.insert((name.to_owned(), kind));
                Ok(())
            }
            Entry::Occupied(slot) => {
                let (other, other_kind) = slot.get();
                if *other_kind == Kind::Dir && kind == Kind::Dir && other == name {
                    return Ok(());
                }
                let fix = "rename one of them so names stay distinct on every filesystem";
                let why = if other == name {
                    if kind == Kind::File && *other_kind == Kind::File {
                        "appears twice in the archive".to_owned()
                    } else {
                        format!("is used both as a file and as a directory (by {entry:?})")
                    }
                } else if kind != *other_kind {
                    format!("and {other:?} collide after case folding, one as a file and one as a directory")
                } else if other.nfc().eq(name.nfc()) {
                    format!("and {other:?} are the same name in different Unicode normalisation forms (NFC/NFD)")
                } else if other.to_lowercase().nfc().eq(name.to_lowercase().nfc()) {
                    format!("and {other:?} differ only by letter case")
                } else {
                    format!(
                        "and {other:?} are one name after Unicode case folding (APFS compares names that way: \
                         \"ſ\" is \"s\", \"ß\" is \"ss\"), so one file would overwrite the other"
                    )
                };
                Err(unsafe_entry(name, why, fix))
            }
        }
    }
}
