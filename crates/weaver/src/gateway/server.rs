//! The gateway's own accept loop, on hyper-util: a cap on concurrent connections, TLS (rustls,
//! ALPN `h2` and `http/1.1`) with a handshake deadline, HTTP/1.1 and HTTP/2 on one port, a
//! header time-out, an idle time-out and a graceful drain.
//!
//! `axum::serve` offers none of the limits, which is why this loop exists.
//!
//! # Invariants
//!
//! - At most `server.max_connections` connections are open: a permit is taken *before*
//!   `accept`, so further clients wait in the kernel's backlog instead of costing memory here.
//! - A connection that moves no byte in either direction for `server.idle_timeout_secs` is
//!   closed, whatever state its requests are in (slow readers and writers cannot hold a slot);
//!   HTTP/1 request headers must arrive within `server.header_timeout_secs` (hyper's timer),
//!   TLS handshakes too.
//! - The TLS configuration is read per connection from the live state, so a certificate
//!   reloaded from disk serves every new connection at once.
//! - An HTTP/1 answer given before its request body was read to the end (a refusal) carries
//!   `Connection: close`: hyper closes such a connection after the answer, and a client not
//!   told so would send its next request on it and fail.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Body as _;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use metrics::{counter, gauge};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use super::Gateway;
use super::proxy::Peer;

/// How often idle connections are looked for.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown`, then waits up to `drain` for open connections
/// to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    gateway: Gateway,
    max_connections: usize,
    shutdown: CancellationToken,
    drain: Duration,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    loop {
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, addr) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let live = gateway.live.load_full();
        let settings = Settings {
            header_timeout: Duration::from_secs(live.config.server.header_timeout_secs),
            idle_timeout: Duration::from_secs(live.config.server.idle_timeout_secs),
        };
        let tls = live.tls.clone();
        drop(live);
        let app = app.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _open = Open::start();
            match tls {
                None => {
                    let peer = Peer { addr, tls: false };
                    connection(stream, peer, app, settings, shutdown).await;
                }
                Some(acceptor) => {
                    match tokio::time::timeout(settings.header_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(stream)) => {
                            let peer = Peer { addr, tls: true };
                            connection(stream, peer, app, settings, shutdown).await;
                        }
                        Ok(Err(err)) => {
                            counter!(super::TLS_HANDSHAKE_FAILURES_TOTAL).increment(1);
                            tracing::debug!(peer = %addr, error = %err, "TLS handshake failed");
                        }
                        Err(_) => {
                            counter!(super::TLS_HANDSHAKE_FAILURES_TOTAL).increment(1);
                            tracing::debug!(peer = %addr, "TLS handshake timed out");
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: not accepting connections, finishing requests in flight");
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(drain, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open at the shutdown deadline were cut off");
    }
}

/// Per-connection time limits.
#[derive(Debug, Clone, Copy)]
struct Settings {
    header_timeout: Duration,
    idle_timeout: Duration,
}

/// The open-connections gauge, decremented however the task ends.
struct Open;

impl Open {
    fn start() -> Self {
        gauge!(super::CONNECTIONS_OPEN).increment(1.0);
        counter!(super::CONNECTIONS_TOTAL).increment(1);
        Self
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        gauge!(super::CONNECTIONS_OPEN).decrement(1.0);
    }
}

/// Serves one connection (HTTP/1.1 or HTTP/2) until it ends, idles out, or the gateway stops.
async fn connection<I>(
    io: I,
    peer: Peer,
    app: Router,
    settings: Settings,
    shutdown: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let origin = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Tracked {
        inner: io,
        last: Arc::clone(&last),
        origin,
    });
    let service = tower::service_fn(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(peer);
            let version = request.version();
            let read = Arc::new(AtomicBool::new(request.body().is_end_stream()));
            let request = request.map(|body| {
                axum::body::Body::new(ReadToEnd {
                    inner: body,
                    read: Arc::clone(&read),
                })
            });
            let response = app.clone().oneshot(request);
            async move {
                let mut response = response.await?;
                // Answered before its body was read: hyper closes the connection after this
                // answer (see the invariants above), so tell the client.
                if version < axum::http::Version::HTTP_2 && !read.load(Ordering::Relaxed) {
                    response.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        },
    );
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10))
        .max_concurrent_streams(256);
    let conn = builder.serve_connection_with_upgrades(io, TowerToHyperService::new(service));
    tokio::pin!(conn);
    let mut draining = false;
    let mut ticker = tokio::time::interval(IDLE_CHECK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(peer = %peer.addr, error = %err, "connection ended with an error");
                }
                return;
            }
            () = shutdown.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = ticker.tick() => {
                let idle_ms = elapsed_ms(origin).saturating_sub(last.load(Ordering::Relaxed));
                if idle_ms >= u64::try_from(settings.idle_timeout.as_millis()).unwrap_or(u64::MAX) {
                    counter!(super::IDLE_CLOSED_TOTAL).increment(1);
                    tracing::debug!(peer = %peer.addr, idle_ms, "closing an idle connection");
                    return;
                }
            }
        }
    }
}

fn elapsed_ms(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// An I/O stream that records when it last moved a byte.
struct Tracked<I> {
    inner: I,
    last: Arc<AtomicU64>,
    origin: Instant,
}

impl<I> Tracked<I> {
    fn touch(&self) {
        self.last.store(elapsed_ms(self.origin), Ordering::Relaxed);
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body that records when it has been read to its end.
struct ReadToEnd {
    inner: hyper::body::Incoming,
    read: Arc<AtomicBool>,
}

impl hyper::body::Body for ReadToEnd {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// A TLS acceptor from PEM text: the certificate chain and the private key.
pub fn tls_acceptor(cert_pem: &str, key_pem: &str) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("tls.cert_file: {e}"))?;
    if certs.is_empty() {
        return Err("tls.cert_file: no certificate in the file".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| format!("tls.key_file: {e}"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls: the certificate and key do not go together: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_and_keys_must_match() {
        let a = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        tls_acceptor(&a.cert.pem(), &a.signing_key.serialize_pem()).unwrap();
        let err = tls_acceptor(&a.cert.pem(), &b.signing_key.serialize_pem())
            .err()
            .unwrap();
        assert!(err.contains("do not go together"), "{err}");
        assert!(tls_acceptor("", &a.signing_key.serialize_pem()).is_err());
        assert!(tls_acceptor(&a.cert.pem(), "not a key").is_err());
    }
}
