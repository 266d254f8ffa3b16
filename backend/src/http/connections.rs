//! The HTTP listener: connections capped per client address, each request given a deadline to arrive.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::body::MessageBody;
use actix_http::error::DispatchError;
use actix_http::{BoxedPayloadStream, HttpService, Protocol, Request};
use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::{
    AppConfig, Extensions, Payload, Response, Server, Service, ServiceFactory, ServiceRequest,
    ServiceResponse,
};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::client_ip::{limit_key, TrustedProxies};

/// From a request's first byte to its last. Our largest request is a 4 KiB body; a client that
/// cannot send that in 10 s is not one we can serve anyway.
pub const RECEIVE_DEADLINE: Duration = Duration::from_secs(10);
/// `HttpServer`'s default, kept: how long a closing connection may take to flush.
const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// A flood of refused connections must not become a flood of log lines.
const REFUSAL_REPORT_EVERY: Duration = Duration::from_secs(60);

/// What `serve` needs from the settings.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub keep_alive: Duration,
    /// For a connection's first request head (actix's own timer).
    pub client_request_timeout: Duration,
    /// On SIGTERM, how long requests in flight may take to finish.
    pub shutdown_timeout_secs: u64,
    /// Connections one client address may hold open; trusted proxies are not counted.
    pub connections_per_client: usize,
    pub trusted_proxies: TrustedProxies,
}

/// Runs `app` on `listener` as `HttpServer::new(app)...listen(listener)?.run()` would, with
/// actix's default worker count, each connection counted against its client address and its
/// requests held to `RECEIVE_DEADLINE`. The app must be wrapped in `mark_received`.
///
/// actix times only a connection's first request head and the wait between requests: once a
/// byte of a later request has arrived, or a head is parsed and its body awaited, nothing is
/// timed, and a client sending a byte every few seconds holds the connection (and a file
/// descriptor) for ever. `HttpServer` has no hook to wrap or refuse a stream, hence this.
pub fn serve<F, I, S, B>(
    listener: std::net::TcpListener,
    options: ServerOptions,
    app: F,
) -> io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let slots = Arc::new(ClientSlots::new(
        options.connections_per_client,
        options.trusted_proxies,
    ));
    // actix's keep-alive timer closes an idle connection first. This catches what actix never
    // times: an answer stalled because the client stopped reading it.
    let idle_limit = options.keep_alive + RECEIVE_DEADLINE;
    let builder = Server::build().shutdown_timeout(options.shutdown_timeout_secs);
    let shutdown = builder.graceful_shutdown_signal();
    let (keep_alive, request_timeout) = (options.keep_alive, options.client_request_timeout);
    let builder = builder.listen(format!("acapp-{addr}"), listener, move || {
        let shutdown = shutdown.clone();
        let http = HttpService::build()
            // Lets idle keep-alive connections go at once on SIGTERM, as `HttpServer` does.
            .graceful_shutdown_signal(move || {
                let signal = shutdown.clone();
                async move { signal.notified().await }
            })
            .keep_alive(keep_alive)
            .client_request_timeout(request_timeout)
            .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
            .local_addr(addr)
            .on_connect_ext(|io: &GuardedStream, ext: &mut Extensions| {
                ext.insert(io.phase.clone());
            })
            .finish(map_config(
                app()
                    .into_factory()
                    .map_err(|err| err.into().error_response()),
                |_| AppConfig::default(),
            ));
        let slots = slots.clone();
        fn_service(move |io: TcpStream| {
            let admitted = admit(&slots, io, idle_limit);
            async move { admitted }
        })
        .and_then(http)
    })?;
    Ok(builder.run())
}

type Admitted = (GuardedStream, Protocol, Option<SocketAddr>);

fn admit(
    slots: &Arc<ClientSlots>,
    io: TcpStream,
    idle_limit: Duration,
) -> Result<Admitted, DispatchError> {
    // A stream without a peer is already dead; it could not be counted either.
    let peer = io.peer_addr().map_err(DispatchError::Io)?;
    let _ = io.set_nodelay(true);
    let slot = slots.take(peer.ip()).map_err(|refused| {
        slots.report(&refused);
        DispatchError::Io(io::Error::other(refused))
    })?;
    Ok((
        GuardedStream::new(io, slot, peer, idle_limit),
        Protocol::Http1,
        Some(peer),
    ))
}

#[derive(Debug, thiserror::Error)]
#[error("{client} already holds {held} connections")]
struct TooManyConnections {
    client: IpAddr,
    held: usize,
}

