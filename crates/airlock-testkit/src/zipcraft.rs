//! Zip crafting, including hostile archives. Invariant: `build` writes exactly the fields each `RawEntry`
//! asks for (names, method, flags, attributes, sizes and CRC may all lie), and `good_zip` is an ordinary
//! archive written by the `zip` crate, so tests compare hostile bytes against a real-world baseline.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Unix mode of a regular file (`-rw-r--r--`).
pub const MODE_FILE: u32 = 0o100_644;
/// Unix mode of a directory.
pub const MODE_DIR: u32 = 0o040_755;
/// Unix mode of a symbolic link.
pub const MODE_SYMLINK: u32 = 0o120_777;
/// Unix mode of a FIFO.
pub const MODE_FIFO: u32 = 0o010_644;
/// Unix mode of a character device.
pub const MODE_CHAR_DEVICE: u32 = 0o020_644;

/// General-purpose flag: the entry is encrypted.
pub const FLAG_ENCRYPTED: u16 = 0x0001;
/// General-purpose flag: names are UTF-8.
pub const FLAG_UTF8: u16 = 0x0800;

/// "Version made by": Unix host, spec 2.0.
const MADE_BY_UNIX: u16 = (3 << 8) | 20;

/// One entry of a crafted archive. Every field is written as is.
#[derive(Debug, Clone)]
pub struct RawEntry {
    /// Name in the local file header.
    pub local_name: Vec<u8>,
    /// Name in the central directory.
    pub central_name: Vec<u8>,
    /// Compression method (0 stored, 8 deflate, anything else).
    pub method: u16,
    /// General-purpose flags (written to both headers).
    pub flags: u16,
    /// "Version made by" (high byte: host system; 3 = Unix).
    pub version_made_by: u16,
    /// External attributes (Unix mode in the high 16 bits).
    pub external_attributes: u32,
    /// Declared CRC-32.
    pub crc32: u32,
    /// Declared compressed size.
    pub compressed_size: u32,
    /// Declared uncompressed size.
    pub uncompressed_size: u32,
    /// Bytes stored after the local header (already compressed when `method` is 8).
    pub data: Vec<u8>,
    /// When set, this entry has no local record of its own: its central entry points at the local header of
    /// the entry with that index (Fifield-style overlap).
    pub shares_local_header_of: Option<usize>,
}

impl RawEntry {
    fn new(name: &[u8], method: u16, content: &[u8], data: Vec<u8>) -> Self {
        RawEntry {
            local_name: name.to_vec(),
            central_name: name.to_vec(),
            method,
            flags: FLAG_UTF8,
            version_made_by: MADE_BY_UNIX,
            external_attributes: MODE_FILE << 16,
            crc32: crc32(content),
            compressed_size: len32(&data),
            uncompressed_size: len32(content),
            data,
            shares_local_header_of: None,
        }
    }

    /// A correct stored entry.
    pub fn stored(name: &str, content: &[u8]) -> Self {
        Self::new(name.as_bytes(), 0, content, content.to_vec())
    }

    /// A correct deflated entry.
    pub fn deflated(name: &str, content: &[u8]) -> Self {
        Self::new(name.as_bytes(), 8, content, deflate(content))
    }

    /// A directory entry (`name` should end with `/`).
    pub fn dir(name: &str) -> Self {
        Self::stored(name, b"").unix_mode(MODE_DIR)
    }

    /// A symbolic link to `target` (stored; the target is the entry's content, as Info-ZIP writes it).
    pub fn symlink(name: &str, target: &str) -> Self {
        Self::stored(name, target.as_bytes()).unix_mode(MODE_SYMLINK)
    }

    /// Sets the same raw name in both headers.
    pub fn name_bytes(mut self, name: &[u8]) -> Self {
        self.local_name = name.to_vec();
        self.central_name = name.to_vec();
        self
    }

    /// Sets the local-header name only.
    pub fn local_name(mut self, name: &[u8]) -> Self {
        self.local_name = name.to_vec();
        self
    }

    /// Sets the central-directory name only.
    pub fn central_name(mut self, name: &[u8]) -> Self {
        self.central_name = name.to_vec();
        self
    }

    /// Declares another compression method (the data is left as is).
    pub fn method(mut self, method: u16) -> Self {
        self.method = method;
        self
    }

    /// Sets the general-purpose flags.
    pub fn flags(mut self, flags: u16) -> Self {
        self.flags = flags;
        self
    }

    /// Marks the entry as made on Unix with this mode (`0o120777` is a symlink, `0o010644` a FIFO...).
    pub fn unix_mode(mut self, mode: u32) -> Self {
        self.version_made_by = MADE_BY_UNIX;
        self.external_attributes = mode << 16;
        self
    }

    /// Sets the raw external attributes.
    pub fn external_attributes(mut self, attributes: u32) -> Self {
        self.external_attributes = attributes;
        self
    }

    /// Declares this uncompressed size (which may lie).
    pub fn declared_size(mut self, size: u32) -> Self {
        self.uncompressed_size = size;
        self
    }

