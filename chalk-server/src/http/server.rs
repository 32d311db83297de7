//! The connection layer under the router (docs/api.md Hardening rules): a cap on open
//! connections, header-read, body-read and idle timeouts, a shutdown deadline, and the
//! error envelope on the responses hyper writes by itself.
//!
//! hyper's own header-read timeout starts whenever it waits for a request head, idle
//! keep-alive included, so it cannot tell "headers too slow" (10 s) from "idle" (60 s):
//! it is off (left on, it closed idle keep-alive connections at its default 30 s).
//! Each connection instead has a small watchdog fed by its socket and its requests:
//!
//! - idle: no request in progress and no byte of the next one yet; closed after
//!   `idle_timeout`;
//! - head: the first bytes of a request arrived but not yet its headers; closed after
//!   `header_read_timeout` (a connection that sends nothing at all counts as idle from the
//!   start, but its headers are still due within `header_read_timeout`);
//! - busy: a request is being served; its body is bounded by `body_read_timeout`
//!   (`RequestBodyTimeoutLayer`), the handler itself is not.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::http::state::Limits;

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then lets
/// in-flight requests finish for at most `limits.shutdown_grace`.
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_shutdown: impl FnOnce(),
) -> io::Result<()> {
    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_read_timeout,
    ));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // No header-read timer of hyper's: the watchdog below enforces `header_read_timeout`.
    // hyper's armed a timer for every request, and its default (30 s once a timer is set)
    // closed idle keep-alive connections before the contract's `idle_timeout` (60 s).
    builder.http1().keep_alive(true).header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let limits = Arc::new(limits);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        // At the cap, stop accepting: new connections wait in the listen backlog.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, or a connection reset before it was accepted:
                    // never fatal, and not worth a busy loop.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let connection = serve_connection(
            stream,
            remote,
            router.clone(),
            builder.clone(),
            limits.clone(),
            stopped.clone(),
        );
        connections.spawn(async move {
            connection.await;
            drop(permit);
        });
    }

    on_shutdown();
    drop(listener);
    let _ = stop.send(true);
    let open = connections.len();
    if open > 0 {
        tracing::info!(
            connections = open,
            grace_ms = limits.shutdown_grace.as_millis() as u64,
            "finishing in-flight requests"
        );
    }
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "shutdown grace elapsed: closing the connections still open"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: Arc<Limits>,
    mut stopped: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(WatchedIo {
        inner: stream,
        activity: activity.clone(),
        replacement: None,
    });
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(remote));
        let busy = requests.begin_request();
        let router = router.clone();
        async move {
            let response = router
                .oneshot(req.map(Body::new))
                .await
                .unwrap_or_else(|never| match never {});
            // The request counts as in progress until hyper has taken the whole body.
            Ok::<_, Infallible>(response.map(move |body| {
                body.map_frame(move |frame| {
                    let _in_progress = &busy;
                    frame
                })
            }))
        }
    });
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut stopping = *stopped.borrow();
    if stopping {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%remote, %error, "connection ended with an error");
                }
                return;
            }
            reason = activity.expired(&limits) => {
                tracing::debug!(%remote, reason, "closing connection");
                return;
            }
            changed = stopped.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    // Idle connections close now; one serving a request closes after it.
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Head,
    Busy(usize),
}

/// What a connection is doing, and since when. Nothing wakes the watchdog when it
/// changes (that was three wakeups of the connection's task per request): the watchdog
/// looks again at least every `min(header_read_timeout, idle_timeout)`, and no change of
/// phase can set a deadline earlier than that (see [`Activity::expired`]).
struct Activity {
    phase: Mutex<(Phase, Instant)>,
    /// Set by the first request: before it, an idle connection owes its first headers.
    served: std::sync::atomic::AtomicBool,
}

/// Marks a request in progress until dropped.
struct InProgress(Arc<Activity>);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.update(|phase| match phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle,
        });
    }
}