/// Open connections per client address (`limit_key`: IPv6 per /64), shared by all workers. An
/// address with none has no entry, so the map holds only addresses connected now.
struct ClientSlots {
    per_client: usize,
    trusted: TrustedProxies,
    open: DashMap<IpAddr, usize>,
    started: Instant,
    /// Seconds since `started` when the next refusal may be logged.
    next_report: AtomicU64,
    refused_unreported: AtomicU64,
}

impl ClientSlots {
    fn new(per_client: usize, trusted: TrustedProxies) -> Self {
        Self {
            per_client,
            trusted,
            open: DashMap::new(),
            started: Instant::now(),
            next_report: AtomicU64::new(0),
            refused_unreported: AtomicU64::new(0),
        }
    }

    /// `None` for a trusted proxy: nginx carries many clients over a few connections' addresses.
    fn take(self: &Arc<Self>, peer: IpAddr) -> Result<Option<Slot>, TooManyConnections> {
        if self.trusted.trusts(peer) {
            return Ok(None);
        }
        let client = limit_key(peer);
        match self.open.entry(client) {
            Entry::Occupied(mut held) => {
                if *held.get() >= self.per_client {
                    return Err(TooManyConnections {
                        client,
                        held: *held.get(),
                    });
                }
                *held.get_mut() += 1;
            }
            Entry::Vacant(none) => {
                none.insert(1);
            }
        }
        Ok(Some(Slot {
            slots: self.clone(),
            client,
        }))
    }

    fn release(&self, client: IpAddr) {
        if let Entry::Occupied(mut held) = self.open.entry(client) {
            if *held.get() <= 1 {
                held.remove();
            } else {
                *held.get_mut() -= 1;
            }
        }
    }

    fn report(&self, refused: &TooManyConnections) {
        let unreported = self.refused_unreported.fetch_add(1, Ordering::Relaxed) + 1;
        let now = self.started.elapsed().as_secs();
        let due = self.next_report.load(Ordering::Relaxed);
        let next = now + REFUSAL_REPORT_EVERY.as_secs();
        if now < due
            || self
                .next_report
                .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.refused_unreported
            .fetch_sub(unreported, Ordering::Relaxed);
        tracing::info!(
            client = %refused.client,
            held = refused.held,
            refused = unreported,
            "too many connections from one address; refused (this line comes at most once a minute, \
             `refused` counting all addresses since the last one)"
        );
    }

    #[cfg(test)]
    fn held(&self, client: IpAddr) -> usize {
        self.open.get(&limit_key(client)).map_or(0, |held| *held)
    }
}

/// One connection counted against its client address until dropped.
struct Slot {
    slots: Arc<ClientSlots>,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.release(self.client);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// Waiting for a request (actix times this with keep-alive).
    Idle = 0,
    /// Part of a request has arrived; the rest is due by the deadline.
    Receiving = 1,
    /// The request is in; the handler may take as long as it needs.
    Processing = 2,
}

/// Where a connection is in its current request, shared by its stream and the app (through the
/// connection's data: `ServiceRequest::conn_data`).
#[derive(Debug, Clone)]
pub struct ConnectionPhase(Arc<AtomicU8>);

impl ConnectionPhase {
    fn new() -> Self {
        Self(Arc::new(AtomicU8::new(Phase::Idle as u8)))
    }

    fn get(&self) -> Phase {
        match self.0.load(Ordering::Relaxed) {
            0 => Phase::Idle,
            1 => Phase::Receiving,
            _ => Phase::Processing,
        }
    }

    fn set(&self, phase: Phase) {
        self.0.store(phase as u8, Ordering::Relaxed);
    }

    /// The request's head and whole body are in: the client owes nothing until the answer.
    pub fn request_received(&self) {
        self.set(Phase::Processing);
    }
}

/// A client connection: holds its address's slot, and fails its reads once a request has been
/// arriving for longer than `RECEIVE_DEADLINE`, or once it has been idle past keep-alive; a
/// failed read makes actix drop the connection. Handler time is never counted (`mark_received`
/// stops the clock) and the answer's first bytes start the wait for the next request.
struct GuardedStream {
    io: TcpStream,
    phase: ConnectionPhase,
    deadline: Pin<Box<Sleep>>,
    idle_limit: Duration,
    peer: SocketAddr,
    /// Bytes of the next request arrived while this one was handled (a
    /// pipelining client): its clock starts with the answer.
    early: bool,
    _slot: Option<Slot>,
}

impl GuardedStream {
    fn new(io: TcpStream, slot: Option<Slot>, peer: SocketAddr, idle_limit: Duration) -> Self {
        Self {
            io,
            phase: ConnectionPhase::new(),
            deadline: Box::pin(tokio::time::sleep(idle_limit)),
            idle_limit,
            peer,
            early: false,
            _slot: slot,
        }
    }

