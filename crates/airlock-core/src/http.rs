//! HTTP transport. Invariant: only HTTPS (or loopback / explicitly allowed plain HTTP) is fetched; downloads
//! resume only against a strong ETag and never exceed the byte cap.
// (stub: being implemented)
use crate::error::{Error, Result};
use crate::events::Cancel;
use std::path::Path;
pub struct HttpOptions {
    pub response_timeout_ms: u64,
    pub allow_insecure_http: bool,
    pub min_throughput_bytes_per_sec: u64,
    pub throughput_window_ms: u64,
    pub overall_deadline_ms: u64,
    pub extra_root_certs_pem: Vec<Vec<u8>>,
    pub user_agent: String,
}
impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            response_timeout_ms: 0,
            allow_insecure_http: false,
            min_throughput_bytes_per_sec: 0,
            throughput_window_ms: 0,
            overall_deadline_ms: 0,
            extra_root_certs_pem: vec![],
            user_agent: String::new(),
        }
    }
}
pub struct Http;
pub struct DownloadSpec<'a> {
    pub url: &'a str,
    pub part_path: &'a Path,
    pub sidecar_path: &'a Path,
    pub expected_sha256: Option<&'a str>,
    pub expected_size: Option<u64>,
    pub max_bytes: u64,
}
pub struct Downloaded {
    pub sha256: String,
    pub size: u64,
    pub fetched: u64,
    pub resumed_from: u64,
}
impl Http {
    pub fn new(_o: HttpOptions) -> Result<Self> {
        Ok(Http)
    }
    pub fn check_url(&self, _u: &str) -> Result<()> {
        Ok(())
    }
    pub fn get_bytes(&self, _u: &str, _m: u64, _c: &Cancel) -> Result<Vec<u8>> {
        Err(Error::Storage("stub".into()))
    }
    pub fn download(&self, _s: &DownloadSpec<'_>, _c: &Cancel, _p: &mut dyn FnMut(u64, u64)) -> Result<Downloaded> {
        Err(Error::Storage("stub".into()))
    }
}
