//! Protection: rate limits per identity and per address (429 with `Retry-After`, then
//! recovery), the body limit (413, declared or chunked), slow and silent clients cut off (and
//! their connection slots freed), the connection cap's fast refusal, and the CORS allow-list.

use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use reqwest::Method;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::gateway::stack::{Stack, key, notes, send, until_limited};

/// How long a cut-off connection may take to close before the test fails.
const CUT_OFF_BOUND: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_identity_rate_limit_answers_429_and_recovers() {
    let stack = Stack::builder()
        .limits(&[
            "identity_per_second = 1",
            "identity_burst = 3",
            "address_per_second = 0",
        ])
        .start()
        .await;
    let path = notes("Home.md");
    let (before, limited) =
        until_limited(|| stack.request(Method::GET, &path, Some(&key("reader")))).await;
    // A full bucket holds 3 requests.
    assert!(before.len() >= 3, "{before:?}");
    assert!(before.iter().all(|s| *s == 200), "{before:?}");
    limited.assert_error(429, "rate_limited");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{limited:?}");
    // Another identity has its own bucket.
    stack.get_as("writer", &path).await.assert_status(200);
    // Once a token has refilled, the limited identity gets through again.
    stack
        .poll(|| async { (stack.get_as("reader", &path).await.status == 200).then_some(()) })
        .await;
}

#[tokio::test]
async fn the_address_rate_limit_counts_requests_before_authentication() {
    let stack = Stack::builder()
        .limits(&[
            "identity_per_second = 0",
            "address_per_second = 1",
            "address_burst = 2",
        ])
        .start()
        .await;
    let path = notes("Home.md");
    // Guessing keys costs tokens too.
    let (before, limited) =
        until_limited(|| stack.request(Method::GET, &path, Some("wvr_guess"))).await;
    assert!(before.len() >= 2, "{before:?}");
    assert!(before.iter().all(|s| *s == 401), "{before:?}");
    limited.assert_error(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    // From the same address, a valid key is limited as well (identities are unlimited here).
    let (_, limited) =
        until_limited(|| stack.request(Method::GET, &path, Some(&key("reader")))).await;
    limited.assert_error(429, "rate_limited");
    stack
        .poll(|| async { (stack.get_as("reader", &path).await.status == 200).then_some(()) })
        .await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let stack = Stack::builder()
        .server("max_body_bytes = 1024")
        .start()
        .await;
    let vault = stack.vault("default");
    let big = "x".repeat(2048);
    // Declared with Content-Length.
    let reply = stack.put_note("writer", "Big.md", &big).await;
    reply.assert_error(413, "body_too_large");
    // Chunked: no length is declared, the gateway counts.
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        (0..4).map(|_| Ok(Bytes::from(vec![b'y'; 512]))).collect();
    let reply = send(
        stack
            .request(Method::PUT, &notes("Chunked.md"), Some(&key("writer")))
            .header("content-type", "text/markdown")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            ))),
    )
    .await;
    reply.assert_error(413, "body_too_large");
    // The rest of that body is still on the connection: it closes, and the answer says so,
    // so the next request goes on a new one.
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(!vault.join("Big.md").exists());
    assert!(!vault.join("Chunked.md").exists());
    // A body within the limit passes, chunked or not.
    stack
        .put_note("writer", "Small.md", &"z".repeat(1000))
        .await
        .assert_status(201);
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from_static(b"# Small\n"))];
    send(
        stack
            .request(Method::PUT, &notes("Chunked.md"), Some(&key("writer")))
            .header("content-type", "text/markdown")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            ))),
    )
    .await
    .assert_status(201);
}

/// Reads from `stream` until the gateway closes it (end of stream or an error), within
/// [`CUT_OFF_BOUND`]; returns what arrived.
pub async fn read_until_closed<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(CUT_OFF_BOUND, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    let received = String::from_utf8_lossy(&received).into_owned();
    assert!(
        read.is_ok(),
        "the connection was still open after {CUT_OFF_BOUND:?}; received: {received:?}"
    );
    received
}

