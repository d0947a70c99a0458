//! A client-side deadline under every Postgres connection, so no request hangs on a database
//! that stops answering while its connection stays up.
//!
//! Server-side timeouts cannot fire on a frozen server, and TCP keepalives or `tcp_user_timeout`
//! do not fire either while the peer's kernel keeps acknowledging (a stopped process, some
//! proxies). So the socket itself is wrapped ([`ConPlazo`]): once the client has written bytes, the
//! server must send *something* back within the deadline, else every read fails with `TimedOut`.
//! tokio-postgres then fails every pending query of that connection, closes it, and the pool's
//! recycling (`is_closed`) drops it, so the next request opens a fresh one — no restart needed.
//! An idle connection (nothing written) never times out.
//!
//! The deadline must exceed the longest statement the server may legitimately run silently:
//! [`crate::plataforma::db::PLAZO_RESPUESTA`] is the transactions' `statement_timeout` plus a margin.
//! Limitation: a server that freezes halfway through streaming a response is caught only by the
//! next request's write (or by keepalives on a real partition).
//!
//! [`conectar`] opens the socket itself (TCP with keepalives and `tcp_user_timeout` from the
//! config, or a Unix socket), wraps it, and lets tokio-postgres negotiate TLS on top with
//! `connect_raw`, so the deadline covers plain and TLS connections alike; the connector of
//! [`crate::plataforma::conexion`] calls it for every attempt. `connect_raw` does not implement
//! `target_session_attrs` or `load_balance_hosts`, so the URL parser refuses their non-default
//! values by name.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tokio_postgres::config::Host;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, Connection};

/// Deadline of the functions' connections: the `statement_timeout` of
/// [`crate::plataforma::db::AJUSTES_TRANSACCION`] (10 s) plus a margin, so a silent server gets
/// the request its JSON error (503 while resolving the session, the route's 500 after it)
/// within 15 s.
pub const PLAZO_RESPUESTA: Duration = Duration::from_secs(12);

/// Keepalives and `tcp_user_timeout` for real partitions (a peer that stops acknowledging), as
/// `(key, value)` defaults for what the URL does not set: probes after 30 s idle, every 5 s,
/// 3 lost → closed; data unacknowledged for 15 s → closed.
pub const AJUSTES_SOCKET: &[(&str, &str)] = &[
    ("keepalives", "1"),
    ("keepalives_idle", "30"),
    ("keepalives_interval", "5"),
    ("keepalives_retries", "3"),
    ("tcp_user_timeout", "15000"),
];

/// A TCP or Unix socket.
pub enum Socket {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

macro_rules! por_socket {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Socket::Tcp($s) => $e,
            #[cfg(unix)]
            Socket::Unix($s) => $e,
        }
    };
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        por_socket!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Socket {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        por_socket!(self, s => Pin::new(s).poll_write(cx, b))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        por_socket!(self, s => Pin::new(s).poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        por_socket!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

/// A stream whose reads fail with `TimedOut` when nothing arrives within `plazo` of a write
/// that is still unanswered (any byte read counts as an answer).
pub struct ConPlazo<S> {
    inner: S,
    plazo: Duration,
    vence: Option<Pin<Box<Sleep>>>,
}

impl<S> ConPlazo<S> {
    pub fn new(inner: S, plazo: Duration) -> Self {
        Self {
            inner,
            plazo,
            vence: None,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ConPlazo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let antes = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > antes {
                    this.vence = None;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let vencido = this
                    .vence
                    .as_mut()
                    .is_some_and(|v| v.as_mut().poll(cx).is_ready());
                if vencido {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "Postgres no respondió en {} s: conexión descartada",
                            this.plazo.as_secs()
                        ),
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ConPlazo<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, b);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) && this.vence.is_none() {
            let mut v = Box::pin(tokio::time::sleep(this.plazo));
            // Registers the wake-up, so the connection task polls its read when the deadline
            // passes even if nothing else wakes it.
            let _ = v.as_mut().poll(cx);
            this.vence = Some(v);
        }
        r
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The socket every connection runs on.
pub type SocketConPlazo = ConPlazo<Socket>;

/// Opens the socket of the first host that answers (hosts and `hostaddr`s in order, as libpq),
/// applies keepalives and `tcp_user_timeout` from `config`, wraps it in [`ConPlazo`] and runs the
/// startup (TLS negotiation per `config`'s mode, authentication) over it.
pub async fn conectar<T>(
    config: &Config,
    mut tls: T,
    plazo: Duration,
) -> Result<(Client, Connection<SocketConPlazo, T::Stream>), tokio_postgres::Error>
where
    T: MakeTlsConnect<SocketConPlazo>,
{
    let hosts = config.get_hosts();
    let puertos = config.get_ports();
    let direcciones = config.get_hostaddrs();
    let limite = config.get_connect_timeout().copied();
    let mut ultimo = None;
    let n = hosts.len().max(direcciones.len()).max(1);
    for i in 0..n {
        let puerto = puertos
            .get(i)
            .or_else(|| puertos.first())
            .copied()
            .unwrap_or(5432);
        let nombre = match hosts.get(i) {
            Some(Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(Host::Unix(_)) => String::new(),
            None => direcciones
                .get(i)
                .map(|a| a.to_string())
                .unwrap_or_default(),
        };
        let abrir = abrir_socket(config, hosts.get(i), direcciones.get(i), puerto);
        let socket = match limite {
            Some(t) => match tokio::time::timeout(t, abrir).await {
                Ok(r) => r,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "tiempo de conexión agotado",
                )),
            },
            None => abrir.await,
        };
        let socket = match socket {
            Ok(s) => s,
            Err(e) => {
                ultimo = Some(e);
                continue;
            }
        };
        let conector = tls
            .make_tls_connect(&nombre)
            .map_err(|e| io::Error::other(e.into()));
        let conector = match conector {
            Ok(c) => c,
            Err(e) => return Err(error_io(config, e).await),
        };
        let startup = config.connect_raw(ConPlazo::new(socket, plazo), conector);
        return match limite {
            Some(t) => match tokio::time::timeout(t, startup).await {
                Ok(r) => r,
                Err(_) => Err(error_io(
                    config,
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        "tiempo de conexión agotado durante el inicio de sesión en Postgres",
                    ),
                )
                .await),
            },
            None => startup.await,
        };
    }
    Err(error_io(
        config,
        ultimo.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "DATABASE_URL sin host")
        }),
    )
    .await)
}

