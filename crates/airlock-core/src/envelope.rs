//! Signed envelopes. Invariant: a payload is returned only after `threshold` distinct trusted key ids have
//! verified (`verify_strict`) over the exact raw bytes; nothing is parsed before that.
// (stub: being implemented)
use crate::error::{Error, Result};
pub struct TrustedKeys;
impl TrustedKeys {
    pub fn new(_k: &[[u8; 32]]) -> Result<Self> { Ok(TrustedKeys) }
    pub fn is_empty(&self) -> bool { true }
}
pub fn verify(_e: &[u8], _t: &str, _k: &TrustedKeys, _n: usize) -> Result<Vec<u8>> { Err(Error::Storage("stub".into())) }