#[tokio::test]
async fn a_client_sending_headers_too_slowly_is_cut_off() {
    let stack = Stack::builder()
        .server("header_timeout_secs = 1")
        .server("idle_timeout_secs = 600")
        .start()
        .await;
    let mut stream = TcpStream::connect(stack.addr()).await.unwrap();
    stream
        .write_all(b"GET /api/v1/vaults HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Closed without an answer (hyper's header time-out), and before the idle time-out.
    let received = read_until_closed(&mut stream).await;
    assert!(received.is_empty(), "{received}");
}

#[tokio::test]
async fn a_silent_connection_is_closed_when_idle() {
    let stack = Stack::builder()
        .server("header_timeout_secs = 600")
        .server("idle_timeout_secs = 2")
        .start()
        .await;
    let mut stream = TcpStream::connect(stack.addr()).await.unwrap();
    let received = read_until_closed(&mut stream).await;
    assert!(received.is_empty(), "{received}");
}

#[tokio::test]
async fn a_body_that_never_arrives_times_out() {
    let stack = Stack::builder()
        .server("body_timeout_secs = 1")
        .server("header_timeout_secs = 600")
        .server("idle_timeout_secs = 600")
        .start()
        .await;
    let mut stream = TcpStream::connect(stack.addr()).await.unwrap();
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: text/markdown\r\nContent-Length: 100\r\n\r\n# Slow\n",
        notes("Slow.md"),
        key("writer")
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let received = read_until_closed(&mut stream).await;
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(received.contains("connection: close"), "{received}");
    assert!(received.contains("\"code\":\"body_timeout\""), "{received}");
    assert!(!stack.vault("default").join("Slow.md").exists());
}

#[tokio::test]
async fn cors_allows_only_listed_origins() {
    let stack = Stack::builder()
        .server("allowed_origins = [\"https://app.example.com\"]")
        .start()
        .await;
    let preflight = |origin: &'static str| {
        send(
            stack
                .request(Method::OPTIONS, &notes("Home.md"), None)
                .header("origin", origin)
                .header("access-control-request-method", "PUT")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                ),
        )
    };
    let allowed = preflight("https://app.example.com").await;
    assert!(allowed.status < 300, "{allowed:?}");
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let methods = allowed.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("PUT"), "{methods}");
    let headers = allowed
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(headers.contains("authorization"), "{headers}");

    let refused = preflight("https://evil.example").await;
    assert_eq!(refused.header("access-control-allow-origin"), None);

    // Actual requests from the allowed origin carry the header too; others do not.
    let reply = send(
        stack
            .request(Method::GET, &notes("Home.md"), Some(&key("reader")))
            .header("origin", "https://app.example.com"),
    )
    .await;
    reply.assert_status(200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let reply = send(
        stack
            .request(Method::GET, &notes("Home.md"), Some(&key("reader")))
            .header("origin", "https://evil.example"),
    )
    .await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn refused_bodies_are_read_away_and_the_connection_stays_usable() {
    let stack = Stack::start().await;
    for _ in 0..5 {
        let reply = send(
            stack
                .request(Method::PUT, &notes("Refused.md"), Some(&key("reader")))
                .body("x".repeat(64 * 1024)),
        )
        .await;
        reply.assert_error(403, "forbidden");
        // The gateway read the refused body away (within the body limit): the client got the
        // answer, not a reset, and the connection stays open for the next request.
        assert_eq!(reply.header("connection"), None);
        stack
            .get_as("reader", &notes("Home.md"))
            .await
            .assert_status(200);
    }
    // Without a body, or with one read to its end, the connection stays open.
    let reply = send(stack.request(Method::GET, &notes("Home.md"), None)).await;
    reply.assert_error(401, "unauthorized");
    assert_eq!(reply.header("connection"), None);
    let reply = stack.put_note("writer", "Kept.md", "# Kept\n").await;
    reply.assert_status(201);
    assert_eq!(reply.header("connection"), None);
}

/// A counter of the gateway's `/metrics` (0 when absent).
async fn metric(stack: &Stack, name: &str) -> f64 {
    // A new client: an idle pooled connection may just have been closed by the gateway.
    let text = send(crate::gateway::stack::client().get(stack.url("/metrics"))).await;
    let text = text.body.as_str().unwrap().to_owned();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn silent_connections_beyond_the_cap_free_their_slots_at_the_header_timeout() {
    // The idle time-out is far away: only the header time-out can free the slots in time.
    let stack = Stack::builder()
        .server("max_connections = 4")
        .server("header_timeout_secs = 1")
        .server("idle_timeout_secs = 600")
        .start()
        .await;
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(TcpStream::connect(stack.addr()).await.unwrap());
    }
    // A real client gets through (at first it may be refused with 503 while the slots are
    // taken; it is never left hanging).
    stack
        .poll(|| async {
            let reply =
                send(stack.request(Method::GET, &notes("Home.md"), Some(&key("reader")))).await;
            match reply.status {
                200 => Some(()),
                503 => {
                    reply.assert_error(503, "too_many_connections");
                    None
                }
                _ => panic!("{reply:?}"),
            }
        })
        .await;
    // Every silent connection was closed by the gateway: without a word once it had a slot,
    // or with the 503 when none freed in time.
    let mut dropped = 0;
    for stream in &mut silent {
        let received = read_until_closed(stream).await;
        if received.is_empty() {
            dropped += 1;
        } else {
            assert!(received.starts_with("HTTP/1.1 503"), "{received}");
            assert!(received.contains("too_many_connections"), "{received}");
        }
    }
    assert!(dropped >= 4, "{dropped}");
    assert!(metric(&stack, "gateway_header_timeouts_total").await >= 4.0);
}

/// Sends `opening` one byte at a time, then `tail` forever (or nothing more), until the gateway
/// closes the connection; fails if it is still open after [`CUT_OFF_BOUND`].
async fn dribble(stack: &Stack, opening: &'static [u8], tail: Option<u8>) {
    let stream = TcpStream::connect(stack.addr()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let tail = tail.into_iter().cycle();
        for byte in opening.iter().copied().chain(tail) {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let received = read_until_closed(&mut reader).await;
    writing.abort();
    // Nothing is answered to half a request head (an HTTP/2 server may send its SETTINGS).
    assert!(!received.starts_with("HTTP/"), "{received}");
}

#[tokio::test]
async fn slowloris_clients_are_cut_off_at_the_header_timeout() {
    let stack = Stack::builder()
        .server("header_timeout_secs = 1")
        .server("idle_timeout_secs = 600")
        .start()
        .await;
    // An HTTP/1 head that never ends.
    dribble(
        &stack,
        b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        Some(b'a'),
    )
    .await;
    // Most of the HTTP/2 connection preface, sent slowly: the protocol is not even known yet.
    dribble(&stack, b"PRI * HTTP/2.0\r\n\r\nSM\r\n", None).await;
    // A whole HTTP/2 preface and SETTINGS frame, and then no request.
    let mut stream = TcpStream::connect(stack.addr()).await.unwrap();
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    read_until_closed(&mut stream).await;
    // The gateway still serves.
    send(stack.request(Method::GET, "/livez", None))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_its_last_response() {
    let stack = Stack::builder()
        .server("header_timeout_secs = 1")
        .server("idle_timeout_secs = 600")
        .start()
        .await;
    // HTTP/2 with prior knowledge; hyper's client answers the gateway's keep-alive pings, so
    // bytes keep moving and only the wait for the next request head can end the connection.
    let tcp = TcpStream::connect(stack.addr()).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    for _ in 0..2 {
        let request = hyper::Request::get(stack.url("/livez"))
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.unwrap();
    }
    // `sender` stays alive: the client does not close the connection, the gateway does.
    let closed = tokio::time::timeout(CUT_OFF_BOUND, connection).await;
    assert!(
        closed.is_ok(),
        "the connection was still open after {CUT_OFF_BOUND:?}"
    );
    drop(sender);
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_with_503_instead_of_hanging() {
    // Nothing frees the slots by itself during this test.
    let stack = Stack::builder()
        .server("max_connections = 2")
        .server("header_timeout_secs = 600")
        .server("idle_timeout_secs = 600")
        .start()
        .await;
    let silent = [
        TcpStream::connect(stack.addr()).await.unwrap(),
        TcpStream::connect(stack.addr()).await.unwrap(),
    ];
    let reply = send(stack.request(Method::GET, &notes("Home.md"), Some(&key("reader")))).await;
    reply.assert_error(503, "too_many_connections");
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.header("connection"), Some("close"));
    // Once the holders leave, their slots serve others.
    drop(silent);
    stack
        .poll(|| async {
            let reply =
                send(stack.request(Method::GET, &notes("Home.md"), Some(&key("reader")))).await;
            (reply.status == 200).then_some(())
        })
        .await;
    assert!(metric(&stack, "gateway_connections_refused_total").await >= 1.0);
}
