//! The SSH target of a managed tunnel (`gateway.remote.transport: "ssh"`): the target parses
//! as the tunnel parses it ([`SshTarget::parse`]), sshd answers there within a bounded time,
//! the host key is in the known_hosts file ssh checks (the tunnel runs with
//! `StrictHostKeyChecking=yes`, so a missing key is a refused tunnel), and the identity file is
//! private. Everything here blocks (DNS, connects, `ssh -G`, `ssh-keygen -F`): run it off the
//! async workers.

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use clawlet_node::ssh_tunnel::{SSH_BIN_ENV, SshTarget};
use serde_json::Value;

use super::finding::Finding;

const CHECK: &str = "ssh";
/// How long a TCP connect to the SSH target may take.
pub const SSH_TIMEOUT: Duration = Duration::from_secs(3);

/// The SSH findings from the raw `gateway.remote` object (empty unless transport is ssh).
/// `relative_to` resolves a configured path (`~/…`, relative to the config file).
pub fn ssh_findings(remote: Option<&Value>, relative_to: impl Fn(&str) -> String) -> Vec<Finding> {
    let Some(remote) = remote else {
        return Vec::new();
    };
    if remote.get("transport").and_then(Value::as_str) != Some("ssh") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let Some(raw) = remote.get("sshTarget").and_then(Value::as_str) else {
        out.push(Finding::error(
            CHECK,
            "gateway.remote.transport is ssh but gateway.remote.sshTarget is not set",
            "Set it: `clawlet config set gateway.remote.sshTarget user@gateway-host`.",
        ));
        return out;
    };
    match SshTarget::parse(raw) {
        Err(e) => out.push(Finding::error(
            CHECK,
            format!("gateway.remote.sshTarget: {e}"),
            "Set it like `user@gateway-host` or `user@10.0.0.5:2222`.",
        )),
        Ok(target) => {
            out.push(reach(target.host(), target.port_or_default()));
            let known_hosts = remote
                .get("sshKnownHosts")
                .and_then(Value::as_str)
                .map(|p| PathBuf::from(relative_to(p)));
            // Whether sshd is up or not, a missing host key refuses the tunnel.
            out.push(known_hosts_finding(
                &target,
                known_hosts.as_deref(),
                &ssh_program(),
            ));
        }
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

/// The ssh program the tunnel runs (`CLAWLET_SSH_BIN`, else `ssh` on `PATH`).
fn ssh_program() -> PathBuf {
    std::env::var_os(SSH_BIN_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("ssh"))
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

/// What `ssh -G` says it would use for a target: the known_hosts files and the name the host
/// key is filed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshResolved {
    /// `userknownhostsfile` then `globalknownhostsfile` (ssh expands `~` itself).
    pub files: Vec<PathBuf>,
    /// The known_hosts name: `hostkeyalias`, else `host` on port 22, else `[host]:port`.
    pub name: String,
}

/// Reads `ssh -G` output.
pub fn parse_ssh_g(text: &str) -> Option<SshResolved> {
    let mut files = Vec::new();
    let (mut host, mut port, mut alias) = (None, 22u16, None);
    let mut global = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        match key {
            "hostname" => host = Some(value.trim().to_string()),
            "port" => port = value.trim().parse().ok()?,
            "hostkeyalias" => alias = Some(value.trim().to_string()),
            "userknownhostsfile" => files.extend(value.split_whitespace().map(PathBuf::from)),
            "globalknownhostsfile" => global.extend(value.split_whitespace().map(PathBuf::from)),
            _ => {}
        }
    }
    files.extend(global);
    let host = host?;
    let name = match alias {
        Some(alias) => alias,
        None if port == 22 => host,
        None => format!("[{host}]:{port}"),
    };
    Some(SshResolved { files, name })
}

/// Whether the target's host key is in a known_hosts file ssh reads for it (`ssh -G` with the
/// tunnel's options, then `ssh-keygen -F <name> -f <file>`).
pub fn known_hosts_finding(
    target: &SshTarget,
    known_hosts: Option<&Path>,
    program: &Path,
) -> Finding {
    let mut g = Command::new(program);
    g.arg("-G");
    if let Some(file) = known_hosts {
        let mut option = std::ffi::OsString::from("UserKnownHostsFile=");
        option.push(file.as_os_str());
        g.arg("-o").arg(option);
    }
    if let Some(port) = target.port() {
        g.arg("-p").arg(port.to_string());
    }
    g.arg("--").arg(target.destination());
    let output = match g.stdin(Stdio::null()).stderr(Stdio::null()).output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            return Finding::warn(
                CHECK,
                format!(
                    "cannot check known_hosts: `{} -G` failed ({})",
                    program.display(),
                    o.status
                ),
                "Check your ssh_config (`ssh -G user@host` shows what ssh would use).",
            );
        }
        Err(e) => {
            return Finding::error(
                CHECK,
                format!("cannot run {}: {e}", program.display()),
                "Install the OpenSSH client (`apt install openssh-client`), or set CLAWLET_SSH_BIN.",
            );
        }
    };
    let Some(resolved) = parse_ssh_g(&String::from_utf8_lossy(&output.stdout)) else {
        return Finding::warn(
            CHECK,
            "cannot check known_hosts: `ssh -G` printed no hostname",
            "Check your ssh_config (`ssh -G user@host` shows what ssh would use).",
        );
    };
    let existing: Vec<&PathBuf> = resolved.files.iter().filter(|f| f.exists()).collect();
    for file in &existing {
        match Command::new("ssh-keygen")
            .arg("-F")
            .arg(&resolved.name)
            .arg("-f")
            .arg(file)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
        {
            Ok(o) if o.status.success() && !o.stdout.is_empty() => {
                return Finding::ok(
                    CHECK,
                    format!("the host key of {} is in {}", resolved.name, file.display()),
                );
            }
            Ok(_) => {}
            Err(e) => {
                return Finding::warn(
                    CHECK,
                    format!("cannot check known_hosts: cannot run ssh-keygen: {e}"),
                    "Install the OpenSSH client (`apt install openssh-client`).",
                );
            }
        }
    }
    let looked = if resolved.files.is_empty() {
        "no known_hosts file".to_string()
    } else {
        resolved
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let file = known_hosts
        .map(Path::to_path_buf)
        .or_else(|| resolved.files.first().cloned())
        .map_or_else(
            || "~/.ssh/known_hosts".to_string(),
            |f| f.display().to_string(),
        );
    let host = target.host();
    let port = target.port_or_default();
    Finding::error(
        CHECK,
        format!(
            "the host key of {} is not in {looked}: ssh refuses the tunnel (StrictHostKeyChecking=yes)",
            resolved.name
        ),
        format!(
            "Fetch the key and compare its fingerprint with the server's before trusting it:\n\
             ssh-keyscan -p {port} {host} | ssh-keygen -lf -\n\
             on the gateway host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\n\
             if they match: ssh-keyscan -p {port} {host} >> {file}"
        ),
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
    fn ssh_g_output() {
        let text = "user u\nhostname 10.0.0.5\nport 2222\nuserknownhostsfile /h/.ssh/known_hosts /h/.ssh/known_hosts2\nglobalknownhostsfile /etc/ssh/ssh_known_hosts\n";
        let r = parse_ssh_g(text).unwrap();
        assert_eq!(r.name, "[10.0.0.5]:2222");
        assert_eq!(
            r.files,
            vec![
                PathBuf::from("/h/.ssh/known_hosts"),
                PathBuf::from("/h/.ssh/known_hosts2"),
                PathBuf::from("/etc/ssh/ssh_known_hosts")
            ]
        );
        let r = parse_ssh_g("hostname gw\nport 22\nhostkeyalias gw-alias\n").unwrap();
        assert_eq!(r.name, "gw-alias");
        assert_eq!(parse_ssh_g("hostname gw\nport 22\n").unwrap().name, "gw");
        assert!(parse_ssh_g("port 22\n").is_none());
    }

    /// Real `ssh -G` and `ssh-keygen -F` against a generated known_hosts file.
    #[test]
    fn known_hosts_with_the_real_tools() {
        if Command::new("ssh-keygen").arg("-?").output().is_err()
            || Command::new("ssh").arg("-V").output().is_err()
        {
            eprintln!("SKIP: the OpenSSH client is not installed (Debian package openssh-client)");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let key = tmp.path().join("host_key");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(made.success());
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        let known = tmp.path().join("known_hosts");
        std::fs::write(&known, format!("[127.0.0.1]:2222 {public}")).unwrap();

        let target = SshTarget::parse("u@127.0.0.1:2222").unwrap();
        let f = known_hosts_finding(&target, Some(&known), Path::new("ssh"));
        assert_eq!(f.level, Level::Ok, "{f:?}");
        assert!(f.message.contains("[127.0.0.1]:2222"), "{f:?}");

        // Another port is another known_hosts name: refused, with the checked fix.
        let target = SshTarget::parse("u@127.0.0.1:2200").unwrap();
        let f = known_hosts_finding(&target, Some(&known), Path::new("ssh"));
        assert_eq!(f.level, Level::Error, "{f:?}");
        assert!(f.message.contains("[127.0.0.1]:2200"), "{f:?}");
        let fix = f.fix.unwrap();
        assert!(
            fix.contains("ssh-keyscan -p 2200 127.0.0.1 | ssh-keygen -lf -"),
            "{fix}"
        );
        assert!(fix.contains(&format!(">> {}", known.display())), "{fix}");

        let f = known_hosts_finding(&target, Some(&known), Path::new("/nonexistent/ssh"));
        assert_eq!(f.level, Level::Error, "{f:?}");
        assert!(f.message.contains("cannot run /nonexistent/ssh"), "{f:?}");
    }

    #[test]
    fn reachability_and_parsing() {
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

        // Parsed as the tunnel parses it: port 0 and a leading '-' are refused.
        for bad in ["u@127.0.0.1:0", "-oProxyCommand=x", "u@"] {
            let remote = json!({"transport": "ssh", "sshTarget": bad});
            let f = ssh_findings(Some(&remote), |p| p.to_string());
            assert_eq!(f.len(), 1, "{f:?}");
            assert_eq!(f[0].level, Level::Error, "{f:?}");
            assert!(
                f[0].message.starts_with("gateway.remote.sshTarget: "),
                "{f:?}"
            );
        }
        assert!(ssh_findings(Some(&json!({"url": "ws://x"})), |p| p.to_string()).is_empty());
    }
}
