//! The gateway's own accept loop, on hyper-util: a cap on concurrent connections, TLS (rustls,
//! ALPN `h2` and `http/1.1`), HTTP/1.1 and HTTP/2 on one port, a deadline for every request
//! head, an idle time-out and a graceful drain.
//!
//! `axum::serve` offers none of the limits, which is why this loop exists.
//!
//! # Invariants
//!
//! - At most `server.max_connections` connections are served at once. A connection beyond the
//!   cap waits up to [`QUEUE_WAIT`] for a slot, then is refused: `503 too_many_connections`
//!   with `Retry-After` over plain HTTP, closed under TLS (no handshake is spent on it). At most
//!   [`QUEUE_LEN`] connections wait or are being refused; any further one is closed at once.
//!   Clients are answered or closed within about a second, never left hanging in the kernel's
//!   backlog.
//! - A connection must deliver a request head within `server.header_timeout_secs` of getting
//!   its slot (the TLS handshake and the protocol sniffing included), and
//!   again within that time whenever it has no request in flight (the end of a response
//!   starts the clock): HTTP/1 and HTTP/2 alike, so a silent, slowloris or idle keep-alive
//!   client frees its slot. hyper-util's protocol detection and HTTP/2 have no such time-out of
//!   their own, and hyper's HTTP/2 keep-alive pings would keep an idle client's connection
//!   "active" forever. One that never sent a request is dropped; one that did is closed
//!   gracefully (HTTP/2 `GOAWAY`).
//! - A connection that moves no byte in either direction for `server.idle_timeout_secs` is
//!   closed, whatever state its requests are in (slow readers and writers cannot hold a slot).
//! - The TLS configuration is read per connection from the live state, so a certificate
//!   reloaded from disk serves every new connection at once.
//! - An HTTP/1 answer given before its request body was read to the end (a refusal) carries
//!   `Connection: close`: hyper closes such a connection after the answer, and a client not
//!   told so would send its next request on it and fail.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Body as _;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use metrics::{counter, gauge};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use super::Gateway;
use super::proxy::Peer;

