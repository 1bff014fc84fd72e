//! Building rustls configurations from the `tls-*` options, the way redis-server 7.0 reads them.
//!
//! - `tls-cert-file` / `tls-key-file`: the node's certificate, served on the TLS port and the
//!   TLS bus, and also presented as a client certificate on outgoing links unless
//!   `tls-client-cert-file` / `tls-client-key-file` name another one (Redis's rule).
//! - `tls-ca-cert-file` / `tls-ca-cert-dir`: the roots that peer certificates (clients when
//!   `tls-auth-clients` is not `no`, masters and bus peers always) must chain to.
//! - `tls-auth-clients yes|optional|no`: client certificates required, checked when given, or
//!   not asked for.
//! - `tls-protocols`: `TLSv1.2` and/or `TLSv1.3` (the older versions Redis also names are not
//!   offered by rustls and are refused here).
//!
//! Like Redis (OpenSSL's `SSL_VERIFY_PEER` without a host check), outgoing links verify the
//! peer's chain against the CA but not its name: nodes connect to each other by IP address, and
//! certificates made for a cluster seldom list every node's address.

use crate::config::Config;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::path::Path;
use std::sync::Arc;

/// Why the TLS options could not be turned into a configuration (the node refuses to start, as
/// redis-server does with "Failed to configure TLS").
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("No tls-cert-file configured!")]
    NoCertFile,
    #[error("No tls-key-file configured!")]
    NoKeyFile,
    #[error("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!")]
    NoCa,
    #[error("Failed to load certificate: {path}: {reason}")]
    Cert { path: String, reason: String },
    #[error("Failed to load private key: {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("Failed to load CA certificate(s) file/directory: {path}: {reason}")]
    Ca { path: String, reason: String },
    #[error("tls-key-file-pass is set: encrypted private keys are not supported by keyslot; decrypt the key file (openssl pkey -in KEY -out PLAIN)")]
    EncryptedKey,
    #[error("Invalid tls-protocols: {0}")]
    Protocols(String),
    #[error("TLS configuration rejected: {0}")]
    Rustls(String),
}

/// What the node needs to speak TLS, built once at startup.
pub struct TlsContext {
    /// Accepts TLS on the TLS port and, with `tls-cluster`, on the bus port.
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// Connects to masters (`tls-replication`), bus peers (`tls-cluster`) and MIGRATE targets.
    pub connector: tokio_rustls::TlsConnector,
    /// `tls-replication`: the link to our master and SYNCSLOTS links use TLS, and a replica
    /// announces its TLS port to its master.
    pub replication: bool,
    /// `tls-cluster`: the bus (both ways) and MIGRATE use TLS, and the announced client and bus
    /// ports are the TLS ones.
    pub cluster: bool,
}

impl std::fmt::Debug for TlsContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsContext")
            .field("replication", &self.replication)
            .field("cluster", &self.cluster)
            .finish()
    }
}

impl TlsContext {
    /// The context the options ask for: `None` when no TLS port, `tls-replication` or
    /// `tls-cluster` is configured (Redis only loads the certificates then, too).
    pub fn from_config(config: &Config) -> Result<Option<Arc<TlsContext>>, TlsError> {
        let replication = config.bool("tls-replication");
        let cluster = config.bool("tls-cluster");
        if config.int("tls-port") == 0 && !replication && !cluster {
            return Ok(None);
        }
        let text = |name: &str| {
            config
                .get(name)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        if text("tls-key-file-pass").is_some() || text("tls-client-key-file-pass").is_some() {
            return Err(TlsError::EncryptedKey);
        }
        let cert_file = text("tls-cert-file").ok_or(TlsError::NoCertFile)?;
        let key_file = text("tls-key-file").ok_or(TlsError::NoKeyFile)?;
        let auth_clients = config.get("tls-auth-clients").unwrap_or("yes").to_string();
        let ca_file = text("tls-ca-cert-file");
        let ca_dir = text("tls-ca-cert-dir");
        let roots = load_roots(ca_file.as_deref(), ca_dir.as_deref())?;
        if roots.is_empty() && (replication || cluster || auth_clients != "no") {
            return Err(TlsError::NoCa);
        }
        let roots = Arc::new(roots);
        let versions = protocol_versions(config.get("tls-protocols").unwrap_or(""))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());

        let certs = load_certs(&cert_file)?;
        let key = load_key(&key_file)?;
        let client_verifier = match auth_clients.as_str() {
            "no" => WebPkiClientVerifier::no_client_auth(),
            mode => {
                let builder =
                    WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone());
                let builder = if mode == "optional" {
                    builder.allow_unauthenticated()
                } else {
                    builder
                };
                builder
                    .build()
                    .map_err(|e| TlsError::Rustls(e.to_string()))?
            }
        };
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(certs.clone(), key.clone_key())
            .map_err(|e| TlsError::Rustls(e.to_string()))?;

        let (client_certs, client_key) =
            match (text("tls-client-cert-file"), text("tls-client-key-file")) {
                (Some(c), Some(k)) => (load_certs(&c)?, load_key(&k)?),
                _ => (certs, key),
            };
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| TlsError::Rustls(e.to_string()));
        let verifier: Arc<dyn ServerCertVerifier> = match inner {
            Ok(inner) => Arc::new(ChainOnlyVerifier { inner }),
            // No roots at all (TLS port only, tls-auth-clients no): outgoing TLS is not used.
            Err(_) => Arc::new(RefuseAll(provider.clone())),
        };
        let client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(client_certs, client_key)
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        Ok(Some(Arc::new(TlsContext {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
            connector: tokio_rustls::TlsConnector::from(Arc::new(client)),
            replication,
            cluster,
        })))
    }
}

