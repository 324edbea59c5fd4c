//! Chaos mode of the test server: a seeded share of the answers for served objects is spoiled with a mix of what a
//! phone meets in the field (a reset mid-body, 503, 429 with a short Retry-After, a stall after the headers, a
//! captive-portal page, a body of wrong bytes with the right length), and clients can be told apart by a path
//! prefix (`/<prefix>/<client>/rest` serves `/rest`, and its body bytes are counted under the full path).
//! Invariant: whether and how an answer is spoiled depends only on the seed, the full request path and how many
//! times that path was asked before, so one client's sequence of answers replays with the same seed; an answer
//! that is not spoiled is exactly the plain server's.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::respond::{Delivery, Plan};
use super::{State, TestServer, normalize};

/// Chaos settings (see [`TestServer::set_chaos`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chaos {
    /// Seeds every decision.
    pub seed: u64,
    /// Share of answers spoiled, in percent (0–100).
    pub percent: u32,
    /// `Some("/fleet")`: a request for `/fleet/<client>/rest` is answered as `/rest` (faults set per path apply
    /// to `/rest`), while its bytes are counted under the full path ([`TestServer::body_bytes_sent_under`]).
    pub client_prefix: Option<String>,
    /// `Retry-After` of the 429 answers, in seconds.
    pub retry_after_secs: u64,
}

impl Chaos {
    /// Spoils about `percent` % of answers, no client prefix, 429s with `Retry-After: 1`.
    pub fn new(seed: u64, percent: u32) -> Chaos {
        Chaos { seed, percent: percent.min(100), client_prefix: None, retry_after_secs: 1 }
    }

    /// The same with a client prefix (e.g. `/fleet`).
    pub fn with_client_prefix(mut self, prefix: &str) -> Chaos {
        self.client_prefix = Some(normalize(prefix.trim_end_matches('/')));
        self
    }
}

/// What a spoiled answer was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Spoil {
    /// The headers (full Content-Length), then the connection closes part-way through the body.
    ResetMidBody,
    /// 503 Service Unavailable.
    Unavailable,
    /// 429 Too Many Requests with a short `Retry-After`.
    TooManyRequests,
    /// The headers, then nothing (the client's response timeout must end it).
    Stall,
    /// 200 `text/html` login page.
    CaptivePortal,
    /// The right status, headers and length, other bytes.
    WrongBytes,
}

/// Chaos state kept in the server.
pub(super) struct ChaosState {
    chaos: Chaos,
    spoiled: BTreeMap<Spoil, u64>,
    /// Body bytes planned in [`Spoil::WrongBytes`] answers, by full path: bytes no client can keep.
    wrong_bytes_by_path: BTreeMap<String, u64>,
}

impl TestServer {
    /// Turns chaos mode on (`Some`) or off (`None`); the spoil counters restart.
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        self.shared.state().chaos =
            chaos.map(|chaos| ChaosState { chaos, spoiled: BTreeMap::new(), wrong_bytes_by_path: BTreeMap::new() });
    }

    /// How many answers chaos mode spoiled so far, by kind.
    pub fn spoiled(&self) -> BTreeMap<Spoil, u64> {
        self.shared.state().chaos.as_ref().map(|c| c.spoiled.clone()).unwrap_or_default()
    }

    /// Body bytes of the [`Spoil::WrongBytes`] answers for paths starting with `prefix` (at most what was written):
    /// what even a perfect client must discard and fetch again.
    pub fn wrong_bytes_under(&self, prefix: &str) -> u64 {
        let prefix = normalize(prefix);
        let state = self.shared.state();
        let Some(chaos) = state.chaos.as_ref() else { return 0 };
        chaos.wrong_bytes_by_path.iter().filter(|(p, _)| p.starts_with(&prefix)).map(|(_, n)| n).sum()
    }

    /// Body bytes actually written for every path starting with `prefix` (e.g. one client's `/fleet/d007/`).
    pub fn body_bytes_sent_under(&self, prefix: &str) -> u64 {
        let prefix = normalize(prefix);
        self.shared.state().sent_by_path.iter().filter(|(p, _)| p.starts_with(&prefix)).map(|(_, n)| n).sum()
    }
}

