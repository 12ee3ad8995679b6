//! From what ssh printed when it exited to a typed [`SshTunnelError`].
//!
//! Only ssh's own connect, login, host-key and forward-setup lines count. A tunnel that ran for
//! a while also printed channel lines ("channel 3: open failed: connect failed: Connection
//! refused" when the gateway was down, or a "Permission denied" from the far side); those say
//! nothing about why ssh itself ended and must never turn an exit into, say, a terminal login
//! failure. Each ssh process has its own stderr buffer, so lines of earlier runs never count.

use super::config::SshTunnelConfig;
use super::error::SshTunnelError;

/// The lines ssh printed about itself: not about a channel (`channel N: …`,
/// `connect_to …`), trimmed, non-empty.
fn own_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !is_channel_line(l))
        .collect()
}

/// `channel 3: open failed: …`, `connect_to 127.0.0.1 port 18789: failed.`
fn is_channel_line(line: &str) -> bool {
    if line.starts_with("connect_to ") {
        return true;
    }
    let Some(rest) = line.strip_prefix("channel ") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest.as_bytes().get(digits) == Some(&b':')
}

/// The first line for which `f` holds.
fn find<'a>(lines: &[&'a str], f: impl Fn(&str) -> bool) -> Option<&'a str> {
    lines.iter().copied().find(|l| f(l))
}

/// `ssh: connect to host H port P: <reason>`: the TCP connect to sshd failed.
fn connect_failure<'a>(lines: &[&'a str], reason: &str) -> Option<&'a str> {
    find(lines, |l| {
        l.starts_with("ssh: connect to host ") && l.ends_with(reason)
    })
}

/// `user@host: Permission denied (publickey).` (or without the login, older versions): the
/// server refused every key. Never a channel's or a remote program's "Permission denied".
fn is_auth_failure(line: &str) -> bool {
    let Some(at) = line.find("Permission denied (") else {
        return false;
    };
    let prefix = &line[..at];
    let login_prefix = prefix.is_empty()
        || (prefix.ends_with(": ") && !prefix.trim_end_matches(": ").contains(char::is_whitespace));
    login_prefix && line.trim_end_matches('.').ends_with(')')
}