impl Activity {
    fn new() -> Self {
        Self {
            phase: Mutex::new((Phase::Idle, Instant::now())),
            served: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn update(&self, next: impl FnOnce(Phase) -> Phase) {
        let mut guard = self.phase.lock().expect("activity lock poisoned");
        let phase = next(guard.0);
        if phase != guard.0 {
            *guard = (phase, Instant::now());
        }
    }

    fn phase(&self) -> Phase {
        self.phase.lock().expect("activity lock poisoned").0
    }

    /// Bytes arrived: when idle, a request has begun.
    fn saw_bytes(&self) {
        self.update(|phase| match phase {
            Phase::Idle => Phase::Head,
            other => other,
        });
    }

    fn begin_request(self: &Arc<Self>) -> InProgress {
        self.served.store(true, std::sync::atomic::Ordering::SeqCst);
        self.update(|phase| match phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
        InProgress(self.clone())
    }

    /// Resolves when the connection has been idle, or reading one request's headers,
    /// for too long.
    ///
    /// It wakes at the current phase's deadline, or after `step` at the latest. A phase
    /// entered later, at `t`, is due at `t + header_read_timeout` or `t + idle_timeout`,
    /// never before `t + step`: so never before the watchdog's next look, and no change of
    /// phase needs to wake it.
    async fn expired(&self, limits: &Limits) -> &'static str {
        // Never below 1 ms: a zero timeout must not make the watchdog spin.
        let step = limits
            .header_read_timeout
            .min(limits.idle_timeout)
            .max(Duration::from_millis(1));
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        loop {
            let now = Instant::now();
            let (phase, since) = *self.phase.lock().expect("activity lock poisoned");
            let served = self.served.load(std::sync::atomic::Ordering::SeqCst);
            let due = match phase {
                // A connection that never sent a byte is idle, yet its first headers are
                // due within the header timeout.
                Phase::Idle if !served => Some((
                    since + limits.header_read_timeout,
                    "no request headers in time",
                )),
                Phase::Idle => Some((since + limits.idle_timeout, "idle timeout")),
                Phase::Head => Some((
                    since + limits.header_read_timeout,
                    "request headers too slow",
                )),
                Phase::Busy(_) => None,
            };
            let next_look = now + step;
            match due {
                Some((deadline, reason)) if deadline <= now => return reason,
                Some((deadline, _)) => sleep.as_mut().reset(deadline.min(next_look)),
                None => sleep.as_mut().reset(next_look),
            }
            sleep.as_mut().await;
        }
    }
}

/// The socket, watched: reads feed [`Activity`], and the bare responses hyper writes by
/// itself for requests it cannot parse get the contract's error envelope instead.
struct WatchedIo {
    inner: TcpStream,
    activity: Arc<Activity>,
    /// An envelope being written in place of hyper's bare response: the bytes, how many
    /// are written, and the length of hyper's buffer to report once done.
    replacement: Option<(Vec<u8>, usize, usize)>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.saw_bytes();
        }
        result
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacement.is_none()
            && !matches!(this.activity.phase(), Phase::Busy(_))
            && let Some(envelope) = envelope_for(buf)
        {
            this.replacement = Some((envelope, 0, buf.len()));
        }
        let Some((bytes, written, reported)) = &mut this.replacement else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        while *written < bytes.len() {
            match Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let reported = (*reported).min(buf.len());
        this.replacement = None;
        Poll::Ready(Ok(reported))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// When `buf` is one of hyper's automatic answers to an unparsable request (status 400,
/// 414 or 431, no content type, empty body), the same answer with the error envelope.
/// The application never writes such a response: every error it makes is JSON.
fn envelope_for(buf: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(buf.strip_prefix(b"HTTP/1.1 ")?).ok()?;
    let (status, message) = match head.get(..4)? {
        "400 " => (
            "400 Bad Request",
            "The request could not be parsed: a malformed request line or header (folded headers are not accepted)",
        ),
        "414 " => ("414 URI Too Long", "The request URI is too long"),
        "431 " => (
            "431 Request Header Fields Too Large",
            "The request headers are too large or too many",
        ),
        _ => return None,
    };
    let lower = head.to_ascii_lowercase();
    if !lower.ends_with("\r\n\r\n")
        || lower.contains("content-type:")
        || !lower.contains("content-length: 0\r\n")
    {
        return None;
    }
    let request_id = crate::crypto::new_id("req");
    tracing::info!(request_id = %request_id, status = &status[..3], "request refused by the HTTP layer");
    let body = serde_json::json!({
        "error": {"code": "INVALID_REQUEST", "message": message, "request_id": request_id}
    })
    .to_string();
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_framework_answers_get_an_envelope() {
        let bare = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Wed, 25 Nov 2026 10:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(envelope_for(bare).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{out}");
        let (_, body) = out.split_once("\r\n\r\n").unwrap();
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "INVALID_REQUEST");
        assert!(
            body["error"]["request_id"]
                .as_str()
                .unwrap()
                .starts_with("req_")
        );
        assert!(out.contains(&format!(
            "x-request-id: {}\r\n",
            body["error"]["request_id"].as_str().unwrap()
        )));
        // The application's own errors are JSON and pass untouched.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n";
        assert!(envelope_for(ours).is_none());
        assert!(envelope_for(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
