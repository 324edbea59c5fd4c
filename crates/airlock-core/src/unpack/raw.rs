//! Byte-level reads of zip records the `zip` crate does not expose: the end-of-central-directory record (with
//! the Zip64 locator), local headers and raw central-directory names. Invariant: these only read, and every
//! length is bounds-checked against the file size before use.

use super::reader::ArchiveReader;
use crate::error::{Error, Result};

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: u64 = 20;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_EOCD_LEN: usize = 56;
const LOCAL_SIG: u32 = 0x0403_4b50;
const LOCAL_LEN: usize = 30;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const CENTRAL_LEN: usize = 46;

/// A `corrupt_zip` rejection.
pub(super) fn corrupt(why: impl std::fmt::Display) -> Error {
    Error::rejected(
        "corrupt_zip",
        format!("{why}; the bundle archive is damaged or not a zip file: rebuild and republish it"),
    )
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// Reads exactly `buf.len()` bytes at `offset`, as a corrupt-archive rejection when the file is too short.
fn read_at(file: &mut ArchiveReader, offset: u64, buf: &mut [u8], what: &str) -> Result<()> {
    file.read_exact_at(offset, buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            corrupt(format!("the archive ends inside {what}"))
        } else {
            Error::io(format!("reading {what} of the bundle archive"), e)
        }
    })
}

/// What the end-of-central-directory record (or its Zip64 twin) declares.
#[derive(Debug, Clone, Copy)]
pub(super) struct EndRecord {
    /// Total number of central-directory entries the archive declares.
    pub entries: u64,
    /// Offset of the central directory, relative to the start of the archive.
    pub cd_offset: u64,
    /// Size of the central directory in bytes.
    pub cd_size: u64,
}

/// Parses the end-of-central-directory record, which must end exactly at the end of the file (its comment
/// length accounts for every trailing byte), and the Zip64 record when a Zip64 locator precedes it.
pub(super) fn read_end_record(file: &mut ArchiveReader) -> Result<EndRecord> {
    let file_len = file.len();
    let tail_len = file_len.min((EOCD_LEN + usize::from(u16::MAX)) as u64) as usize;
    if tail_len < EOCD_LEN {
        return Err(corrupt(format!("the archive is only {file_len} bytes long, too short for a zip file")));
    }
    let mut tail = vec![0u8; tail_len];
    read_at(file, file_len - tail_len as u64, &mut tail, "the end-of-central-directory record")?;
    let found = (0..=tail_len - EOCD_LEN)
        .rev()
        .find(|&i| u32_at(&tail, i) == EOCD_SIG && usize::from(u16_at(&tail, i + 20)) == tail_len - i - EOCD_LEN);
    let Some(at) = found else {
        return Err(corrupt(
            "no end-of-central-directory record ends the archive (truncated, trailing garbage, or not a zip)",
        ));
    };
    let rec = &tail[at..at + EOCD_LEN];
    let (disk, cd_disk) = (u16_at(rec, 4), u16_at(rec, 6));
    let (on_disk, total) = (u16_at(rec, 8), u16_at(rec, 10));
    let mut end = EndRecord {
        entries: u64::from(total),
        cd_offset: u64::from(u32_at(rec, 16)),
        cd_size: u64::from(u32_at(rec, 12)),
    };
    let eocd_pos = file_len - (tail_len - at) as u64;
    let mut zip64 = false;
    if eocd_pos >= ZIP64_LOCATOR_LEN {
        let mut loc = [0u8; ZIP64_LOCATOR_LEN as usize];
        read_at(file, eocd_pos - ZIP64_LOCATOR_LEN, &mut loc, "the Zip64 locator")?;
        if u32_at(&loc, 0) == ZIP64_LOCATOR_SIG {
            zip64 = true;
            let rec64_pos = u64_at(&loc, 8);
            if rec64_pos.saturating_add(ZIP64_EOCD_LEN as u64) > eocd_pos {
                return Err(corrupt("the Zip64 locator points outside the archive"));
            }
            let mut rec64 = [0u8; ZIP64_EOCD_LEN];
            read_at(file, rec64_pos, &mut rec64, "the Zip64 end record")?;
            if u32_at(&rec64, 0) != ZIP64_EOCD_SIG {
                return Err(corrupt("the Zip64 locator does not point at a Zip64 end record"));
            }
            if u32_at(&rec64, 16) != 0 || u32_at(&rec64, 20) != 0 || u64_at(&rec64, 24) != u64_at(&rec64, 32) {
                return Err(corrupt("the archive spans several disks (multi-part zips are not supported)"));
            }
            end = EndRecord { entries: u64_at(&rec64, 32), cd_size: u64_at(&rec64, 40), cd_offset: u64_at(&rec64, 48) };
        }
    }
    if !zip64 && (disk != 0 || cd_disk != 0 || on_disk != total) {
        return Err(corrupt("the archive spans several disks (multi-part zips are not supported)"));
    }
    Ok(end)
}