/// A `tokio_postgres::Error` carrying `e` (deadpool's `Connect` must return that type, whose
/// constructors are private): the startup is run over a stream that fails with `e` at once.
async fn error_io(config: &Config, e: io::Error) -> tokio_postgres::Error {
    let mut plano = config.clone();
    plano.ssl_mode(tokio_postgres::config::SslMode::Disable);
    match plano
        .connect_raw(Fallido(Some(e)), tokio_postgres::NoTls)
        .await
    {
        Err(e) => e,
        Ok(_) => unreachable!("a stream that fails every call cannot complete a startup"),
    }
}

struct Fallido(Option<io::Error>);

impl Fallido {
    fn error(&mut self) -> io::Error {
        self.0
            .take()
            .unwrap_or_else(|| io::Error::other("conexión fallida"))
    }
}

impl AsyncRead for Fallido {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Err(self.get_mut().error()))
    }
}

impl AsyncWrite for Fallido {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(self.get_mut().error()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Err(self.get_mut().error()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

async fn abrir_socket(
    config: &Config,
    host: Option<&Host>,
    direccion: Option<&std::net::IpAddr>,
    puerto: u16,
) -> io::Result<Socket> {
    #[cfg(unix)]
    if let (Some(Host::Unix(dir)), None) = (host, direccion) {
        let s = tokio::net::UnixStream::connect(dir.join(format!(".s.PGSQL.{puerto}"))).await?;
        return Ok(Socket::Unix(s));
    }
    let s = match (direccion, host) {
        (Some(ip), _) => TcpStream::connect((*ip, puerto)).await?,
        (None, Some(Host::Tcp(h))) => TcpStream::connect((h.as_str(), puerto)).await?,
        _ => TcpStream::connect(("localhost", puerto)).await?,
    };
    s.set_nodelay(true)?;
    let sock = socket2::SockRef::from(&s);
    if config.get_keepalives() {
        let mut k = socket2::TcpKeepalive::new().with_time(config.get_keepalives_idle());
        if let Some(i) = config.get_keepalives_interval() {
            k = k.with_interval(i);
        }
        #[cfg(not(any(target_os = "windows", target_os = "openbsd")))]
        if let Some(r) = config.get_keepalives_retries() {
            k = k.with_retries(r);
        }
        sock.set_tcp_keepalive(&k)?;
    }
    #[cfg(target_os = "linux")]
    if let Some(t) = config.get_tcp_user_timeout() {
        sock.set_tcp_user_timeout(Some(*t))?;
    }
    Ok(Socket::Tcp(s))
}
