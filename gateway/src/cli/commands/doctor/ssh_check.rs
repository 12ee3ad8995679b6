//! The SSH target of a managed tunnel (`gateway.remote.transport: "ssh"`): sshd answers at
//! `gateway.remote.sshTarget` within a bounded time, and the identity file is private.

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::Value;

use super::finding::Finding;

const CHECK: &str = "ssh";
/// How long a TCP connect to the SSH target may take.
pub const SSH_TIMEOUT: Duration = Duration::from_secs(3);

/// `host` and `port` of `user@host[:port]` (also `[v6]:port`), default port 22.
pub fn parse_ssh_target(target: &str) -> Option<(String, u16)> {
    let host_port = target.rsplit_once('@').map_or(target, |(_, h)| h).trim();
    if host_port.is_empty() {
        return None;
    }
    if let Some(rest) = host_port.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => 22,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match host_port.split_once(':') {
        Some((host, port)) if !host.contains(':') && !port.contains(':') => {
            Some((host.to_string(), port.parse().ok()?))
        }
        Some(_) => Some((host_port.to_string(), 22)),
        None => Some((host_port.to_string(), 22)),
    }
}

/// The SSH findings from the raw `gateway.remote` object (empty unless transport is ssh).
pub fn ssh_findings(remote: Option<&Value>, relative_to: impl Fn(&str) -> String) -> Vec<Finding> {
    let Some(remote) = remote else {
        return Vec::new();
    };
    if remote.get("transport").and_then(Value::as_str) != Some("ssh") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let Some(target) = remote.get("sshTarget").and_then(Value::as_str) else {
        out.push(Finding::error(
            CHECK,
            "gateway.remote.transport is ssh but gateway.remote.sshTarget is not set",
            "Set it: `clawlet config set gateway.remote.sshTarget user@gateway-host`.",
        ));
        return out;
    };
    match parse_ssh_target(target) {
        None => out.push(Finding::error(
            CHECK,
            format!("gateway.remote.sshTarget {target:?} is not user@host[:port]"),
            "Set it like `user@gateway-host` or `user@10.0.0.5:2222`.",
        )),
        Some((host, port)) => out.push(reach(&host, port)),
    }
    if let Some(identity) = remote.get("sshIdentity").and_then(Value::as_str) {
        let path = relative_to(identity);
        match std::fs::metadata(&path) {
            Err(e) => out.push(Finding::error(
                CHECK,
                format!("gateway.remote.sshIdentity {path}: {e}"),
                "Point it at the private key file (e.g. ~/.ssh/id_ed25519).",
            )),
            Ok(m) if m.permissions().mode() & 0o077 != 0 => out.push(Finding::error(
                CHECK,
                format!(
                    "the SSH key {path} is open to other users (mode {:o}); ssh refuses it",
                    m.permissions().mode() & 0o777
                ),
                format!("chmod 600 {path}"),
            )),
            Ok(_) => out.push(Finding::ok(CHECK, format!("SSH key {path} is private"))),
        }
    }
    out
}

fn reach(host: &str, port: u16) -> Finding {
    let addrs: Vec<_> = match (host, port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            return Finding::error(
                CHECK,
                format!("cannot resolve the SSH host {host}: {e}"),
                "Check gateway.remote.sshTarget and this host's DNS.",
            );
        }
    };
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, SSH_TIMEOUT) {
            Ok(mut stream) => {
                let _ = stream.set_read_timeout(Some(SSH_TIMEOUT));
                let mut banner = [0u8; 64];
                let n = stream.read(&mut banner).unwrap_or(0);
                let is_ssh = banner.get(..n).is_some_and(|b| b.starts_with(b"SSH-"));
                return if is_ssh {
                    Finding::ok(CHECK, format!("sshd answers at {host}:{port}"))
                } else {
                    Finding::warn(
                        CHECK,
                        format!("{host}:{port} accepts connections but sent no SSH banner"),
                        "Check the port in gateway.remote.sshTarget (user@host:port).",
                    )
                };
            }
            Err(e) => last = e.to_string(),
        }
    }
    Finding::error(
        CHECK,
        format!(
            "cannot reach the SSH target {host}:{port} within {}s: {last}",
            SSH_TIMEOUT.as_secs()
        ),
        "Check that sshd runs on the gateway host and the address/port are right (`ssh -v user@host`).",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cli::commands::doctor::finding::Level;
    use serde_json::json;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn targets() {
        assert_eq!(parse_ssh_target("u@gw"), Some(("gw".into(), 22)));
        assert_eq!(
            parse_ssh_target("u@10.0.0.5:2222"),
            Some(("10.0.0.5".into(), 2222))
        );
        assert_eq!(parse_ssh_target("u@[::1]:2200"), Some(("::1".into(), 2200)));
        assert_eq!(parse_ssh_target("gw"), Some(("gw".into(), 22)));
        assert_eq!(parse_ssh_target("u@gw:x"), None);
        assert_eq!(parse_ssh_target("u@"), None);
    }

    #[test]
    fn reachability() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").unwrap();
        });
        let remote = json!({"transport": "ssh", "sshTarget": format!("u@127.0.0.1:{port}")});
        let f = ssh_findings(Some(&remote), |p| p.to_string());
        assert_eq!(f[0].level, Level::Ok, "{f:?}");
        server.join().unwrap();

        // Port 0 can never be connected to: a deterministic failure.
        let remote = json!({"transport": "ssh", "sshTarget": "u@127.0.0.1:0"});
        let f = ssh_findings(Some(&remote), |p| p.to_string());
        assert_eq!(f[0].level, Level::Error, "{f:?}");
        assert!(ssh_findings(Some(&json!({"url": "ws://x"})), |p| p.to_string()).is_empty());
    }
}
