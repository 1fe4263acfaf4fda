//! TLS termination with a generated certificate: HTTP/2 by ALPN, HSTS on every answer, a
//! certificate replaced on disk served to new connections without a restart, and handshakes
//! and first requests due within the header time-out.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::gateway::protection::read_until_closed;
use crate::gateway::stack::{Stack, key, replace};

/// A self-signed certificate for `localhost` and its key.
struct Certificate {
    pem: String,
    key_pem: String,
    der: Vec<u8>,
}

fn certificate() -> Certificate {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    Certificate {
        pem: made.cert.pem(),
        key_pem: made.signing_key.serialize_pem(),
        der: made.cert.der().to_vec(),
    }
}

/// A TLS client trusting exactly `trusted`, offering `h2` and `http/1.1`.
fn connector(trusted: &[&Certificate]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in trusted {
        roots.add(CertificateDer::from(cert.der.clone())).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

async fn connect(connector: &TlsConnector, addr: SocketAddr) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

/// The certificate the server presented on `stream`.
fn presented(stream: &TlsStream<TcpStream>) -> Vec<u8> {
    stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// One HTTP/2 `GET` on `stream`, with `key` as bearer credential when given: the status, the
/// `Strict-Transport-Security` header and the body.
async fn get_h2(
    stream: TlsStream<TcpStream>,
    path: &str,
    key: Option<&str>,
) -> (u16, Option<String>, String) {
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::get(format!("https://localhost{path}"));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.version(), hyper::Version::HTTP_2);
    let status = response.status().as_u16();
    let hsts = response
        .headers()
        .get("strict-transport-security")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, hsts, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn tls_serves_http2_and_reloads_its_certificate() {
    let first = certificate();
    let second = certificate();
    let builder = Stack::builder();
    let cert_file = builder.write("gateway/tls/tls.crt", &first.pem);
    let key_file = builder.write("gateway/tls/tls.key", &first.key_pem);
    let stack = builder
        .section(&format!(
            "[tls]\ncert_file = {cert_file:?}\nkey_file = {key_file:?}\n"
        ))
        .start()
        .await;
    let listening = stack
        .gateway
        .log_lines()
        .into_iter()
        .find(|l| l["fields"]["message"] == "listening")
        .unwrap();
    assert_eq!(listening["fields"]["scheme"], "https");
    let addr = stack.addr();
    let client = connector(&[&first, &second]);

    let stream = connect(&client, addr).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(presented(&stream), first.der);
    let (status, hsts, body) = get_h2(stream, "/livez", None).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert!(hsts.unwrap().starts_with("max-age="));
    // Proxied over HTTP/2, authenticated.
    let stream = connect(&client, addr).await;
    let (status, hsts, body) = get_h2(stream, "/api/v1/vaults", Some(&key("reader"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(hsts.is_some());
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["items"][0]["name"], "default");
    // Refusals carry it too.
    let stream = connect(&client, addr).await;
    let (status, hsts, _) = get_h2(stream, "/api/v1/vaults", None).await;
    assert_eq!(status, 401);
    assert!(hsts.is_some());

    // A new certificate and key, swapped in as Kubernetes swaps a Secret.
    replace(&key_file, &second.key_pem);
    replace(&cert_file, &second.pem);
    let stream = stack
        .poll(|| async {
            let stream = connect(&client, addr).await;
            (presented(&stream) == second.der).then_some(stream)
        })
        .await;
    let (status, hsts, _) = get_h2(stream, "/livez", None).await;
    assert_eq!(status, 200);
    assert!(hsts.is_some());
    // A client trusting only the old certificate is refused now.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let refused = connector(&[&first])
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn tls_connections_must_handshake_and_ask_within_the_header_timeout() {
    let cert = certificate();
    let builder = Stack::builder()
        .server("header_timeout_secs = 1")
        .server("idle_timeout_secs = 600");
    let cert_file = builder.write("gateway/tls/tls.crt", &cert.pem);
    let key_file = builder.write("gateway/tls/tls.key", &cert.key_pem);
    let stack = builder
        .section(&format!(
            "[tls]\ncert_file = {cert_file:?}\nkey_file = {key_file:?}\n"
        ))
        .start()
        .await;
    let addr = stack.addr();
    // No ClientHello at all.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    assert!(read_until_closed(&mut tcp).await.is_empty());
    // A finished handshake, then no request (HTTP/2 and HTTP/1.1 offered).
    let mut stream = connect(&connector(&[&cert]), addr).await;
    read_until_closed(&mut stream).await;
    // The gateway still serves over TLS.
    let stream = connect(&connector(&[&cert]), addr).await;
    let (status, _, _) = get_h2(stream, "/livez", None).await;
    assert_eq!(status, 200);
}
