//! Choosing the tunnel's local port.

use std::net::{Ipv4Addr, TcpListener};

use super::error::SshTunnelError;

/// A loopback port free right now: bind `127.0.0.1:0`, read the port, release it for ssh.
/// Another program could take it before ssh binds it; ssh then exits (`ExitOnForwardFailure`)
/// with [`SshTunnelError::LocalPortInUse`].
pub fn pick_local_port() -> Result<u16, SshTunnelError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(SshTunnelError::NoLocalPort)?;
    let port = listener
        .local_addr()
        .map_err(SshTunnelError::NoLocalPort)?
        .port();
    drop(listener);
    Ok(port)
}
