//! TLS failures, for every provider and operation: a local TLS server presents a self-signed
//! certificate (the throwaway pair in `tests/data/`), which otpkit's client must refuse. The
//! error must say TLS and certificate, and the retry policy must not try again: the certificate
//! would be refused the same way.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use otpkit::{ErrorKind, HttpOptions, RetryPolicy};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::table::{compiled, Op};

/// A TLS server presenting the self-signed test certificate; counts the connections it
/// accepts. It never answers HTTP: a client that accepted the certificate would time out.
struct SelfSignedServer {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl SelfSignedServer {
    async fn start() -> Self {
        let cert = CertificateDer::from(&include_bytes!("data/self_signed_cert.der")[..]);
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            &include_bytes!("data/self_signed_key.der")[..],
        ));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.into_owned()], key)
            .expect("the test certificate and key");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let connections = Arc::new(AtomicU64::new(0));
        let counter = connections.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let Ok(stream) = stream.into_std() else {
                    continue;
                };
                let config = config.clone();
                // rustls's blocking stream: the handshake runs until the client gives up.
                tokio::task::spawn_blocking(move || {
                    let _ = stream.set_nonblocking(false);
                    let Ok(connection) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(connection, stream);
                    let mut buf = [0u8; 1024];
                    while matches!(tls.read(&mut buf), Ok(n) if n > 0) {}
                });
            }
        });
        SelfSignedServer {
            addr,
            connections,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }
}

impl Drop for SelfSignedServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_certificate_is_named_and_not_retried() {
    let options = HttpOptions::default().retry(RetryPolicy::standard().jitter(false));
    for entry in compiled() {
        let handle = entry.handle().await;
        for op in Op::ALL {
            let server = SelfSignedServer::start().await;
            let provider = entry.provider_with(&server.url(), &options);
            let context = format!("{} {op:?}", entry.id);
            let error = entry
                .run(provider.as_ref(), op, &handle)
                .await
                .expect_err(&context);
            assert_eq!(error.kind(), ErrorKind::Transport, "{context}: {error}");
            assert!(error.message().contains("TLS"), "{context}: {error}");
            assert!(
                error.message().contains("certificate"),
                "{context}: {error}"
            );
            assert_eq!(error.request_sent(), Some(false), "{context}: {error}");
            assert!(!error.is_retryable(), "{context}: {error}");
            assert_eq!(
                server.connections.load(Ordering::SeqCst),
                1,
                "{context}: the standard retry policy tried again: {error}"
            );
        }
    }
}
