//! From what ssh printed when it exited to a typed [`SshTunnelError`].

use super::config::SshTunnelConfig;
use super::error::SshTunnelError;

/// The last non-empty line ssh printed (its summary), trimmed.
fn last_line(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// The first line containing `needle`, trimmed.
fn line_with(stderr: &str, needle: &str) -> Option<String> {
    stderr
        .lines()
        .find(|l| l.contains(needle))
        .map(|l| l.trim().to_string())
}

/// Classifies an exited ssh by its stderr (OpenSSH's messages, checked most specific first).
pub fn classify_exit(
    config: &SshTunnelConfig,
    local_port: u16,
    status: &str,
    stderr: &str,
) -> SshTunnelError {
    let target = &config.target;
    let host = target.host().to_string();
    let port = target.port_or_default();
    let known_hosts = config.known_hosts_display();
    if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || (stderr.contains("Host key for") && stderr.contains("has changed"))
    {
        let file_flag = match &config.known_hosts {
            Some(path) => format!(" -f '{}'", path.display()),
            None => String::new(),
        };
        return SshTunnelError::HostKeyChanged {
            known_hosts_name: target.known_hosts_name(),
            known_hosts,
            file_flag,
        };
    }
    if stderr.contains("Host key verification failed")
        || (stderr.contains("host key is known for") && stderr.contains("strict checking"))
    {
        let detail =
            line_with(stderr, "host key is known for").unwrap_or_else(|| last_line(stderr));
        let mut login = match &config.known_hosts {
            Some(path) => format!("-o UserKnownHostsFile='{}' ", path.display()),
            None => String::new(),
        };
        if let Some(p) = target.port().filter(|p| *p != 22) {
            login.push_str(&format!("-p {p} "));
        }
        login.push_str(&target.destination());
        return SshTunnelError::HostKeyUnknown {
            host,
            port,
            known_hosts_name: target.known_hosts_name(),
            login,
            known_hosts,
            detail,
        };
    }
    if let Some(detail) = line_with(stderr, "bad permissions")
        .or_else(|| line_with(stderr, "UNPROTECTED PRIVATE KEY FILE"))
        .or_else(|| line_with(stderr, "invalid format"))
    {
        return SshTunnelError::IdentityRejected { detail };
    }
    if let Some(detail) = line_with(stderr, "Permission denied") {
        return SshTunnelError::AuthFailed { detail };
    }
    if let Some(detail) =
        line_with(stderr, "Address already in use").or_else(|| line_with(stderr, "cannot listen"))
    {
        return SshTunnelError::LocalPortInUse {
            port: local_port,
            detail,
        };
    }
    if let Some(detail) = line_with(stderr, "Could not request local forwarding")
        .or_else(|| line_with(stderr, "forwarding failed"))
    {
        return SshTunnelError::ForwardFailed { detail };
    }
    if stderr.contains("Connection refused") {
        return SshTunnelError::ConnectionRefused { host, port };
    }
    if let Some(detail) = line_with(stderr, "timed out") {
        return SshTunnelError::ConnectTimeout { host, port, detail };
    }
    if let Some(detail) = line_with(stderr, "Could not resolve hostname") {
        return SshTunnelError::UnknownHost { host, detail };
    }
    if let Some(detail) = line_with(stderr, "No route to host")
        .or_else(|| line_with(stderr, "Network is unreachable"))
    {
        return SshTunnelError::Unreachable { host, detail };
    }
    SshTunnelError::Exited {
        status: status.to_string(),
        detail: last_line(stderr),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::path::PathBuf;

    use super::*;
    use crate::ssh_tunnel::SshTarget;

    fn config(target: &str) -> SshTunnelConfig {
        SshTunnelConfig::new(SshTarget::parse(target).unwrap())
    }

    fn classify(target: &str, stderr: &str) -> SshTunnelError {
        classify_exit(&config(target), 40112, "exit status: 255", stderr)
    }

    // The messages below are what OpenSSH 9.2p1 (Debian 12) printed for each case.

    #[test]
    fn unknown_host_key_names_known_hosts_and_keyscan() {
        let e = classify(
            "root@127.0.0.1:22722",
            "No ED25519 host key is known for [127.0.0.1]:22722 and you have requested strict \
             checking.\r\nHost key verification failed.\r\n",
        );
        assert!(matches!(e, SshTunnelError::HostKeyUnknown { .. }), "{e:?}");
        assert!(e.is_terminal());
        let m = e.to_string();
        assert!(m.contains("known_hosts"), "{m}");
        assert!(
            m.contains("ssh-keyscan -p 22722 127.0.0.1 >> ~/.ssh/known_hosts"),
            "{m}"
        );
        assert!(m.contains("ssh -p 22722 root@127.0.0.1"), "{m}");
        assert!(m.contains("Verify"), "{m}");
        // The bare summary line alone (older versions) is the same case.
        let mut c = config("u@gw");
        c.known_hosts = Some(PathBuf::from("/k"));
        let e = classify_exit(&c, 1, "exit status: 255", "Host key verification failed.\n");
        let m = e.to_string();
        assert!(m.contains("ssh-keyscan -p 22 gw >> /k"), "{m}");
        assert!(m.contains("ssh -o UserKnownHostsFile='/k' u@gw"), "{m}");
        let e = classify("gw", "Host key verification failed.\n");
        assert!(matches!(e, SshTunnelError::HostKeyUnknown { .. }));
        assert!(e.to_string().contains("ssh-keyscan -p 22 gw"), "{e}");
    }

    #[test]
    fn changed_host_key_names_ssh_keygen_r() {
        let stderr = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n\
Someone could be eavesdropping on you right now (man-in-the-middle attack)!\n\
It is also possible that a host key has just been changed.\n\
The fingerprint for the ED25519 key sent by the remote host is\n\
SHA256:OkVbCvHBso9MbksCw0iC6eekgdK38ustYc9getRdxqM.\n\
Please contact your system administrator.\n\
Add correct host key in /tmp/kh to get rid of this message.\n\
Offending ED25519 key in /tmp/kh:1\n\
  remove with:\n\
  ssh-keygen -f \"/tmp/kh\" -R \"[127.0.0.1]:22722\"\n\
Host key for [127.0.0.1]:22722 has changed and you have requested strict checking.\n\
Host key verification failed.\n";
        let mut c = config("root@127.0.0.1:22722");
        c.known_hosts = Some(PathBuf::from("/tmp/kh"));
        let e = classify_exit(&c, 1, "exit status: 255", stderr);
        assert!(matches!(e, SshTunnelError::HostKeyChanged { .. }), "{e:?}");
        assert!(e.is_terminal());
        let m = e.to_string();
        assert!(m.contains("CHANGED") && m.contains("/tmp/kh"), "{m}");
        assert!(
            m.contains("ssh-keygen -R '[127.0.0.1]:22722' -f '/tmp/kh'"),
            "{m}"
        );
        let e = classify("gw", stderr);
        assert!(e.to_string().contains("ssh-keygen -R 'gw'` and"), "{e}");
    }

    #[test]
    fn auth_and_identity_failures_are_terminal() {
        let e = classify(
            "root@127.0.0.1",
            "root@127.0.0.1: Permission denied (publickey).\n",
        );
        assert!(matches!(e, SshTunnelError::AuthFailed { .. }), "{e:?}");
        assert!(e.is_terminal());
        assert!(e.to_string().contains("authorized_keys"), "{e}");
        let e = classify(
            "root@127.0.0.1",
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @\n\
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
Permissions 0644 for 'ck_open' are too open.\n\
It is required that your private key files are NOT accessible by others.\n\
This private key will be ignored.\n\
Load key \"ck_open\": bad permissions\n\
root@127.0.0.1: Permission denied (publickey).\n",
        );
        assert!(
            matches!(e, SshTunnelError::IdentityRejected { .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("chmod 600"), "{e}");
        assert!(e.is_terminal());
    }

    #[test]
    fn transient_failures_retry() {
        let e = classify(
            "root@127.0.0.1:22799",
            "ssh: connect to host 127.0.0.1 port 22799: Connection refused\n",
        );
        assert!(matches!(
            e,
            SshTunnelError::ConnectionRefused { port: 22799, .. }
        ));
        assert!(!e.is_terminal());
        let e = classify(
            "root@127.0.0.1",
            "bind [127.0.0.1]:40112: Address already in use\n\
             channel_setup_fwd_listener_tcpip: cannot listen to port: 40112\n\
             Could not request local forwarding.\n",
        );
        assert!(
            matches!(e, SshTunnelError::LocalPortInUse { port: 40112, .. }),
            "{e:?}"
        );
        assert!(!e.is_terminal());
        let e = classify(
            "gw",
            "ssh: connect to host 10.77.0.1 port 22: Connection timed out\n",
        );
        assert!(matches!(e, SshTunnelError::ConnectTimeout { .. }), "{e:?}");
        let e = classify(
            "gw",
            "Connection timed out during banner exchange\nConnection to 10.77.0.1 port 22 timed out\n",
        );
        assert!(matches!(e, SshTunnelError::ConnectTimeout { .. }), "{e:?}");
        let e = classify(
            "root@nonexistent.invalid",
            "ssh: Could not resolve hostname nonexistent.invalid: Name or service not known\n",
        );
        assert!(matches!(e, SshTunnelError::UnknownHost { .. }), "{e:?}");
        assert!(!e.is_terminal());
        let e = classify(
            "gw",
            "ssh: connect to host 10.77.0.1 port 22: No route to host\n",
        );
        assert!(matches!(e, SshTunnelError::Unreachable { .. }), "{e:?}");
        let e = classify_exit(&config("gw"), 1, "signal: 9 (SIGKILL)", "");
        assert!(matches!(e, SshTunnelError::Exited { .. }), "{e:?}");
        assert!(!e.is_terminal());
        assert_eq!(e.to_string(), "ssh exited (signal: 9 (SIGKILL))");
        let e = classify("gw", "Connection to 10.77.0.1 closed by remote host.\n");
        assert_eq!(
            e.to_string(),
            "ssh exited (exit status: 255): Connection to 10.77.0.1 closed by remote host."
        );
    }
}
