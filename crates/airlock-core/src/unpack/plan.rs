//! Whole-archive validation, done before any file is created. Invariant: a `Plan` exists only for an archive
//! whose every entry passed the path, type, method, encryption, size, ratio, overlap, duplicate and collision
//! rules, that has `index.html` at its (flattened) root, and whose file list matches the signed one by name
//! and size when one was given.

use std::io::{Read, Seek};

use zip::{CompressionMethod, ZipArchive};

use super::policy::{Collisions, check_path, unsafe_entry};
use super::raw::{EndRecord, LocalHeader, central_names, corrupt, read_local_header};
use super::reader::ArchiveReader;
use super::{FileEntry, Limits};
use crate::error::{Error, Result};

/// Unix file-type bits of a mode.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

const TYPE_FIX: &str =
    "bundles may contain only regular files and directories: rebuild it without links or special files";
const ZIP_FIX: &str = "rebuild the bundle with a standard zip tool (stored or deflate, no encryption)";
const LIMIT_FIX: &str = "make the bundle smaller or raise the unpack limits";

/// One file to extract.
#[derive(Debug)]
pub(super) struct Planned {
    /// Index of the entry in the archive.
    pub index: usize,
    /// Destination path relative to the bundle root (after flattening).
    pub path: String,
    /// Declared uncompressed size; the extracted data must have exactly this length.
    pub size: u64,
}

/// The files to extract, in archive order.
#[derive(Debug)]
pub(super) struct Plan {
    pub files: Vec<Planned>,
}

/// An archive entry as validated in the first pass (one per archive index, in index order).
struct Checked {
    name: String,
    is_dir: bool,
    ignored: bool,
    size: u64,
    span_start: u64,
    compressed: u64,
    method: u16,
}

/// Maps an error of the `zip` crate to a rejection or, for a real I/O failure, a storage error.
pub(super) fn zip_error(what: &str, err: zip::result::ZipError) -> Error {
    match err {
        zip::result::ZipError::Io(e) => read_error(what, e),
        other => corrupt(format!("{what}: {other}")),
    }
}

/// An error while reading archive bytes: an OS-level failure is a storage error, anything else is corruption.
pub(super) fn read_error(what: &str, err: std::io::Error) -> Error {
    if err.raw_os_error().is_some() {
        Error::io(format!("{what} (reading the bundle archive)"), err)
    } else {
        corrupt(format!("{what}: {err}"))
    }
}

#[allow(deprecated)] // `Unsupported(n)` is the only way to read the number of a method we did not enable.
fn method_label(method: CompressionMethod) -> String {
    match method {
        CompressionMethod::Unsupported(n) => {
            format!("{n} ({})", CompressionMethod::name_from_u16(n))
        }
        other => format!("{other:?}"),
    }
}

/// True for names macOS adds to archives, which we never write.
fn is_ignored(name: &str) -> bool {
    name == "__MACOSX" || name.starts_with("__MACOSX/") || name == ".DS_Store" || name.ends_with("/.DS_Store")
}

/// Validates the whole archive and decides what to write where.
pub(super) fn build<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    file: &mut ArchiveReader,
    end: &EndRecord,
    limits: &Limits,
    expected: Option<&[FileEntry]>,
) -> Result<Plan> {
    let count = archive.len();
    if archive.central_directory_start() != end.cd_offset.saturating_add(archive.offset()) {
        return Err(corrupt("the archive holds two end-of-central-directory records that disagree"));
    }
    if end.entries != count as u64 || archive.has_duplicate_names() {
        let cd = archive.central_directory_start();
        let names = central_names(file, cd, end.cd_size.min(file.len().saturating_sub(cd)), end.entries)?;
        let dup = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n));
        let shown = dup.map_or_else(
            || "(a name repeated through a Unicode path extra field)".to_owned(),
            |(_, n)| String::from_utf8_lossy(n).into_owned(),
        );
        return Err(unsafe_entry(
            &shown,
            format!(
                "appears more than once: the archive declares {} entries but only {count} distinct names",
                end.entries
            ),
            "duplicate names let different tools see different files; rebuild the bundle",
        ));
    }
    let checked = check_entries(archive, limits)?;
    check_layout(&checked, file, archive.central_directory_start())?;
    let plan = place_files(&checked)?;
    if let Some(expected) = expected {
        super::manifest::compare_listing(&plan, expected)?;
    }
    Ok(plan)
}

