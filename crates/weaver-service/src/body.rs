//! Request bodies cut at a size limit, read away before the refusal.
//!
//! A server that answers 413 while the client is still sending, and then closes the connection
//! with the rest of the body unread, makes the kernel reset the connection, and the client
//! often loses the answer with it: it sees "connection reset" instead of the JSON
//! `body_too_large`. So an over-limit body is read and discarded first (a lingering close, as
//! nginx does), within [`LINGER_BYTES`] and [`LINGER_TIME`]; a client sending more than that,
//! or slower, gets the reset.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// The most bytes read away past the limit before a refusal.
pub const LINGER_BYTES: u64 = 16 * 1024 * 1024;

/// The longest time spent reading a refused body away.
pub const LINGER_TIME: Duration = Duration::from_secs(2);

/// `body`, failing with `http_body_util::LengthLimitError` (which axum's extractors answer as
/// 413) once it is over `limit` bytes, after the rest of it was read away.
pub fn limited(body: Body, limit: u64) -> Body {
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    Body::new(http_body_util::Limited::new(
        Lingering {
            inner: body,
            limit,
            seen: 0,
            over: None,
        },
        cap,
    ))
}

/// Reads `body` away (within [`LINGER_BYTES`] and [`LINGER_TIME`]) before a refusal that did
/// not read it. A body declared longer than that is left alone: it would not fit anyway.
pub async fn discard(body: Body) {
    if HttpBody::size_hint(&body)
        .exact()
        .is_some_and(|len| len > LINGER_BYTES)
    {
        return;
    }
    let drain = async {
        let mut body = body;
        let mut read = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                read += data.len() as u64;
                if read > LINGER_BYTES {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

/// Passes frames through until one takes the body over `limit`; then reads the rest away and
/// only then hands that frame on, for the `Limited` around it to refuse.
struct Lingering {
    inner: Body,
    limit: u64,
    seen: u64,
    /// The frame that went over the limit, and when the reading-away stops.
    over: Option<(Frame<Bytes>, Pin<Box<tokio::time::Sleep>>, u64)>,
}

impl HttpBody for Lingering {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some((_, deadline, discarded)) = &mut this.over {
                let done = *discarded > LINGER_BYTES || deadline.as_mut().poll(cx).is_ready();
                if !done {
                    match Pin::new(&mut this.inner).poll_frame(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(Ok(frame))) => {
                            if let Some(data) = frame.data_ref() {
                                *discarded += data.len() as u64;
                            }
                            continue;
                        }
                        Poll::Ready(Some(Err(_)) | None) => {}
                    }
                }
                return Poll::Ready(this.over.take().map(|(frame, ..)| Ok(frame)));
            }
            return match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        this.seen += data.len() as u64;
                        if this.seen > this.limit {
                            let deadline = Box::pin(tokio::time::sleep(LINGER_TIME));
                            this.over = Some((frame, deadline, 0));
                            continue;
                        }
                    }
                    Poll::Ready(Some(Ok(frame)))
                }
                other => other,
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        self.over.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.over.is_some() {
            SizeHint::default()
        } else {
            self.inner.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(chunks: usize, size: usize) -> Body {
        let items: Vec<Result<Vec<u8>, std::io::Error>> =
            (0..chunks).map(|_| Ok(vec![b'x'; size])).collect();
        Body::from_stream(futures_util::stream::iter(items))
    }

    #[tokio::test]
    async fn within_the_limit_the_body_passes_whole() {
        let body = limited(stream(4, 10), 40).collect().await.unwrap();
        assert_eq!(body.to_bytes().len(), 40);
    }

    #[tokio::test]
    async fn over_the_limit_the_rest_is_read_away_before_the_error() {
        let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&read);
        let items = futures_util::StreamExt::map(futures_util::stream::iter(0..100), move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, std::io::Error>(vec![b'x'; 10])
        });
        let err = limited(Body::from_stream(items), 25)
            .collect()
            .await
            .unwrap_err();
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        let mut is_limit = false;
        while let Some(e) = source {
            is_limit |= e.is::<http_body_util::LengthLimitError>();
            source = e.source();
        }
        assert!(is_limit, "{err}");
        // Every chunk was read, not just the three up to the limit.
        assert_eq!(read.load(std::sync::atomic::Ordering::SeqCst), 100);
    }
}