    fn arm(&mut self, cx: &mut Context<'_>, after: Duration) {
        self.deadline.as_mut().reset(Instant::now() + after);
        // Registers the dispatcher's waker, so that it is woken (and reads, and fails) at the
        // deadline even if the client never sends another byte.
        let _ = self.deadline.as_mut().poll(cx);
    }

    /// The answer's first bytes end the handling: the connection waits for
    /// the next request (the idle limit bounds, too, how long a client may
    /// take to read the answer), or times the one that started arriving
    /// meanwhile. Later writes change nothing, so a client cannot stretch
    /// either clock by reading the answer slowly.
    fn wrote(&mut self, cx: &mut Context<'_>, written: &Poll<io::Result<usize>>) {
        if !matches!(written, Poll::Ready(Ok(n)) if *n > 0) || self.phase.get() != Phase::Processing
        {
            return;
        }
        if std::mem::take(&mut self.early) {
            self.phase.set(Phase::Receiving);
            self.arm(cx, RECEIVE_DEADLINE);
        } else {
            self.phase.set(Phase::Idle);
            let idle_limit = self.idle_limit;
            self.arm(cx, idle_limit);
        }
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let phase = this.phase.get();
        if phase != Phase::Processing && this.deadline.as_mut().poll(cx).is_ready() {
            tracing::debug!(peer = %this.peer, ?phase, "request not received in time; connection closed");
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request did not arrive in time",
            )));
        }
        let filled = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > filled {
            match this.phase.get() {
                Phase::Idle => {
                    this.phase.set(Phase::Receiving);
                    this.arm(cx, RECEIVE_DEADLINE);
                }
                Phase::Processing => this.early = true,
                Phase::Receiving => {}
            }
        }
        read
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        this.wrote(cx, &written);
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.wrote(cx, &written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Stops the connection's receive clock once the request has fully arrived: at once for a
/// request without a body, else when its body's stream ends (however the handler reads it). A
/// handler that never reads a body it was sent stays on the clock; none of ours takes long.
pub async fn mark_received(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(phase) = req.conn_data::<ConnectionPhase>().cloned() {
        let payload = req.take_payload();
        if matches!(payload, Payload::None) || declares_empty_body(&req) {
            phase.request_received();
            req.set_payload(payload);
        } else {
            let body: BoxedPayloadStream = Box::pin(UntilEnd {
                payload,
                phase: Some(phase),
            });
            req.set_payload(Payload::from(body));
        }
    }
    next.call(req).await
}

fn declares_empty_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    !headers.contains_key(header::TRANSFER_ENCODING)
        && headers
            .get(header::CONTENT_LENGTH)
            .and_then(|length| length.to_str().ok())
            .and_then(|length| length.trim().parse::<u64>().ok())
            == Some(0)
}

/// A request body that marks its connection's request received when it ends.
struct UntilEnd {
    payload: Payload,
    phase: Option<ConnectionPhase>,
}

impl Stream for UntilEnd {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = Pin::new(&mut self.payload).poll_next(cx);
        if matches!(next, Poll::Ready(None)) {
            if let Some(phase) = self.phase.take() {
                phase.request_received();
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn slots_are_capped_per_address_and_forgotten_at_zero() {
        let slots = Arc::new(ClientSlots::new(2, TrustedProxies::default()));
        let a = slots.take(ip("192.0.2.1")).unwrap();
        let b = slots.take(ip("192.0.2.1")).unwrap();
        assert!(slots.take(ip("192.0.2.1")).is_err());
        assert!(slots.take(ip("192.0.2.2")).unwrap().is_some());
        drop(a);
        assert_eq!(slots.held(ip("192.0.2.1")), 1);
        let c = slots.take(ip("192.0.2.1")).unwrap();
        drop((b, c));
        assert_eq!(slots.held(ip("192.0.2.1")), 0);
        assert!(slots.open.is_empty(), "no entry outlives its connections");
    }

    #[test]
    fn ipv6_counts_per_64_and_trusted_proxies_are_not_counted() {
        let slots = Arc::new(ClientSlots::new(
            1,
            TrustedProxies::parse("10.0.0.0/8").unwrap(),
        ));
        let _held = slots.take(ip("2001:db8:1:2::1")).unwrap();
        assert!(slots.take(ip("2001:db8:1:2:ffff::9")).is_err());
        assert!(slots.take(ip("2001:db8:1:3::1")).is_ok());
        let proxied: Vec<_> = (0..5)
            .map(|_| slots.take(ip("10.1.2.3")).unwrap())
            .collect();
        assert!(proxied.iter().all(Option::is_none));
        assert!(slots.take(ip("::ffff:10.1.2.3")).unwrap().is_none());
    }
}
