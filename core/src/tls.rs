//! TLS to the backends' servers, through rustls on ring (the one crypto provider compiled in):
//! the CA file an address names, the client configuration trusting it, and the errors saying
//! that TLS is what failed and how to fix it.
//!
//! A CA file given is what the server's certificate is checked against, in place of the
//! system's roots, as libpq's `sslrootcert`, redis-rs and async-nats each take it; without
//! one, the system's roots are.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::{self, PemObject};
use std::sync::Arc;
for_servers! {
    use crate::backend::Server;
    use crate::errors::Result;
    use std::error::Error as StdError;
    use std::fmt::Display;
}

for_servers! {
/// The CA certificates (PEM) in the file `path`, given as the address option `option`, or
/// the 400 saying why they cannot be read.
pub(crate) fn read_ca(server: &Server, option: &str, path: &str) -> Result<Vec<u8>> {
    let bad = |why: &dyn Display| {
        server.bad_url(format!(
            "{option}={path}: {why}; give a PEM file of the CA certificates to trust"
        ))
    };
    let pem = std::fs::read(path).map_err(|e| bad(&e))?;
    match certificates(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(pem),
        Ok(_) => Err(bad(&"it holds no certificate")),
        Err(e) => Err(bad(&e)),
    }
}
}

/// The certificates in the PEM text `pem`.
fn certificates(pem: &[u8]) -> std::result::Result<Vec<CertificateDer<'static>>, pem::Error> {
    CertificateDer::pem_slice_iter(pem).collect()
}

/// A client configuration on ring, trusting the CA certificates of the PEM text `ca` (from
/// [`read_ca`], which checked it), or without them the system's roots.
#[cfg(any(feature = "ai", feature = "postgres", feature = "nats"))]
pub(crate) fn client_config(ca: Option<&[u8]>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let certs = match ca {
        Some(pem) => certificates(pem).unwrap_or_default(),
        None => rustls_native_certs::load_native_certs().certs,
    };
    roots.add_parsable_certificates(certs);
    rustls::ClientConfig::builder_with_provider(Arc::new(ring()))
        .with_safe_default_protocol_versions()
        .expect("ring has rustls's default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Makes ring rustls's process-wide crypto provider unless one is set, for the clients that
/// build their own configuration on rustls's defaults (redis-rs, mysql_async): rustls picks one
/// by itself only when a single provider is compiled in.
#[cfg(any(feature = "mysql", feature = "redis"))]
pub(crate) fn default_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have set one meanwhile: that one stays.
        let _ = ring().install_default();
    }
}

/// rustls's provider on ring. rustls deprecates it for lacking post-quantum key exchange, but
/// its other provider (aws-lc-rs) needs cmake and nasm to build.
#[cfg(any(
    feature = "ai",
    feature = "mysql",
    feature = "nats",
    feature = "postgres",
    feature = "redis"
))]
#[allow(deprecated)]
fn ring() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

for_servers! {
/// When TLS is what `err` failed on, why, and how to fix it (`ca_option` names the address
/// option giving a CA file, e.g. `sslrootcert`); else `None`.
pub(crate) fn explain(err: &(dyn StdError + 'static), ca_option: &str) -> Option<String> {
    use rustls::CertificateError as C;
    let trust = format!(
        "give the CA that signed it as {ca_option}=/path/ca.pem in the address, or have the server use a certificate the system trusts"
    );
    let why = match rustls_error(err)? {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            format!("the server's certificate is signed by a CA not trusted here: {trust}")
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "the server's certificate is not for the host the address names: connect by a name or address its certificate holds".to_string(),
        rustls::Error::InvalidCertificate(cert) => {
            format!("the server's certificate was refused ({cert:?}): {trust}")
        }
        other => format!("{other}"),
    };
    Some(format!("TLS failed: {why}"))
}

/// The rustls error in `err`'s chain, where an I/O error may carry it.
fn rustls_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // The `source` of an I/O error, and of an error in an `Arc` (as redis-rs holds them),
        // skips the error it wraps: that error is looked into here.
        let wrapped: Option<&(dyn StdError + 'static)> =
            match err.downcast_ref::<Arc<dyn StdError + Send + Sync>>() {
                Some(shared) => Some(&**shared),
                None => err
                    .downcast_ref::<std::io::Error>()
                    .and_then(|e| e.get_ref())
                    .map(|e| e as &(dyn StdError + 'static)),
            };
        if let Some(tls) = wrapped.and_then(rustls_error) {
            return Some(tls);
        }
        next = err.source();
    }
    None
}
}