/// Classifies an exited ssh by its stderr (OpenSSH's messages, checked most specific first).
pub fn classify_exit(config: &SshTunnelConfig, status: &str, stderr: &str) -> SshTunnelError {
    let lines = own_lines(stderr);
    let target = &config.target;
    let host = target.host().to_string();
    let port = target.port_or_default();
    let known_hosts = config.known_hosts_display();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    if has("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || find(&lines, |l| {
            l.starts_with("Host key for ") && l.contains(" has changed")
        })
        .is_some()
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
    let unknown_key = find(&lines, |l| {
        l.starts_with("No ") && l.contains("host key is known for") && l.contains("strict checking")
    });
    if unknown_key.is_some() || has("Host key verification failed") {
        let detail = unknown_key
            .or_else(|| lines.last().copied())
            .unwrap_or_default()
            .to_string();
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
    if let Some(detail) = find(&lines, |l| {
        l.starts_with("Load key ")
            && (l.ends_with("bad permissions") || l.ends_with("invalid format"))
    })
    .or_else(|| find(&lines, |l| l.contains("UNPROTECTED PRIVATE KEY FILE")))
    {
        return SshTunnelError::IdentityRejected {
            detail: detail.to_string(),
        };
    }
    if let Some(detail) = find(&lines, is_auth_failure) {
        return SshTunnelError::AuthFailed {
            detail: detail.to_string(),
        };
    }
    if let Some(detail) = find(&lines, |l| {
        l.starts_with("Could not request local forwarding")
            || l.starts_with("unix_listener: ")
            || (l.starts_with("bind ") && l.ends_with("Address already in use"))
            || l.contains("forwarding failed")
    }) {
        return SshTunnelError::ForwardFailed {
            detail: detail.to_string(),
        };
    }
    if connect_failure(&lines, "Connection refused").is_some() {
        return SshTunnelError::ConnectionRefused { host, port };
    }
    if let Some(detail) = connect_failure(&lines, "timed out").or_else(|| {
        find(&lines, |l| {
            l.starts_with("Connection timed out during banner exchange")
                || (l.starts_with("Connection to ") && l.ends_with(" timed out"))
        })
    }) {
        return SshTunnelError::ConnectTimeout {
            host,
            port,
            detail: detail.to_string(),
        };
    }
    if let Some(detail) = find(&lines, |l| l.starts_with("ssh: Could not resolve hostname")) {
        return SshTunnelError::UnknownHost {
            host,
            detail: detail.to_string(),
        };
    }
    if let Some(detail) = connect_failure(&lines, "No route to host")
        .or_else(|| connect_failure(&lines, "Network is unreachable"))
    {
        return SshTunnelError::Unreachable {
            host,
            detail: detail.to_string(),
        };
    }
    SshTunnelError::Exited {
        status: status.to_string(),
        detail: lines.last().copied().unwrap_or_default().to_string(),
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
        classify_exit(&config(target), "exit status: 255", stderr)
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
        assert!(m.contains("Check the key before trusting it"), "{m}");
        // The bare summary line alone (older versions) is the same case.
        let mut c = config("u@gw");
        c.known_hosts = Some(PathBuf::from("/k"));
        let e = classify_exit(&c, "exit status: 255", "Host key verification failed.\n");
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
        let e = classify_exit(&c, "exit status: 255", stderr);
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
            "unix_listener: cannot bind to path /tmp/clawlet-ssh-1/gw.sock: Permission denied\n\
             Could not request local forwarding.\n",
        );
        assert!(matches!(e, SshTunnelError::ForwardFailed { .. }), "{e:?}");
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
        let e = classify_exit(&config("gw"), "signal: 9 (SIGKILL)", "");
        assert!(matches!(e, SshTunnelError::Exited { .. }), "{e:?}");
        assert!(!e.is_terminal());
        assert_eq!(e.to_string(), "ssh exited (signal: 9 (SIGKILL))");
        let e = classify("gw", "Connection to 10.77.0.1 closed by remote host.\n");
        assert_eq!(
            e.to_string(),
            "ssh exited (exit status: 255): Connection to 10.77.0.1 closed by remote host."
        );
    }

    #[test]
    fn the_unknown_key_fix_checks_the_fingerprint_before_appending() {
        let m = classify("gw", "Host key verification failed.\n").to_string();
        let check = m.find("ssh-keyscan -p 22 gw | ssh-keygen -lf -").expect(&m);
        let server = m
            .find("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub")
            .expect(&m);
        let append = m
            .find("ssh-keyscan -p 22 gw >> ~/.ssh/known_hosts")
            .expect(&m);
        assert!(check < append && server < append, "{m}");
    }

    #[test]
    fn channel_lines_never_classify_an_exit() {
        // A tunnel that ran for hours while the gateway was down at times, then lost its link.
        let channels = "channel 2: open failed: connect failed: Connection refused\n\
channel 3: open failed: administratively prohibited: open failed\n\
channel 4: open failed: connect failed: Permission denied (publickey)\n\
connect_to 127.0.0.1 port 18789: failed.\n\
channel 5: open failed: connect failed: Connection timed out\n";
        let e = classify(
            "root@gw",
            &format!("{channels}Timeout, server gw not responding.\n"),
        );
        assert!(matches!(e, SshTunnelError::Exited { .. }), "{e:?}");
        assert!(!e.is_terminal());
        assert!(
            e.to_string()
                .ends_with("Timeout, server gw not responding."),
            "{e}"
        );
        let e = classify_exit(&config("root@gw"), "signal: 9 (SIGKILL)", channels);
        assert!(matches!(e, SshTunnelError::Exited { .. }), "{e:?}");
        assert_eq!(e.to_string(), "ssh exited (signal: 9 (SIGKILL))");
        // ssh's own lines still count among channel lines.
        let e = classify(
            "root@gw",
            &format!("{channels}ssh: connect to host gw port 22: Connection refused\n"),
        );
        assert!(
            matches!(e, SshTunnelError::ConnectionRefused { .. }),
            "{e:?}"
        );
        let e = classify(
            "root@gw",
            &format!("{channels}root@gw: Permission denied (publickey).\n"),
        );
        assert!(matches!(e, SshTunnelError::AuthFailed { .. }), "{e:?}");
        // A remote "Permission denied" that is not the login's is not a login failure.
        let e = classify("root@gw", "sh: 1: /x: Permission denied\n");
        assert!(matches!(e, SshTunnelError::Exited { .. }), "{e:?}");
        let e = classify("root@gw", "Permission denied (publickey,password).\n");
        assert!(matches!(e, SshTunnelError::AuthFailed { .. }), "{e:?}");
    }
}