    /// Declares this compressed size (which may lie).
    pub fn declared_compressed_size(mut self, size: u32) -> Self {
        self.compressed_size = size;
        self
    }

    /// Declares this CRC-32 (which may lie).
    pub fn crc(mut self, crc: u32) -> Self {
        self.crc32 = crc;
        self
    }

    /// Makes the central entry point at entry `index`'s local header instead of a record of its own.
    pub fn sharing_local_header_of(mut self, index: usize) -> Self {
        self.shares_local_header_of = Some(index);
        self
    }
}

fn len32(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).expect("crafted entries stay under 4 GiB")
}

fn len16(bytes: &[u8]) -> u16 {
    u16::try_from(bytes.len()).expect("crafted names stay under 64 KiB")
}

/// Writes the archive: local records in order, then the central directory and the end record.
pub fn build(entries: &[RawEntry]) -> Vec<u8> {
    build_archive(entries, false)
}

/// Like [`build`], but ends with a Zip64 end record and locator before a saturated classic end record.
pub fn build_zip64(entries: &[RawEntry]) -> Vec<u8> {
    build_archive(entries, true)
}

fn build_archive(entries: &[RawEntry], zip64: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::with_capacity(entries.len());
    for e in entries {
        if e.shares_local_header_of.is_some() {
            offsets.push(None);
            continue;
        }
        offsets.push(Some(u32::try_from(out.len()).expect("crafted archives stay under 4 GiB")));
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&e.flags.to_le_bytes());
        out.extend_from_slice(&e.method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]); // 1980-01-01 00:00
        out.extend_from_slice(&e.crc32.to_le_bytes());
        out.extend_from_slice(&e.compressed_size.to_le_bytes());
        out.extend_from_slice(&e.uncompressed_size.to_le_bytes());
        out.extend_from_slice(&len16(&e.local_name).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&e.local_name);
        out.extend_from_slice(&e.data);
    }
    let cd_start = out.len();
    for (i, e) in entries.iter().enumerate() {
        let offset = match e.shares_local_header_of {
            Some(j) => offsets[j].expect("an entry may only share the header of an entry that has one"),
            None => offsets[i].expect("entries without a shared header have their own"),
        };
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        out.extend_from_slice(&e.version_made_by.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&e.flags.to_le_bytes());
        out.extend_from_slice(&e.method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]);
        out.extend_from_slice(&e.crc32.to_le_bytes());
        out.extend_from_slice(&e.compressed_size.to_le_bytes());
        out.extend_from_slice(&e.uncompressed_size.to_le_bytes());
        out.extend_from_slice(&len16(&e.central_name).to_le_bytes());
        out.extend_from_slice(&[0; 8]); // extra length, comment length, disk number, internal attributes
        out.extend_from_slice(&e.external_attributes.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&e.central_name);
    }
    let cd_len = out.len() - cd_start;
    let mut count = u16::try_from(entries.len()).expect("crafted archives hold under 65 536 entries");
    let (mut cd_len32, mut cd_start32) = (cd_len as u32, cd_start as u32);
    if zip64 {
        let record_at = out.len() as u64;
        out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        out.extend_from_slice(&44u64.to_le_bytes()); // size of the rest of the record
        out.extend_from_slice(&MADE_BY_UNIX.to_le_bytes());
        out.extend_from_slice(&45u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]); // disk numbers
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        out.extend_from_slice(&(cd_len as u64).to_le_bytes());
        out.extend_from_slice(&(cd_start as u64).to_le_bytes());
        out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&record_at.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        (count, cd_len32, cd_start32) = (u16::MAX, u32::MAX, u32::MAX);
    }
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_len32.to_le_bytes());
    out.extend_from_slice(&cd_start32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// CRC-32 (IEEE) as zip uses it.
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !data.iter().fold(!0u32, |c, &b| TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8))
}

/// Raw DEFLATE of `data` at the best compression level (produced by the `zip` crate's writer).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let options =
        SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).compression_level(Some(9));
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer.start_file("x", options).expect("start entry");
    writer.write_all(data).expect("compress");
    let bytes = writer.finish().expect("finish").into_inner();
    let mut archive = ZipArchive::new(Cursor::new(bytes)).expect("reopen");
    let mut raw = Vec::new();
    archive.by_index_raw(0).expect("entry").read_to_end(&mut raw).expect("read raw");
    raw
}

/// A normal deflated archive of these files, written by the `zip` crate (directories are implied by paths).
pub fn good_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).unix_permissions(0o644);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in files {
        writer.start_file(*name, options).expect("start entry");
        writer.write_all(content).expect("write entry");
    }
    writer.finish().expect("finish").into_inner()
}

/// A deflated archive written as a stream (sizes and CRCs in data descriptors after each entry's data, as
/// streaming packers such as Node's archivers write them).
pub fn streamed_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).unix_permissions(0o644);
    let mut writer = ZipWriter::new_stream(Vec::new());
    for (name, content) in files {
        writer.start_file(*name, options).expect("start entry");
        writer.write_all(content).expect("write entry");
    }
    writer.finish().expect("finish").into_inner()
}
