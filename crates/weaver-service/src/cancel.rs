//! Blocking vault work that stops when nobody waits for its answer any more.
//!
//! Queries read files and walk indexes, so they run on Tokio's blocking pool, where dropping the
//! future that awaits them does not stop them. [`run`] hands the work a [`CancellationToken`]
//! that a drop guard cancels as soon as that future is dropped (the HTTP client disconnected,
//! the request timed out, the MCP session ended), and long work checks it between its steps
//! (`Snapshot::backlinks` does before each file it reads).
//!
//! Both metrics are process-wide: [`QUERIES_IN_FLIGHT`] counts work still running, including
//! work whose caller has gone, and [`QUERIES_ABANDONED_TOTAL`] counts callers that went away
//! first.

use metrics::{counter, gauge};
use tokio_util::sync::CancellationToken;

use crate::metrics::{QUERIES_ABANDONED_TOTAL, QUERIES_IN_FLIGHT};

/// Runs `f` on the blocking pool with a token that is cancelled if the returned future is
/// dropped before `f` has finished.
pub async fn run<T, F>(f: F) -> Result<T, tokio::task::JoinError>
where
    F: FnOnce(&CancellationToken) -> T + Send + 'static,
    T: Send + 'static,
{
    let token = CancellationToken::new();
    let mut abandon = Abandon(Some(token.clone()));
    let running = Running::start();
    let result = tokio::task::spawn_blocking(move || {
        let _running = running;
        f(&token)
    })
    .await;
    abandon.0 = None;
    result
}

/// Cancels the work when dropped armed (its caller's future was dropped while it ran).
struct Abandon(Option<CancellationToken>);

impl Drop for Abandon {
    fn drop(&mut self) {
        if let Some(token) = self.0.take() {
            token.cancel();
            counter!(QUERIES_ABANDONED_TOTAL).increment(1);
        }
    }
}

/// The in-flight gauge, held by the blocking closure so it falls when the work really ends.
struct Running;

impl Running {
    fn start() -> Self {
        gauge!(QUERIES_IN_FLIGHT).increment(1.0);
        Self
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        gauge!(QUERIES_IN_FLIGHT).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn dropping_the_future_cancels_the_work() {
        let (started_tx, started) = mpsc::channel();
        let (seen_tx, seen) = mpsc::channel();
        let job = tokio::spawn(run(move |token| {
            started_tx.send(()).unwrap();
            // Bounded: the test fails rather than hangs if the token never fires.
            let fired = (0..600).any(|_| {
                std::thread::sleep(Duration::from_millis(50));
                token.is_cancelled()
            });
            seen_tx.send(fired).unwrap();
        }));
        tokio::task::spawn_blocking(move || started.recv().unwrap())
            .await
            .unwrap();
        job.abort();
        let fired = tokio::task::spawn_blocking(move || seen.recv().unwrap())
            .await
            .unwrap();
        assert!(fired, "the token was not cancelled");
    }

    #[tokio::test]
    async fn finished_work_is_not_cancelled() {
        let token = run(|token| token.clone()).await.unwrap();
        assert!(!token.is_cancelled());
    }
}
