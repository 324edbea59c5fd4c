//! TLS client configuration. Invariant: certificates are always verified (TLS 1.2/1.3 only, ring provider)
//! against the compiled-in Mozilla root set plus the caller's extra roots; there is no way to turn checks off.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;

use crate::error::{Error, Result};

/// A rustls client configuration using the ring provider, Mozilla's roots and `extra_roots_pem` (PEM bundles).
pub(crate) fn client_config(extra_roots_pem: &[Vec<u8>]) -> Result<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    let (_added, _ignored) = roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    for (index, pem) in extra_roots_pem.iter().enumerate() {
        let mut found = 0usize;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                Error::Config(format!(
                    "extra root certificate #{index} is not valid PEM ({e}); pass PEM-encoded CA certificates"
                ))
            })?;
            roots.add(cert).map_err(|e| {
                Error::Config(format!("extra root certificate #{index} is not a usable CA certificate ({e})"))
            })?;
            found += 1;
        }
        if found == 0 {
            return Err(Error::Config(format!("extra root certificate #{index} contains no PEM CERTIFICATE block")));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // reqwest is built without HTTP/2 here; advertise only what the connector speaks.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_the_builtin_roots() {
        assert!(client_config(&[]).is_ok());
    }

    #[test]
    fn rejects_garbage_extra_roots_with_a_config_error() {
        let err = client_config(&[b"not a certificate".to_vec()]).unwrap_err();
        assert_eq!(err.kind_name(), "config");
        assert!(err.to_string().contains("no PEM CERTIFICATE"), "{err}");
    }
}