/// The parts of a local file header we cross-check against the central directory.
#[derive(Debug)]
pub(super) struct LocalHeader {
    pub flags: u16,
    pub method: u16,
    /// Offset of the entry's data (just past the local header's name and extra field).
    pub data_start: u64,
}

/// Reads the local header at `offset` into `name` (reused across calls) and returns its fields.
pub(super) fn read_local_header(
    file: &mut ArchiveReader,
    offset: u64,
    scratch: &mut Vec<u8>,
    name: &mut Vec<u8>,
) -> Result<LocalHeader> {
    // One read usually covers the fixed header and the name.
    let want = (LOCAL_LEN + 512).min(file.len().saturating_sub(offset) as usize);
    if want < LOCAL_LEN {
        return Err(corrupt(format!("a local file header at offset {offset} lies past the end of the archive")));
    }
    scratch.resize(want, 0);
    read_at(file, offset, scratch, "a local file header")?;
    if u32_at(scratch, 0) != LOCAL_SIG {
        return Err(corrupt(format!("no local file header at offset {offset}")));
    }
    let name_len = usize::from(u16_at(scratch, 26));
    let extra_len = u64::from(u16_at(scratch, 28));
    let header = LocalHeader {
        flags: u16_at(scratch, 6),
        method: u16_at(scratch, 8),
        data_start: offset + LOCAL_LEN as u64 + name_len as u64 + extra_len,
    };
    name.clear();
    if LOCAL_LEN + name_len <= want {
        name.extend_from_slice(&scratch[LOCAL_LEN..LOCAL_LEN + name_len]);
    } else {
        name.resize(name_len, 0);
        read_at(file, offset + LOCAL_LEN as u64, name, "a local file name")?;
    }
    Ok(header)
}

/// The raw names of the central directory in order (used to name duplicates, which the `zip` crate collapses).
pub(super) fn central_names(file: &mut ArchiveReader, cd_start: u64, cd_len: u64, count: u64) -> Result<Vec<Vec<u8>>> {
    let mut cd = vec![0u8; usize::try_from(cd_len).unwrap_or(0)];
    read_at(file, cd_start, &mut cd, "the central directory")?;
    let mut names = Vec::new();
    let mut at = 0usize;
    while (names.len() as u64) < count && at + CENTRAL_LEN <= cd.len() && u32_at(&cd, at) == CENTRAL_SIG {
        let name_len = usize::from(u16_at(&cd, at + 28));
        let rest = name_len + usize::from(u16_at(&cd, at + 30)) + usize::from(u16_at(&cd, at + 32));
        let Some(name) = cd.get(at + CENTRAL_LEN..at + CENTRAL_LEN + name_len) else {
            break;
        };
        names.push(name.to_vec());
        at += CENTRAL_LEN + rest;
    }
    Ok(names)
}