/// The versions `tls-protocols` names; empty means both that rustls offers.
fn protocol_versions(
    text: &str,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, TlsError> {
    if text.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    let mut versions = Vec::new();
    for word in text.split_whitespace() {
        match word.to_ascii_lowercase().as_str() {
            "tlsv1.3" => versions.push(&rustls::version::TLS13),
            "tlsv1.2" => versions.push(&rustls::version::TLS12),
            _ => {
                return Err(TlsError::Protocols(format!(
                    "{} (keyslot offers TLSv1.2 and TLSv1.3 only)",
                    word
                )))
            }
        }
    }
    Ok(versions)
}

fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |reason: String| TlsError::Cert {
        path: path.to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificate in the file".into()));
    }
    Ok(certs)
}

fn load_key(path: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let text = std::fs::read(path).map_err(|e| TlsError::Key {
        path: path.to_string(),
        reason: e.to_string(),
    })?;
    if text.windows(b"ENCRYPTED".len()).any(|w| w == b"ENCRYPTED") {
        return Err(TlsError::EncryptedKey);
    }
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| TlsError::Key {
        path: path.to_string(),
        reason: e.to_string(),
    })
}

/// The CA file's certificates plus every PEM file of the CA directory.
fn load_roots(file: Option<&str>, dir: Option<&str>) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    let mut add_file = |path: &Path| -> Result<(), TlsError> {
        let err = |reason: String| TlsError::Ca {
            path: path.display().to_string(),
            reason,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| err(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(e.to_string()))?;
        for cert in certs {
            roots.add(cert).map_err(|e| err(e.to_string()))?;
        }
        Ok(())
    };
    if let Some(f) = file {
        add_file(Path::new(f))?;
    }
    if let Some(d) = dir {
        let entries = std::fs::read_dir(d).map_err(|e| TlsError::Ca {
            path: d.to_string(),
            reason: e.to_string(),
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for p in paths {
            // OpenSSL's hashed directory holds other files too; only PEM certificates count.
            let _ = add_file(&p);
        }
    }
    Ok(roots)
}

/// Checks a server's chain against the CA and its validity dates, but not that it names the
/// address we dialled (see the module doc).
#[derive(Debug)]
struct ChainOnlyVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            // The name is checked only once the chain was found valid.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The verifier when no CA is configured: every server certificate is refused, so an
/// outgoing TLS link without a CA to check against fails instead of trusting anyone.
#[derive(Debug)]
struct RefuseAll(Arc<CryptoProvider>);

impl ServerCertVerifier for RefuseAll {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ))
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ))
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Config {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Config::from_args(&args).expect("config")
    }

    fn error(args: &[&str]) -> TlsError {
        match TlsContext::from_config(&config(args)) {
            Ok(_) => panic!("{args:?} built a TLS context"),
            Err(e) => e,
        }
    }

    #[test]
    fn no_tls_option_means_no_context() {
        assert!(TlsContext::from_config(&config(&[])).expect("ok").is_none());
    }

    #[test]
    fn missing_files_and_ca_are_named() {
        assert!(matches!(
            error(&["--tls-port", "7000"]),
            TlsError::NoCertFile
        ));
        assert!(matches!(
            error(&["--tls-port", "7000", "--tls-cert-file", "c.pem"]),
            TlsError::NoKeyFile
        ));
        // Client certificates are required by default, so a CA must be given.
        let e = error(&[
            "--tls-port",
            "7000",
            "--tls-cert-file",
            "c",
            "--tls-key-file",
            "k",
        ]);
        assert!(matches!(e, TlsError::NoCa), "{e}");
        // tls-cluster needs a CA to check peers even when clients are not asked.
        let e = error(&[
            "--tls-cluster",
            "yes",
            "--tls-auth-clients",
            "no",
            "--tls-cert-file",
            "c",
            "--tls-key-file",
            "k",
        ]);
        assert!(matches!(e, TlsError::NoCa), "{e}");
    }

    #[test]
    fn encrypted_keys_and_old_protocols_are_refused() {
        let base = [
            "--tls-port",
            "7000",
            "--tls-auth-clients",
            "no",
            "--tls-cert-file",
            "/nonexistent/c.pem",
            "--tls-key-file",
            "/nonexistent/k.pem",
        ];
        let mut args = base.to_vec();
        args.extend(["--tls-key-file-pass", "secret"]);
        assert!(matches!(error(&args), TlsError::EncryptedKey));
        let mut args = base.to_vec();
        args.extend(["--tls-protocols", "TLSv1.1 TLSv1.2"]);
        assert!(matches!(error(&args), TlsError::Protocols(_)));
        // Valid options, missing file: the path is in the message.
        let e = error(&base);
        assert!(
            matches!(&e, TlsError::Cert { path, .. } if path == "/nonexistent/c.pem"),
            "{e}"
        );
    }

    #[test]
    fn protocol_names_are_read_as_redis_writes_them() {
        assert_eq!(protocol_versions("").expect("default").len(), 2);
        assert_eq!(protocol_versions("TLSv1.3").expect("1.3").len(), 1);
        assert_eq!(protocol_versions("tlsv1.2 TLSv1.3").expect("both").len(), 2);
    }
}
