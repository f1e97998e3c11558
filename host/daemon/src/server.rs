//! Serving the API over TLS: accept, handshake, then HTTP/1.1 or HTTP/2
//! on hyper, one task per connection.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Time a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long, and how much, a closing HTTP/1.1 connection keeps reading.
const LINGER_IDLE: Duration = Duration::from_secs(2);
const LINGER_BYTES: u64 = 256 << 20;

/// A lingering close, as nginx does it. When HTTP/1.1 answers a request
/// before reading its body (a 401 or 413 for an upload, say; the answer
/// says `Connection: close`, see `unread.rs`), hyper ends the connection;
/// closing a socket with unread input makes the kernel send a reset, and a
/// client still sending would lose the answer. So the rest of what the
/// client sends is read and dropped (bounded in time and bytes) before the
/// TLS session is closed properly.
async fn linger<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut stream: S, peer: SocketAddr) {
    let mut buf = vec![0u8; 64 << 10];
    let mut drained = 0u64;
    while drained < LINGER_BYTES {
        match tokio::time::timeout(LINGER_IDLE, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => drained += n as u64,
            _ => break,
        }
    }
    if drained > 0 {
        tracing::debug!(%peer, drained, "dropped a request body nobody read");
    }
    let _ = stream.shutdown().await;
}

/// Serves `app` on `listener` over plain HTTP (HTTP/1.1, or HTTP/2 with
/// prior knowledge), for as long as the process runs. Only the streams
/// are ever served this way.
pub async fn serve_plain(listener: TcpListener, app: Router) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = app.map_request(move |mut r: hyper::Request<hyper::body::Incoming>| {
                r.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                r
            });
            let service = TowerToHyperService::new(service);
            if let Err(e) = Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tcp), service).await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait, do not spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "TLS handshake failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let service = app.map_request(move |mut r: hyper::Request<hyper::body::Incoming>| {
                r.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                r
            });
            let service = TowerToHyperService::new(service);
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            if h2 {
                // HTTP/2 ends a stream whose body was not read with a clean
                // RST_STREAM after the answer; nothing more to do.
                if let Err(e) = Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service).await
                {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
                return;
            }
            match http1::Builder::new().serve_connection(TokioIo::new(stream), service).without_shutdown().await {
                Ok(parts) => linger(parts.io.into_inner(), peer).await,
                Err(e) => tracing::debug!(%peer, "connection ended: {e}"),
            }
        });
    }
}
