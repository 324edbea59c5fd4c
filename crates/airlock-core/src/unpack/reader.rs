//! A buffered, seekable view of the archive file. Invariant: a read returns exactly the file's bytes at the
//! logical position; a seek inside the buffered window keeps the window, so walking many small entries in
//! archive order costs one system call per window instead of one (or two) per entry. Clones share the open
//! file (positioned reads never move a shared offset) but each has its own position and window, so every
//! extraction worker reads through its own handle.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Size of the read-ahead window.
const WINDOW: usize = 64 * 1024;

/// Positioned (`pread`) reader with a window that survives seeks; reads as large as the window bypass it.
#[derive(Debug)]
pub(super) struct ArchiveReader {
    file: Arc<File>,
    len: u64,
    pos: u64,
    window: Box<[u8]>,
    window_start: u64,
    window_len: usize,
}

impl ArchiveReader {
    /// Wraps `file`, whose length is `len`.
    pub(super) fn new(file: File, len: u64) -> Self {
        ArchiveReader {
            file: Arc::new(file),
            len,
            pos: 0,
            window: vec![0u8; WINDOW].into_boxed_slice(),
            window_start: 0,
            window_len: 0,
        }
    }

    /// Length of the archive file in bytes.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// Reads exactly `buf.len()` bytes at `offset`.
    pub(super) fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.pos = offset;
        self.read_exact(buf)
    }
}

impl Clone for ArchiveReader {
    /// A new handle on the same file, at the same position, with an empty window of its own.
    fn clone(&self) -> Self {
        ArchiveReader {
            file: Arc::clone(&self.file),
            len: self.len,
            pos: self.pos,
            window: vec![0u8; WINDOW].into_boxed_slice(),
            window_start: 0,
            window_len: 0,
        }
    }
}

impl Read for ArchiveReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        let in_window = self.pos >= self.window_start && self.pos - self.window_start < self.window_len as u64;
        if !in_window {
            if out.len() >= self.window.len() {
                let n = self.file.read_at(out, self.pos)?;
                self.pos += n as u64;
                return Ok(n);
            }
            self.window_len = 0;
            self.window_start = self.pos;
            self.window_len = self.file.read_at(&mut self.window, self.pos)?;
            if self.window_len == 0 {
                return Ok(0);
            }
        }
        let from = (self.pos - self.window_start) as usize;
        let available = &self.window[from..self.window_len];
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ArchiveReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        let Some(target) = target else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of the archive"));
        };
        self.pos = target;
        Ok(target)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.pos)
    }
}