/// The path an object is looked up (and faults are found) under: the client prefix removed.
pub(super) fn route(state: &State, path: &str) -> String {
    let Some(prefix) = state.chaos.as_ref().and_then(|c| c.chaos.client_prefix.as_deref()) else {
        return path.to_owned();
    };
    match path.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('/')) {
        Some(rest) => match rest.split_once('/') {
            Some((_client, tail)) => format!("/{tail}"),
            None => path.to_owned(),
        },
        None => path.to_owned(),
    }
}

/// Spoils the planned answer for the `hit`-th request of `path` (full path) when the seed says so. Only answers
/// for served objects (200, 206, 304) are spoiled.
pub(super) fn spoil(state: &mut State, method: &str, path: &str, hit: u64, plan: Plan) -> Plan {
    let Some(chaos) = state.chaos.as_mut() else { return plan };
    if !matches!(plan.status, 200 | 206 | 304) {
        return plan;
    }
    let h = mix(chaos.chaos.seed ^ fnv(path) ^ hit.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    if h % 10_000 >= u64::from(chaos.chaos.percent) * 100 {
        return plan;
    }
    let pick = mix(h) % 100;
    let len = (plan.range.1 - plan.range.0) as u64;
    let has_body = len > 0 && method == "GET";
    let kind = match pick {
        0..30 if has_body => Spoil::ResetMidBody,
        0..30 => Spoil::Unavailable,
        30..50 => Spoil::Unavailable,
        50..65 => Spoil::TooManyRequests,
        65..70 => Spoil::Stall,
        70..85 => Spoil::CaptivePortal,
        _ if has_body => Spoil::WrongBytes,
        _ => Spoil::CaptivePortal,
    };
    *chaos.spoiled.entry(kind).or_insert(0) += 1;
    let text = |status: u16, content_type: &str, body: &[u8]| Plan {
        status,
        headers: vec![("Content-Type".into(), content_type.into())],
        body: Arc::new(body.to_vec()),
        range: (0, body.len()),
        delivery: Delivery::Full,
    };
    match kind {
        Spoil::ResetMidBody => Plan { delivery: Delivery::Cut(mix(h ^ 0x51) % len), ..plan },
        Spoil::Unavailable => text(503, "text/plain", b"chaos: service unavailable"),
        Spoil::TooManyRequests => {
            let mut p = text(429, "text/plain", b"chaos: slow down");
            p.headers.push(("Retry-After".into(), chaos.chaos.retry_after_secs.to_string()));
            p
        }
        Spoil::Stall => Plan { delivery: Delivery::Stall, ..plan },
        Spoil::CaptivePortal => text(
            200,
            "text/html; charset=utf-8",
            b"<!doctype html><title>Sign in to Wi-Fi</title><form action=/login>login</form>",
        ),
        Spoil::WrongBytes => {
            *chaos.wrong_bytes_by_path.entry(path.to_owned()).or_insert(0) += len;
            let mut body = plan.body.as_ref().clone();
            for b in &mut body[plan.range.0..plan.range.1] {
                *b ^= 0x5A;
            }
            Plan { body: Arc::new(body), ..plan }
        }
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// splitmix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn get(server: &TestServer, path: &str) -> Vec<u8> {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    }

    #[test]
    fn chaos_spoils_about_the_asked_share_with_every_kind_and_replays_with_its_seed() {
        let run = |seed: u64| {
            let server = TestServer::start();
            server.put("/a.bin", vec![1u8; 64]);
            server.set_chaos(Some(Chaos::new(seed, 15).with_client_prefix("/fleet")));
            let answers: Vec<Vec<u8>> = (0..400).map(|i| get(&server, &format!("/fleet/c{}/a.bin", i % 20))).collect();
            (answers, server.spoiled(), server.body_bytes_sent_under("/fleet/c3/"))
        };
        let (answers, spoiled, c3) = run(42);
        let clean = answers.iter().filter(|a| a.starts_with(b"HTTP/1.1 200") && a.ends_with(&[1u8; 64])).count();
        let total: u64 = spoiled.values().sum();
        assert_eq!(clean as u64 + total, 400, "every answer not spoiled is the plain one: {spoiled:?}");
        assert!((30..=90).contains(&total), "about 15 % spoiled, got {total}: {spoiled:?}");
        assert!(spoiled.len() >= 5, "a mix of faults: {spoiled:?}");
        assert!(c3 > 0 && c3 <= 20 * 64, "bytes are counted per client prefix: {c3}");
        let (again, spoiled_again, _) = run(42);
        assert_eq!((answers, spoiled), (again, spoiled_again), "the same seed spoils the same answers");
    }
}