/// First pass over the central directory: names, types, encryption, method, sizes and ratios.
fn check_entries<R: Read + Seek>(archive: &ZipArchive<R>, limits: &Limits) -> Result<Vec<Checked>> {
    let mut checked = Vec::with_capacity(archive.len());
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_data(index).map_err(|e| zip_error("reading the central directory", e))?;
        let raw = entry.name_raw();
        let name = std::str::from_utf8(raw)
            .map_err(|_| unsafe_entry(&String::from_utf8_lossy(raw), "has a name that is not valid UTF-8", ZIP_FIX))?;
        let (path, is_dir) = match name.strip_suffix('/') {
            Some(dir) => (dir, true),
            None => (name, false),
        };
        check_path(path, limits)?;
        let file_type = entry.unix_mode().map(|m| m & S_IFMT).unwrap_or(0);
        if entry.is_symlink() || file_type == 0o120_000 {
            return Err(unsafe_entry(name, "is a symbolic link", TYPE_FIX));
        }
        match (is_dir, file_type) {
            (_, 0) | (false, S_IFREG) | (true, S_IFDIR) => {}
            (false, S_IFDIR) => {
                return Err(unsafe_entry(name, "is marked as a directory but has no trailing \"/\"", TYPE_FIX));
            }
            (_, t) => {
                let kind = match t {
                    0o010_000 => "a FIFO (named pipe)",
                    0o020_000 => "a character device",
                    0o060_000 => "a block device",
                    0o140_000 => "a socket",
                    S_IFREG => "a regular file with a directory name",
                    _ => "of an unknown file type",
                };
                return Err(unsafe_entry(
                    name,
                    format_args!("is {kind} (mode {:#o})", entry.unix_mode().unwrap_or(t)),
                    TYPE_FIX,
                ));
            }
        }
        if entry.encrypted() {
            return Err(unsafe_entry(name, "is encrypted", ZIP_FIX));
        }
        let method = match entry.compression() {
            CompressionMethod::Stored => 0,
            CompressionMethod::Deflated => 8,
            other => {
                let label = method_label(other);
                return Err(unsafe_entry(name, format_args!("uses compression method {label}"), ZIP_FIX));
            }
        };
        let (size, compressed) = (entry.size(), entry.compressed_size());
        if is_dir && size != 0 {
            return Err(unsafe_entry(name, "is a directory entry with data", ZIP_FIX));
        }
        if method == 0 && size != compressed {
            return Err(corrupt(format!(
                "entry {name:?} is stored uncompressed but declares {compressed} stored bytes for {size} bytes"
            )));
        }
        if size > compressed.saturating_mul(limits.max_ratio) {
            let ratio = size.checked_div(compressed).map_or("unbounded".into(), |r| format!("{r}:1"));
            return Err(unsafe_entry(
                name,
                format_args!(
                    "declares {size} bytes from {compressed} compressed bytes, a ratio of {ratio} over the \
                     limit of {}:1 (zip bomb)",
                    limits.max_ratio
                ),
                LIMIT_FIX,
            ));
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(unsafe_entry(
                name,
                format_args!(
                    "brings the declared uncompressed total to {total} bytes, over the limit of {} bytes",
                    limits.max_total_bytes
                ),
                LIMIT_FIX,
            ));
        }
        checked.push(Checked {
            name: name.to_owned(),
            is_dir,
            ignored: is_ignored(path),
            size,
            span_start: entry.header_start(),
            compressed,
            method,
        });
    }
    Ok(checked)
}

