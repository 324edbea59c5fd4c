//! Request bodies (`Content-Length` or chunked). Invariant: never more than the cap is buffered, a body larger
//! than the cap is refused before it is read when its length is announced, and the whole body must arrive within
//! a bounded time.

use std::io;
use std::time::Instant;

use super::Conn;
use crate::request::Request;

/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;
/// Most trailer lines accepted after the last chunk.
const MAX_TRAILERS: usize = 64;
/// The whole body must arrive within this many request timeouts.
const BODY_TIMEOUTS: u32 = 4;

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Over the cap (413).
    TooLarge,
    /// Neither `Content-Length` nor chunked (411).
    LengthRequired,
    /// Malformed framing (400).
    Bad(String),
    /// The client broke off, was too slow, or the server is stopping.
    Io(io::Error),
}

impl From<io::Error> for BodyError {
    fn from(e: io::Error) -> Self {
        BodyError::Io(e)
    }
}

impl Conn<'_> {
    /// Reads the request body, at most `cap` bytes.
    pub fn read_body(&mut self, req: &Request, cap: usize) -> Result<Vec<u8>, BodyError> {
        let deadline = Instant::now() + self.shared.request_timeout * BODY_TIMEOUTS;
        if let Some(coding) = req.header("transfer-encoding") {
            if !coding.eq_ignore_ascii_case("chunked") {
                return Err(BodyError::Bad(format!("unsupported Transfer-Encoding '{coding}'; send chunked")));
            }
            if req.expects_continue() {
                self.send_continue()?;
            }
            return self.read_chunked(cap, deadline);
        }
        let Some(length) = req.header("content-length") else {
            return Err(BodyError::LengthRequired);
        };
        // Digits only (checked when the head was parsed); an overflowing length is simply too large.
        let length = length.parse::<u64>().unwrap_or(u64::MAX);
        if length > cap as u64 {
            return Err(BodyError::TooLarge);
        }
        let length = length as usize;
        if req.expects_continue() && length > self.pending.len() {
            self.send_continue()?;
        }
        self.take(length, deadline)
    }

    /// Removes exactly `n` bytes from the front of the buffered input, reading more as needed.
    fn take(&mut self, n: usize, deadline: Instant) -> Result<Vec<u8>, BodyError> {
        while self.pending.len() < n {
            if !self.fill(deadline)? {
                return Err(BodyError::Bad("the connection closed before the body was complete".into()));
            }
        }
        let rest = self.pending.split_off(n);
        Ok(std::mem::replace(&mut self.pending, rest))
    }

    /// Removes one line (without its line ending) from the buffered input.
    fn take_line(&mut self, deadline: Instant) -> Result<String, BodyError> {
        loop {
            if let Some(pos) = self.pending.iter().position(|&b| b == b'\n') {
                let line = self.take(pos + 1, deadline)?;
                let text = String::from_utf8_lossy(&line);
                return Ok(text.trim_end_matches(['\r', '\n']).to_owned());
            }
            if self.pending.len() > MAX_LINE {
                return Err(BodyError::Bad("a chunk-size line is too long".into()));
            }
            if !self.fill(deadline)? {
                return Err(BodyError::Bad("the connection closed inside a chunked body".into()));
            }
        }
    }

    fn read_chunked(&mut self, cap: usize, deadline: Instant) -> Result<Vec<u8>, BodyError> {
        let mut body = Vec::new();
        loop {
            let line = self.take_line(deadline)?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            if size_text.is_empty() || size_text.len() > 16 || !size_text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(BodyError::Bad(format!("malformed chunk size '{}'", crate::request::printable(&line))));
            }
            let size = u64::from_str_radix(size_text, 16).unwrap_or(u64::MAX);
            if size == 0 {
                break;
            }
            if body.len() as u64 + size > cap as u64 {
                return Err(BodyError::TooLarge);
            }
            let data = self.take(size as usize, deadline)?;
            body.extend_from_slice(&data);
            if !self.take_line(deadline)?.is_empty() {
                return Err(BodyError::Bad("chunk data is longer than its announced size".into()));
            }
        }
        for _ in 0..MAX_TRAILERS {
            if self.take_line(deadline)?.is_empty() {
                return Ok(body);
            }
        }
        Err(BodyError::Bad("too many trailer lines".into()))
    }
}
