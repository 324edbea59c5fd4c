//! Loopback HTTP/1.1 server with fault injection (stub).
