//! HTTP transport. Invariant: only HTTPS (or loopback / explicitly allowed plain HTTP) is fetched; downloads
//! resume only against a strong ETag and never exceed the byte cap.
// (stub: being implemented)