/// The longest sleep of a connection's watchdog (deadlines are re-read at least this often).
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// How long a connection beyond `server.max_connections` waits for a slot before it is refused.
const QUEUE_WAIT: Duration = Duration::from_secs(1);
/// How many connections beyond the cap may wait for a slot (or be in the middle of their
/// refusal) at once.
const QUEUE_LEN: usize = 256;
/// How long a refusal may take: writing the 503, then reading away what the client sent, so
/// that closing does not reset the connection before the client has read the answer.
const REFUSAL_GRACE: Duration = Duration::from_secs(1);

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
    let queue = Arc::new(Semaphore::new(QUEUE_LEN));
    loop {
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
        let admission = match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => Admission::Slot(permit),
            Err(TryAcquireError::Closed) => break,
            Err(TryAcquireError::NoPermits) => match Arc::clone(&queue).try_acquire_owned() {
                Ok(place) => Admission::Queued(place),
                Err(_) => {
                    counter!(super::CONNECTIONS_REFUSED_TOTAL).increment(1);
                    tracing::debug!(peer = %addr, "at the connection cap with a full queue: closed");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let live = gateway.live.load_full();
        let mut settings = Settings {
            admitted_at: Instant::now(),
            header_timeout: Duration::from_secs(live.config.server.header_timeout_secs),
            idle_timeout: Duration::from_secs(live.config.server.idle_timeout_secs),
        };
        let tls = live.tls.clone();
        drop(live);
        let app = app.clone();
        let shutdown = shutdown.clone();
        let slots = Arc::clone(&slots);
        tokio::spawn(async move {
            let _permit = match admission {
                Admission::Slot(permit) => permit,
                Admission::Queued(place) => {
                    let waited = tokio::select! {
                        () = shutdown.cancelled() => None,
                        permit = tokio::time::timeout(QUEUE_WAIT, slots.acquire_owned()) => {
                            permit.ok().and_then(Result::ok)
                        }
                    };
                    let Some(permit) = waited else {
                        counter!(super::CONNECTIONS_REFUSED_TOTAL).increment(1);
                        tracing::debug!(peer = %addr, "at the connection cap: refused");
                        if tls.is_none() {
                            refuse(stream).await;
                        }
                        drop(place);
                        return;
                    };
                    drop(place);
                    // The head deadline starts with the slot: a client that waited for one
                    // must not lose the request it sent meanwhile.
                    settings.admitted_at = Instant::now();
                    permit
                }
            };
            let _open = Open::start();
            match tls {
                None => {
                    let peer = Peer { addr, tls: false };
                    connection(stream, peer, app, settings, shutdown).await;
                }
                Some(acceptor) => {
                    let deadline = tokio::time::Instant::from_std(
                        settings.admitted_at + settings.header_timeout,
                    );
                    match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
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

/// How an accepted connection got in: with a slot, or into the queue for one.
enum Admission {
    Slot(OwnedSemaphorePermit),
    Queued(OwnedSemaphorePermit),
}

/// The answer to a plain-HTTP connection refused at the cap.
fn refusal() -> String {
    let body = serde_json::json!({
        "code": weaver_api::Code::TooManyConnections.as_str(),
        "message": "the gateway is serving `server.max_connections` connections; retry shortly",
    })
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\
         x-content-type-options: nosniff\r\n\r\n{body}",
        body.len()
    )
}

/// Answers `503 too_many_connections`, then reads away what the client sends until it closes
/// (within [`REFUSAL_GRACE`]): closing with unread data would reset the connection, and the
/// client might lose the answer.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(REFUSAL_GRACE, async {
        stream.write_all(refusal().as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// Per-connection time limits.
#[derive(Debug, Clone, Copy)]
struct Settings {
    /// When the connection got its slot: the first request head is due `header_timeout` later.
    admitted_at: Instant,
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

/// Serves one connection (HTTP/1.1 or HTTP/2) until it ends, misses a request-head deadline,
/// idles out, or the gateway stops.
async fn connection<I>(
    io: I,
    peer: Peer,
    app: Router,
    settings: Settings,
    shutdown: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new(settings.admitted_at));
    let io = TokioIo::new(Tracked {
        inner: io,
        activity: Arc::clone(&activity),
    });
    let service_activity = Arc::clone(&activity);
    let service = tower::service_fn(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            // Held until the response body is done (or dropped): no head is due meanwhile.
            let in_flight = InFlight::start(&service_activity);
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
                Ok::<_, std::convert::Infallible>(response.map(|inner| Guarded {
                    inner,
                    _in_flight: in_flight,
                }))
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
    let mut closing = false;
    loop {
        let verdict = activity.check(settings);
        match verdict {
            Check::Fine { .. } => {}
            Check::Idle => {
                counter!(super::IDLE_CLOSED_TOTAL).increment(1);
                tracing::debug!(peer = %peer.addr, "closing an idle connection");
                return;
            }
            Check::NoHead => {
                if closing || !activity.served() {
                    counter!(super::HEADER_TIMEOUTS_TOTAL).increment(1);
                    tracing::debug!(peer = %peer.addr, "no request head in time: closed");
                    return;
                }
                // Between requests: say goodbye properly (HTTP/2 GOAWAY), and give that the
                // same time before the connection is dropped.
                tracing::debug!(peer = %peer.addr, "no request head in time: closing");
                closing = true;
                activity.restart_head_clock();
                if !draining {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
        let wake = match verdict {
            Check::Fine { next } => next,
            Check::Idle | Check::NoHead => IDLE_CHECK,
        };
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
            () = tokio::time::sleep(wake) => {}
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What a connection has been doing, shared by its I/O, its requests and its watchdog. Times
/// are milliseconds since the connection got its slot.
struct Activity {
    origin: Instant,
    /// When a byte last moved either way.
    last_byte: AtomicU64,
    /// Requests whose response is not done yet.
    in_flight: AtomicUsize,
    /// When the last request in flight ended (or the connection started): the next request
    /// head is due `header_timeout` later.
    idle_since: AtomicU64,
    /// Whether any request has arrived.
    served: AtomicBool,
}

/// A connection's standing, from [`Activity::check`].
#[derive(Debug, Clone, Copy)]
enum Check {
    /// Within its limits; look again after `next`.
    Fine { next: Duration },
    /// No byte moved for `idle_timeout`.
    Idle,
    /// No request in flight, and none arrived within `header_timeout`.
    NoHead,
}

impl Activity {
    fn new(origin: Instant) -> Self {
        Self {
            origin,
            last_byte: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            served: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        millis(self.origin.elapsed())
    }

    fn touch(&self) {
        self.last_byte.store(self.now(), Ordering::Relaxed);
    }

    fn served(&self) -> bool {
        self.served.load(Ordering::Relaxed)
    }

    fn restart_head_clock(&self) {
        self.idle_since.store(self.now(), Ordering::Relaxed);
    }

    fn check(&self, settings: Settings) -> Check {
        let now = self.now();
        let idle_deadline = self
            .last_byte
            .load(Ordering::Relaxed)
            .saturating_add(millis(settings.idle_timeout));
        if now >= idle_deadline {
            return Check::Idle;
        }
        let mut next = idle_deadline - now;
        // Acquire: a request that just ended stored `idle_since` before it released the count.
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let head_deadline = self
                .idle_since
                .load(Ordering::Relaxed)
                .saturating_add(millis(settings.header_timeout));
            if now >= head_deadline {
                return Check::NoHead;
            }
            next = next.min(head_deadline - now);
        }
        Check::Fine {
            next: Duration::from_millis(next).min(IDLE_CHECK),
        }
    }
}

/// One request in flight on a connection, from its head to the end of its response body.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.served.store(true, Ordering::Relaxed);
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.restart_head_clock();
        self.0.in_flight.fetch_sub(1, Ordering::Release);
    }
}

/// A response body that keeps its request counted as in flight until it is done.
struct Guarded {
    inner: axum::body::Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for Guarded {
    type Data = hyper::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// An I/O stream that records when it last moved a byte.
struct Tracked<I> {
    inner: I,
    activity: Arc<Activity>,
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
            self.activity.touch();
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
            self.activity.touch();
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
            self.activity.touch();
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