/// Second pass over the local headers: every entry's bytes lie before the central directory, no two entries
/// share bytes (Fifield-style overlap bombs), and each local header agrees with its central entry.
fn check_layout(checked: &[Checked], file: &mut ArchiveReader, cd_start: u64) -> Result<()> {
    let file_len = file.len();
    let (mut scratch, mut local_name) = (Vec::with_capacity(600), Vec::with_capacity(256));
    let mut spans: Vec<(u64, u64, usize)> = Vec::with_capacity(checked.len());
    let mut locals: Vec<(LocalHeader, bool)> = Vec::with_capacity(checked.len());
    for (i, c) in checked.iter().enumerate() {
        let header = read_local_header(file, c.span_start, &mut scratch, &mut local_name)
            .map_err(|e| name_corruption(&c.name, e))?;
        let end = header.data_start.saturating_add(c.compressed);
        if end > file_len {
            return Err(corrupt(format!("entry {:?} extends past the end of the archive (truncated)", c.name)));
        }
        if end > cd_start {
            return Err(unsafe_entry(&c.name, "overlaps the central directory", ZIP_FIX));
        }
        spans.push((c.span_start, end, i));
        locals.push((header, local_name == c.name.as_bytes()));
    }
    spans.sort_unstable();
    let mut reach: Option<(u64, usize)> = None;
    for &(start, end, i) in &spans {
        if let Some((far, owner)) = reach
            && far > start
        {
            let why = format!("and {:?} share bytes in the archive (overlapping entries, a zip bomb)", checked[i].name);
            return Err(unsafe_entry(&checked[owner].name, why, ZIP_FIX));
        }
        if reach.is_none_or(|(far, _)| end > far) {
            reach = Some((end, i));
        }
    }
    for (c, (local, same_name)) in checked.iter().zip(&locals) {
        if !same_name {
            return Err(unsafe_entry(&c.name, "has a different name in its local header", ZIP_FIX));
        }
        if local.flags & 0x41 != 0 {
            return Err(unsafe_entry(&c.name, "is encrypted (local header flags)", ZIP_FIX));
        }
        if local.method != c.method {
            let why = format!(
                "uses compression method {} in its local header but {} in the central directory",
                local.method, c.method
            );
            return Err(unsafe_entry(&c.name, why, ZIP_FIX));
        }
    }
    Ok(())
}

fn name_corruption(name: &str, err: Error) -> Error {
    match err {
        Error::Rejected { code: "corrupt_zip", message } => {
            Error::rejected("corrupt_zip", format!("entry {name:?}: {message}"))
        }
        other => other,
    }
}

/// Chooses destination paths: drops ignored entries and directory entries, flattens a single top-level folder
/// when the root has no `index.html`, rejects collisions, and requires `index.html` at the root.
fn place_files(checked: &[Checked]) -> Result<Plan> {
    let keep = |c: &&Checked| !c.is_dir && !c.ignored;
    let has_root_index = checked.iter().filter(keep).any(|c| c.name == "index.html");
    let mut prefix: Option<&str> = None;
    let mut single_top = !has_root_index;
    for c in checked.iter().filter(keep) {
        let top = c.name.split_once('/').map(|(top, _)| top);
        match (top, prefix) {
            (None, _) => single_top = false,
            (Some(t), None) => prefix = Some(t),
            (Some(t), Some(p)) if t != p => single_top = false,
            _ => {}
        }
    }
    let strip = if single_top { prefix.map(|p| p.len() + 1) } else { None };
    let mut collisions = Collisions::default();
    let mut files = Vec::with_capacity(checked.len());
    for (index, c) in checked.iter().enumerate().filter(|(_, c)| keep(c)) {
        let path = c.name.get(strip.unwrap_or(0)..).unwrap_or(&c.name);
        collisions.add_file(path)?;
        files.push(Planned { index, path: path.to_owned(), size: c.size });
    }
    if !files.iter().any(|f| f.path == "index.html") {
        return Err(Error::rejected(
            "missing_index",
            "bundle is missing index.html at its root; put index.html at the top of the zip (or inside a single \
             top-level folder) and republish",
        ));
    }
    Ok(Plan { files })
}
