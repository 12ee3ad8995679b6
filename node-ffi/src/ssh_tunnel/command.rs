//! The exact `ssh` command line of a managed tunnel.

use std::ffi::OsString;
use std::process::Stdio;

use tokio::process::Command;

use super::config::SshTunnelConfig;

/// The arguments after the program name: a forward-only session (`-N`) from
/// `127.0.0.1:<local_port>` to the far host's `127.0.0.1:<remote_port>`, never prompting
/// (`BatchMode`), exiting if the forward cannot be set up, refusing unknown or changed host keys,
/// and probing the server so a dead link ends the process (and the supervisor restarts it).
/// `--` ends the options: the destination can never be read as one.
pub fn ssh_args(config: &SshTunnelConfig, local_port: u16) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::with_capacity(24);
    let mut push = |s: String| args.push(OsString::from(s));
    push("-N".into());
    push("-L".into());
    push(format!(
        "127.0.0.1:{local_port}:127.0.0.1:{}",
        config.remote_port
    ));
    for option in [
        "BatchMode=yes".to_string(),
        "ExitOnForwardFailure=yes".to_string(),
        "StrictHostKeyChecking=yes".to_string(),
        format!("ServerAliveInterval={}", config.server_alive_interval_s),
        format!("ServerAliveCountMax={}", config.server_alive_count_max),
        format!("ConnectTimeout={}", config.connect_timeout_s),
    ] {
        push("-o".into());
        push(option);
    }
    if let Some(file) = &config.known_hosts {
        let mut option = OsString::from("UserKnownHostsFile=");
        option.push(file.as_os_str());
        args.push("-o".into());
        args.push(option);
    }
    if let Some(identity) = &config.identity {
        args.push("-i".into());
        args.push(identity.clone().into_os_string());
        args.push("-o".into());
        args.push("IdentitiesOnly=yes".into());
    }
    if let Some(port) = config.target.port() {
        args.push("-p".into());
        args.push(port.to_string().into());
    }
    args.push("--".into());
    args.push(config.target.destination().into());
    args
}

/// The process to spawn: no stdin (nothing to prompt on), stdout discarded, stderr captured,
/// killed if the handle is dropped.
pub fn ssh_command(config: &SshTunnelConfig, local_port: u16) -> Command {
    let mut command = Command::new(&config.program);
    command
        .args(ssh_args(config, local_port))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::path::PathBuf;

    use super::*;
    use crate::ssh_tunnel::SshTarget;

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn minimal_argv() {
        let config = SshTunnelConfig::new(SshTarget::parse("gw.example").unwrap());
        assert_eq!(
            strings(ssh_args(&config, 40123)),
            [
                "-N",
                "-L",
                "127.0.0.1:40123:127.0.0.1:18789",
                "-o",
                "BatchMode=yes",
                "-o",
                "ExitOnForwardFailure=yes",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "ServerAliveInterval=15",
                "-o",
                "ServerAliveCountMax=3",
                "-o",
                "ConnectTimeout=10",
                "--",
                "gw.example",
            ]
        );
    }

    #[test]
    fn identity_port_and_remote_port() {
        let mut config = SshTunnelConfig::new(SshTarget::parse("pi@[2001:db8::5]:2222").unwrap());
        config.identity = Some(PathBuf::from("/home/pi/.ssh/gw key"));
        config.remote_port = 19001;
        config.server_alive_interval_s = 2;
        config.server_alive_count_max = 1;
        let args = strings(ssh_args(&config, 5));
        assert_eq!(args[2], "127.0.0.1:5:127.0.0.1:19001");
        assert!(args.contains(&"ServerAliveInterval=2".to_string()));
        assert!(args.contains(&"ServerAliveCountMax=1".to_string()));
        let tail = &args[args.len() - 8..];
        assert_eq!(
            tail,
            [
                "-i",
                "/home/pi/.ssh/gw key",
                "-o",
                "IdentitiesOnly=yes",
                "-p",
                "2222",
                "--",
                "pi@2001:db8::5",
            ]
        );
        // Nothing names a known_hosts file: ssh's own (~/.ssh/known_hosts) is the one checked.
        assert!(!args.iter().any(|a| a.contains("KnownHosts")));
    }

    #[test]
    fn configured_known_hosts() {
        let mut config = SshTunnelConfig::new(SshTarget::parse("u@h").unwrap());
        config.known_hosts = Some(PathBuf::from("/tmp/kh"));
        let args = strings(ssh_args(&config, 7));
        let at = args
            .iter()
            .position(|a| a == "UserKnownHostsFile=/tmp/kh")
            .unwrap();
        assert_eq!(args[at - 1], "-o");
        assert_eq!(args[args.len() - 1], "u@h");
    }
}
