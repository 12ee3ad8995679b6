//! The tunnel's local end: clawlet's own loopback listener, relaying each connection to ssh's
//! Unix socket.
//!
//! ssh never listens on a TCP port: a port handed from us to ssh (bind, release, let ssh bind
//! it) leaves windows — before ssh binds it and whenever ssh is down between restarts — in
//! which any local process can take the port and receive the node's token, device token and
//! signed connect. Instead we bind `127.0.0.1:0` once and keep that listener for the tunnel's
//! whole life (across ssh restarts), and ssh forwards from a socket in a private 0700
//! directory. While ssh is down an accepted connection is closed at once (the node backs off).

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::task::{JoinHandle, JoinSet};

use super::error::SshTunnelError;
use super::private_dir::PrivateDir;

/// Pause after a failed accept (e.g. out of file descriptors) before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// A loopback listener for the tunnel's whole life: `127.0.0.1:0`, bound once.
pub fn bind_local() -> Result<StdListener, SshTunnelError> {
    StdListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).map_err(SshTunnelError::NoLocalPort)
}

/// The listener and its relay task, plus the private directory of ssh's socket. Dropping it
/// closes the port, ends every relayed connection and removes the directory.
#[derive(Debug)]
pub struct Relay {
    port: u16,
    socket: PathBuf,
    task: JoinHandle<()>,
    // Removed after the task is aborted (Drop::drop runs before the fields drop).
    _dir: PrivateDir,
}

impl Relay {
    /// Starts relaying `listener` (from [`bind_local`]) to `<private dir>/gw.sock`. Must run
    /// inside a tokio runtime.
    pub fn start(listener: StdListener) -> Result<Relay, SshTunnelError> {
        let port = listener
            .local_addr()
            .map_err(SshTunnelError::NoLocalPort)?
            .port();
        listener
            .set_nonblocking(true)
            .map_err(SshTunnelError::NoLocalPort)?;
        let listener = TcpListener::from_std(listener).map_err(SshTunnelError::NoLocalPort)?;
        let dir = PrivateDir::create().map_err(SshTunnelError::SocketDir)?;
        let socket = dir.socket();
        let task = tokio::spawn(relay(listener, socket.clone()));
        Ok(Relay {
            port,
            socket,
            task,
            _dir: dir,
        })
    }

    /// The local port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// ssh's forward socket (`-L <socket>:127.0.0.1:<remotePort>`).
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Aborting drops the listener and the JoinSet, which aborts every relayed connection.
        self.task.abort();
    }
}

async fn relay(listener: TcpListener, socket: PathBuf) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    connections.spawn(pipe(tcp, socket.clone()));
                }
                Err(e) => {
                    tracing::debug!("SSH tunnel: accept failed: {e}");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One connection: through ssh's socket, or closed at once while ssh is not listening.
async fn pipe(mut tcp: TcpStream, socket: PathBuf) {
    match UnixStream::connect(&socket).await {
        Ok(mut unix) => {
            let _ = tokio::io::copy_bidirectional(&mut tcp, &mut unix).await;
        }
        Err(e) => tracing::debug!("SSH tunnel down, connection closed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixListener;

    use super::*;

    #[tokio::test]
    async fn relays_to_the_socket_and_closes_while_it_is_down() {
        let relay = Relay::start(bind_local().unwrap()).unwrap();
        let port = relay.port();
        // Down: accepted, then closed at once.
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(tcp.read(&mut buf).await.unwrap(), 0);

        // Up: bytes go both ways.
        let unix = UnixListener::bind(relay.socket()).unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = unix.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        tcp.write_all(b"ping").await.unwrap();
        tcp.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");

        let dir = relay.socket().parent().unwrap().to_path_buf();
        drop(relay);
        assert!(!dir.exists(), "the private directory goes with the relay");
        // The aborted task drops the listener when the runtime next runs it (bounded wait).
        let mut closed = false;
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(closed, "the port closes with the relay");
    }
}
