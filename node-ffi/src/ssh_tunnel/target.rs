//! The SSH destination of a managed tunnel: `user@host[:port]`, `host`, `[v6]:port`.

use std::fmt;

/// Why an SSH target does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshTargetError {
    /// Nothing was given.
    #[error("the SSH target is empty; expected user@host[:port]")]
    Empty,
    /// `@host` with nothing before the `@`.
    #[error("the SSH target {0:?} has an empty user name before '@'; expected user@host[:port]")]
    EmptyUser(String),
    /// No host (`user@`, `:22`).
    #[error("the SSH target {0:?} has no host; expected user@host[:port]")]
    EmptyHost(String),
    /// `[::1` without the closing bracket, or text after `]` that is not `:port`.
    #[error("the SSH target {0:?} has a malformed [IPv6] host; expected user@[2001:db8::1]:port")]
    Brackets(String),
    /// The port is not a number from 1 to 65535.
    #[error("the SSH target {target:?} has an invalid port {port:?}; expected 1-65535")]
    Port {
        /// The whole target.
        target: String,
        /// The text after the last `:`.
        port: String,
    },
    /// Whitespace, control characters, or a user/host starting with `-` (it would be read as an
    /// ssh option).
    #[error(
        "the SSH target {0:?} contains a character ssh would misread (whitespace, a control \
         character, or a leading '-'); expected user@host[:port]"
    )]
    Character(String),
}

/// A parsed `user@host[:port]`. The host is kept without brackets (ssh takes `user@::1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SshTarget {
    user: Option<String>,
    host: String,
    port: Option<u16>,
}

impl SshTarget {
    /// Parses `user@host[:port]`, `host`, `host:port`, `[v6]:port`, `user@[v6]` or a bare
    /// IPv6 address (`2001:db8::1`, no port).
    pub fn parse(input: &str) -> Result<SshTarget, SshTargetError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(SshTargetError::Empty);
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(SshTargetError::Character(text.into()));
        }
        let (user, rest) = match text.rsplit_once('@') {
            Some((user, rest)) => (Some(user), rest),
            None => (None, text),
        };
        if user == Some("") {
            return Err(SshTargetError::EmptyUser(text.into()));
        }
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (host, after) = inner
                .split_once(']')
                .ok_or_else(|| SshTargetError::Brackets(text.into()))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| SshTargetError::Brackets(text.into()))?,
                ),
            };
            if host.contains(['[', ']']) {
                return Err(SshTargetError::Brackets(text.into()));
            }
            (host, port)
        } else if rest.matches(':').count() > 1 {
            // A bare IPv6 address: its colons are not a port separator.
            (rest, None)
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(SshTargetError::EmptyHost(text.into()));
        }
        if host.contains(['[', ']', '@', '/']) {
            return Err(SshTargetError::Brackets(text.into()));
        }
        if host.starts_with('-') || user.is_some_and(|u| u.starts_with('-')) {
            return Err(SshTargetError::Character(text.into()));
        }
        let port = port
            .map(|p| match p.parse::<u16>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(SshTargetError::Port {
                    target: text.into(),
                    port: p.into(),
                }),
            })
            .transpose()?;
        Ok(SshTarget {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
        })
    }

    /// The user, if one was given (else ssh uses its config or the local user name).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The host name or address, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, if one was given (else ssh uses its config or 22).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port ssh will use unless its own config says otherwise.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(22)
    }

    /// The destination argument for ssh: `user@host` or `host` (no port, no brackets).
    pub fn destination(&self) -> String {
        match &self.user {
            Some(user) => format!("{user}@{}", self.host),
            None => self.host.clone(),
        }
    }

    /// How `known_hosts` names this host: `host` on port 22, `[host]:port` otherwise.
    pub fn known_hosts_name(&self) -> String {
        match self.port {
            Some(port) if port != 22 => format!("[{}]:{port}", self.host),
            _ => self.host.clone(),
        }
    }
}

impl fmt::Display for SshTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn parse(s: &str) -> SshTarget {
        SshTarget::parse(s).unwrap()
    }

    #[test]
    fn user_host_port_forms() {
        let t = parse("pi@gw.example:2222");
        assert_eq!(
            (t.user(), t.host(), t.port()),
            (Some("pi"), "gw.example", Some(2222))
        );
        assert_eq!(t.destination(), "pi@gw.example");
        assert_eq!(t.known_hosts_name(), "[gw.example]:2222");
        assert_eq!(t.to_string(), "pi@gw.example:2222");

        let t = parse(" gw.example ");
        assert_eq!((t.user(), t.host(), t.port()), (None, "gw.example", None));
        assert_eq!(t.destination(), "gw.example");
        assert_eq!(t.port_or_default(), 22);
        assert_eq!(t.known_hosts_name(), "gw.example");

        let t = parse("root@10.77.0.1");
        assert_eq!(t.destination(), "root@10.77.0.1");
        assert_eq!(parse("10.77.0.1:22").known_hosts_name(), "10.77.0.1");
        // A user may contain '@' (ssh splits at the last one).
        assert_eq!(parse("a@b@host").user(), Some("a@b"));
    }

    #[test]
    fn ipv6_forms() {
        let t = parse("me@[2001:db8::1]:2200");
        assert_eq!(
            (t.user(), t.host(), t.port()),
            (Some("me"), "2001:db8::1", Some(2200))
        );
        assert_eq!(t.destination(), "me@2001:db8::1");
        assert_eq!(t.known_hosts_name(), "[2001:db8::1]:2200");
        assert_eq!(t.to_string(), "me@[2001:db8::1]:2200");
        let t = parse("[::1]");
        assert_eq!((t.host(), t.port()), ("::1", None));
        let t = parse("fe80::2");
        assert_eq!((t.host(), t.port()), ("fe80::2", None));
    }

    #[test]
    fn typed_errors() {
        use SshTargetError as E;
        assert_eq!(SshTarget::parse("  "), Err(E::Empty));
        assert!(matches!(SshTarget::parse("@host"), Err(E::EmptyUser(_))));
        assert!(matches!(SshTarget::parse("user@"), Err(E::EmptyHost(_))));
        assert!(matches!(SshTarget::parse(":22"), Err(E::EmptyHost(_))));
        assert!(matches!(SshTarget::parse("[::1"), Err(E::Brackets(_))));
        assert!(matches!(SshTarget::parse("[::1]22"), Err(E::Brackets(_))));
        assert!(matches!(SshTarget::parse("u@h/x"), Err(E::Brackets(_))));
        assert!(matches!(SshTarget::parse("host:0"), Err(E::Port { .. })));
        assert!(matches!(
            SshTarget::parse("host:65536"),
            Err(E::Port { .. })
        ));
        assert!(matches!(SshTarget::parse("host:ssh"), Err(E::Port { .. })));
        assert!(matches!(SshTarget::parse("host:"), Err(E::Port { .. })));
        assert!(matches!(SshTarget::parse("u@h ost"), Err(E::Character(_))));
        assert!(matches!(
            SshTarget::parse("-oProxyCommand=x"),
            Err(E::Character(_))
        ));
        assert!(matches!(SshTarget::parse("-u@host"), Err(E::Character(_))));
        let message = SshTarget::parse("host:99999").unwrap_err().to_string();
        assert!(
            message.contains("99999") && message.contains("1-65535"),
            "{message}"
        );
    }
}
