//! The exact `ssh` command line of a managed tunnel.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

use super::config::SshTunnelConfig;
use super::program::death_signal_wrapper;

/// The arguments after the program name: a forward-only session (`-N`) from the Unix socket
/// `socket` (in our private directory; never a TCP port, see [`super::relay`]) to the far
/// host's `127.0.0.1:<remote_port>`, replacing a stale socket file, never prompting
/// (`BatchMode`), exiting if the forward cannot be set up, refusing unknown or changed host keys,
/// and probing the server so a dead link ends the process (and the supervisor restarts it).
/// `--` ends the options: the destination can never be read as one.
pub fn ssh_args(config: &SshTunnelConfig, socket: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::with_capacity(26);
    args.push("-N".into());
    args.push("-L".into());
    let mut forward = socket.as_os_str().to_os_string();
    forward.push(format!(":127.0.0.1:{}", config.remote_port));
    args.push(forward);
    let mut push = |s: String| args.push(OsString::from(s));
    for option in [
        "BatchMode=yes".to_string(),
        "ExitOnForwardFailure=yes".to_string(),
        "StreamLocalBindUnlink=yes".to_string(),
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

/// The process to spawn: `program` (the resolved ssh) under `setpriv --pdeathsig TERM` where
/// available (ssh ends with the thread that spawned it, even if clawlet is SIGKILLed), no stdin
/// (nothing to prompt on), stdout discarded, stderr captured, killed if the handle is dropped.
pub fn ssh_command(config: &SshTunnelConfig, program: &Path, socket: &Path) -> Command {
    let mut command = match death_signal_wrapper() {
        Some((wrapper, wrapper_args)) => {
            let mut command = Command::new(wrapper);
            command.args(wrapper_args).arg(program);
            command
        }
        None => Command::new(program),
    };
    command
        .args(ssh_args(config, socket))
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
            strings(ssh_args(
                &config,
                Path::new("/run/user/1/clawlet-ssh-1/gw.sock")
            )),
            [
                "-N",
                "-L",
                "/run/user/1/clawlet-ssh-1/gw.sock:127.0.0.1:18789",
                "-o",
                "BatchMode=yes",
                "-o",
                "ExitOnForwardFailure=yes",
                "-o",
                "StreamLocalBindUnlink=yes",
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
        let args = strings(ssh_args(&config, Path::new("/d/gw.sock")));
        assert_eq!(args[2], "/d/gw.sock:127.0.0.1:19001");
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
        let args = strings(ssh_args(&config, Path::new("/d/gw.sock")));
        let at = args
            .iter()
            .position(|a| a == "UserKnownHostsFile=/tmp/kh")
            .unwrap();
        assert_eq!(args[at - 1], "-o");
        assert_eq!(args[args.len() - 1], "u@h");
    }

    #[test]
    fn ssh_runs_under_setpriv_when_available() {
        let config = SshTunnelConfig::new(SshTarget::parse("u@h").unwrap());
        let command = ssh_command(&config, Path::new("/usr/bin/ssh"), Path::new("/d/gw.sock"));
        let std = command.as_std();
        let args: Vec<String> = std
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        if cfg!(target_os = "linux")
            && crate::ssh_tunnel::program::find_program(Path::new("setpriv")).is_some()
        {
            assert!(std.get_program().to_string_lossy().ends_with("setpriv"));
            assert_eq!(&args[..4], ["--pdeathsig", "TERM", "--", "/usr/bin/ssh"]);
        } else {
            assert_eq!(std.get_program(), "/usr/bin/ssh");
            assert_eq!(args[0], "-N");
        }
    }
}
