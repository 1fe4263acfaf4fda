//! Protection: rate limits per identity and per address (429 with `Retry-After`, then
//! recovery), the body limit (413, declared or chunked), slow and silent clients cut off, and
//! the CORS allow-list.

use std::time::Duration;

use axum::body::Bytes;
use reqwest::Method;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::stack::{Stack, key, notes, send, until_limited};

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
async fn read_until_closed(stream: &mut TcpStream) -> String {
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
