//! Signed envelopes. Invariant: a payload is returned only after `threshold` distinct trusted key ids have
//! verified (`verify_strict`) over the exact raw bytes; nothing is parsed before that.
// (stub: being implemented)
