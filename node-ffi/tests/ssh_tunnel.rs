#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Managed SSH tunnels against a real OpenSSH `sshd` on 127.0.0.1 (generated host and client
//! keys in a temp dir, root login with that key only): forwarding, host-key and login failures,
//! the supervisor restarting a killed ssh and riding out an sshd outage behind the same local
//! listener (which no other process can bind meanwhile), ssh ending with a SIGKILLed owner
//! (`setpriv --pdeathsig`), and a headless node that finds its device token again through a new
//! tunnel.
//!
//! Needs root and `/usr/sbin/sshd` (CI has both); without them each test says so and passes.

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clawlet_node::ssh_tunnel::{
    SshTarget, SshTunnel, SshTunnelConfig, SshTunnelError, TunnelSupervisor,
};
use clawlet_node::{HeadlessExit, HeadlessOptions, run_headless};
use clawlet_node_core::BackoffPolicy;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

const SSHD: &str = "/usr/sbin/sshd";
const STEP: Duration = Duration::from_secs(10);

/// A free loopback port below the ephemeral range (sshd binds it after we release it; outgoing
/// connections never take ports there), never handed out twice in this binary.
fn free_port() -> u16 {
    static TAKEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768)
        .max(12_000);
    let mut taken = TAKEN.lock().unwrap();
    let seed = u64::from(std::process::id()) ^ getrandom_seed();
    let span = u64::from(low - 10_000);
    for i in 0..10_000u64 {
        let port = 10_000
            + ((seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(i * 7919))
                % span) as u16;
        if !taken.contains(&port) && StdListener::bind(("127.0.0.1", port)).is_ok() {
            taken.push(port);
            return port;
        }
    }
    panic!("no free loopback port below the ephemeral range");
}

fn getrandom_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Whether 127.0.0.1:`port` greets like sshd (`SSH-2.0-…`), not like some other listener.
async fn sshd_banner(port: u16) -> bool {
    let Ok(Ok(mut s)) = tokio::time::timeout(
        Duration::from_secs(1),
        TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    else {
        return false;
    };
    let mut banner = [0u8; 4];
    matches!(
        tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut banner)).await,
        Ok(Ok(_)) if &banner == b"SSH-"
    )
}

fn can_run_sshd() -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root || !Path::new(SSHD).exists() {
        eprintln!("skipped: needs root and {SSHD} (apt-get install openssh-server)");
        return false;
    }
    true
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen failed");
}

fn public_key(path: &Path) -> String {
    let text = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A real sshd on 127.0.0.1:<port> with its own keys and files.
struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

/// How many ports are tried when another process takes the probed one before sshd binds it.
const SSHD_PORT_ATTEMPTS: u32 = 5;

impl Sshd {
    async fn start() -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        keygen(&d.join("other_key"));
        std::fs::write(
            d.join("authorized_keys"),
            public_key(&d.join("client_key")) + "\n",
        )
        .unwrap();
        std::fs::write(d.join("empty_known_hosts"), "").unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let mut sshd = Sshd {
            dir,
            port: 0,
            child: None,
        };
        // The port was free when probed but is released before sshd binds it: if another
        // process took it meanwhile, sshd exits and we try another port.
        for _ in 0..SSHD_PORT_ATTEMPTS {
            sshd.port = free_port();
            sshd.write_config();
            if sshd.spawn_on_port().await {
                return sshd;
            }
        }
        panic!("sshd could not listen on {SSHD_PORT_ATTEMPTS} probed ports");
    }

    /// sshd_config and the known_hosts files for `self.port`.
    fn write_config(&self) {
        let d = self.dir.path();
        let port = self.port;
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {}\n", public_key(&d.join("host_key"))),
        )
        .unwrap();
        std::fs::write(
            d.join("other_known_hosts"),
            format!("[127.0.0.1]:{port} {}\n", public_key(&d.join("other_key"))),
        )
        .unwrap();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1:{port}\nHostKey {dir}/host_key\nPidFile {dir}/sshd.pid\n\
                 AuthorizedKeysFile {dir}/authorized_keys\nPermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 StrictModes no\nAllowTcpForwarding yes\nX11Forwarding no\n",
                dir = d.display()
            ),
        )
        .unwrap();
    }

    /// (Re)starts sshd on `self.port` (after [`Sshd::stop`] the same port: the tunnels under test
    /// point at it).
    async fn spawn(&mut self) {
        assert!(
            self.spawn_on_port().await,
            "sshd could not listen again on 127.0.0.1:{}",
            self.port
        );
    }

    /// Starts sshd; true once the port answers with sshd's banner (`SSH-`) while sshd runs,
    /// false if sshd exited (the port was taken).
    async fn spawn_on_port(&mut self) -> bool {
        let mut child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(self.dir.path().join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + STEP;
        loop {
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            if sshd_banner(self.port).await {
                self.child = Some(child);
                return true;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("sshd did not answer on 127.0.0.1:{} within 10 s", self.port);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the listener (sessions it forked live on until their client goes).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A tunnel to `remote_port` as root with the authorized key and the right known_hosts.
    fn tunnel(&self, remote_port: u16) -> SshTunnelConfig {
        let target = SshTarget::parse(&format!("root@127.0.0.1:{}", self.port)).unwrap();
        let mut config = SshTunnelConfig::new(target);
        config.program = PathBuf::from("ssh");
        config.identity = Some(self.path("client_key"));
        config.known_hosts = Some(self.path("known_hosts"));
        config.remote_port = remote_port;
        config.ready_timeout = STEP;
        config
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Echoes every connection back (stands in for the gateway on the far side).
async fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    port
}

async fn echo_through(port: u16) -> Result<(), String> {
    let mut s = tokio::time::timeout(
        Duration::from_secs(2),
        TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    .map_err(|_| "connect timed out".to_string())?
    .map_err(|e| e.to_string())?;
    s.write_all(b"ping").await.map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut buf))
        .await
        .map_err(|_| "read timed out".to_string())?
        .map_err(|e| e.to_string())?;
    if &buf == b"ping" {
        Ok(())
    } else {
        Err(format!("got {buf:?}"))
    }
}

/// Retries `echo_through` until it works (bounded).
async fn wait_echo(port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        match echo_through(port).await {
            Ok(()) => return,
            Err(e) if Instant::now() >= deadline => panic!("no echo through 127.0.0.1:{port}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn fast_backoff() -> BackoffPolicy {
    BackoffPolicy {
        initial_ms: 200,
        max_ms: 1_000,
        min_delay_ms: 50,
        ..BackoffPolicy::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tunnel_forwards_to_the_far_loopback_and_closes() {
    if !can_run_sshd() {
        return;
    }
    let sshd = Sshd::start().await;
    let echo = echo_server().await;
    let tunnel = SshTunnel::open_on_free_port(&sshd.tunnel(echo))
        .await
        .unwrap();
    let port = tunnel.local_port();
    echo_through(port).await.unwrap();
    tunnel.close().await;
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "the local port closes with the tunnel"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_key_login_and_program_failures_are_terminal_and_named() {
    if !can_run_sshd() {
        return;
    }
    let sshd = Sshd::start().await;
    let echo = echo_server().await;

    let mut config = sshd.tunnel(echo);
    config.known_hosts = Some(sshd.path("empty_known_hosts"));
    let e = SshTunnel::open_on_free_port(&config).await.unwrap_err();
    assert!(matches!(e, SshTunnelError::HostKeyUnknown { .. }), "{e:?}");
    assert!(e.is_terminal());
    let m = e.to_string();
    assert!(
        m.contains(&format!(
            "ssh-keyscan -p {} 127.0.0.1 | ssh-keygen -lf -",
            sshd.port
        )),
        "{m}"
    );
    assert!(
        m.contains(&format!("ssh-keyscan -p {} 127.0.0.1 >> ", sshd.port)),
        "{m}"
    );
    assert!(m.contains("empty_known_hosts"), "{m}");

    config.known_hosts = Some(sshd.path("other_known_hosts"));
    let e = SshTunnel::open_on_free_port(&config).await.unwrap_err();
    assert!(matches!(e, SshTunnelError::HostKeyChanged { .. }), "{e:?}");
    assert!(e.to_string().contains("ssh-keygen -R"), "{e}");

    let mut config = sshd.tunnel(echo);
    config.identity = Some(sshd.path("other_key"));
    let e = SshTunnel::open_on_free_port(&config).await.unwrap_err();
    assert!(matches!(e, SshTunnelError::AuthFailed { .. }), "{e:?}");
    assert!(e.to_string().contains("authorized_keys"), "{e}");

    let mut config = sshd.tunnel(echo);
    config.identity = Some(sshd.path("no_such_key"));
    let e = SshTunnel::open_on_free_port(&config).await.unwrap_err();
    assert!(
        matches!(e, SshTunnelError::IdentityUnreadable { .. }),
        "{e:?}"
    );

    let mut config = sshd.tunnel(echo);
    config.program = PathBuf::from("/nonexistent/ssh");
    let e = SshTunnel::open_on_free_port(&config).await.unwrap_err();
    assert!(matches!(e, SshTunnelError::SshNotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("openssh-client"), "{e}");
    // The supervisor gives up at once on a terminal failure.
    let e = TunnelSupervisor::start(config, fast_backoff())
        .await
        .unwrap_err();
    assert!(matches!(e, SshTunnelError::SshNotFound { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_restarts_ssh_on_the_same_port_after_a_kill_and_an_sshd_outage() {
    if !can_run_sshd() {
        return;
    }
    let mut sshd = Sshd::start().await;
    let echo = echo_server().await;
    let supervisor = TunnelSupervisor::start(sshd.tunnel(echo), fast_backoff())
        .await
        .unwrap();
    let port = supervisor.local_port();
    echo_through(port).await.unwrap();

    // ssh killed: a new one behind the same port.
    let first = supervisor.ssh_pid().unwrap();
    assert!(
        Command::new("kill")
            .args(["-KILL", &first.to_string()])
            .status()
            .unwrap()
            .success()
    );
    wait_echo(port, STEP).await;
    // (ssh forwards as soon as it logged in, a moment before the supervisor publishes its pid.)
    let deadline = Instant::now() + STEP;
    let second = loop {
        match supervisor.ssh_pid() {
            Some(pid) if pid != first => break pid,
            _ => {
                assert!(Instant::now() < deadline, "no new ssh pid");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };

    // sshd down (and the session with it): restarts are refused and retried until it is back.
    sshd.stop();
    assert!(
        Command::new("kill")
            .args(["-KILL", &second.to_string()])
            .status()
            .unwrap()
            .success()
    );
    // Bounded wait until the supervisor saw ssh go.
    let deadline = Instant::now() + STEP;
    while supervisor.ssh_pid().is_some() {
        assert!(
            Instant::now() < deadline,
            "the supervisor did not see ssh exit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        echo_through(port).await.is_err(),
        "no tunnel while sshd is down"
    );
    // The port stays ours while ssh is down: no other process can listen there and receive
    // what the node sends.
    assert!(
        StdListener::bind(("127.0.0.1", port)).is_err(),
        "the local port is still held between ssh restarts"
    );
    sshd.spawn().await;
    wait_echo(port, STEP).await;
    assert_eq!(supervisor.local_port(), port);
    supervisor.shutdown().await;
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
}

/// Accepts a node's WebSocket, sends the challenge and returns its `connect` request. Bare TCP
/// connections are skipped: each new tunnel's readiness probe reaches the gateway as one.
async fn accept_connect(
    listener: &TcpListener,
) -> (tokio_tungstenite::WebSocketStream<TcpStream>, Value) {
    let mut ws = loop {
        let (tcp, _) = tokio::time::timeout(STEP, listener.accept())
            .await
            .unwrap()
            .unwrap();
        if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
            break ws;
        }
    };
    ws.send(Message::text(
        json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1}})
            .to_string(),
    ))
    .await
    .unwrap();
    loop {
        let msg = tokio::time::timeout(STEP, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            assert_eq!(v["method"], "connect");
            return (ws, v);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_through_a_new_tunnel_finds_its_device_token_again() {
    if !can_run_sshd() {
        return;
    }
    let sshd = Sshd::start().await;
    // The scripted gateway on the far loopback.
    let gateway = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway_port = gateway.local_addr().unwrap().port();
    let node_dir = tempfile::tempdir().unwrap();
    let options = |token: Option<&str>| {
        let mut o = HeadlessOptions::new("ws://127.0.0.1:18789");
        o.token = token.map(str::to_string);
        o.node_dir = Some(node_dir.path().to_path_buf());
        o.read_env = false;
        o.display_name = Some("tunnel-node".into());
        o.backoff = fast_backoff();
        o.ssh = Some(sshd.tunnel(gateway_port));
        o
    };

    for (run, token) in [(1, Some("shared-secret")), (2, None)] {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let node = tokio::spawn(run_headless(options(token), async {
            let _ = stop_rx.await;
        }));
        let (mut ws, connect) = accept_connect(&gateway).await;
        let auth = connect["params"]["auth"].to_string();
        if run == 1 {
            assert!(
                auth.contains("shared-secret"),
                "run 1 pairs with the token: {auth}"
            );
        } else {
            assert!(
                auth.contains("dev-1"),
                "run 2 offers the stored device token: {auth}"
            );
            assert!(!auth.contains("shared-secret"), "{auth}");
        }
        ws.send(Message::text(
            json!({"type":"res","id":connect["id"],"ok":true,"payload":{
                "type":"hello-ok","protocol":4,"server":{"version":"test","connId":"c"},
                "features":{},"snapshot":{},
                "auth":{"role":"node","scopes":[],"deviceToken":"dev-1"},
                "policy":{"maxPayload":26_214_400,"maxBufferedBytes":52_428_800,
                          "tickIntervalMs":30_000}}})
            .to_string(),
        ))
        .await
        .unwrap();
        // The node sends its host stats once hello-ok is processed (the token saved).
        let stats = loop {
            let msg = tokio::time::timeout(STEP, ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if let Message::Text(t) = msg {
                break serde_json::from_str::<Value>(t.as_str()).unwrap();
            }
        };
        assert_eq!(stats["params"]["event"], "node.host.stats", "{stats}");
        stop_tx.send(()).unwrap();
        let exit = tokio::time::timeout(STEP, node).await.unwrap().unwrap();
        assert_eq!(exit.unwrap(), HeadlessExit::Shutdown);
    }
    let stored = std::fs::read_to_string(node_dir.path().join("device-tokens.json")).unwrap();
    assert!(
        stored.contains(&format!(
            "ssh://root@127.0.0.1:{}/{gateway_port}",
            sshd.port
        )),
        "{stored}"
    );
    assert!(!stored.contains("ws://127.0.0.1"), "{stored}");
}

/// Set in the child process of [`ssh_goes_with_a_sigkilled_owner`]: `<dir>|<sshd port>|<remote>`.
const CHILD_ENV: &str = "CLAWLET_TEST_TUNNEL_OWNER";

/// Alive (not gone, not a zombie waiting for a reaper).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

/// Not a test of its own: the owner process the test below SIGKILLs. It opens a supervised
/// tunnel, prints ssh's pid and waits (bounded) to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnel_owner_child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.split('|');
    let (dir, port, remote) = (
        PathBuf::from(parts.next().unwrap()),
        parts.next().unwrap().parse::<u16>().unwrap(),
        parts.next().unwrap().parse::<u16>().unwrap(),
    );
    let target = SshTarget::parse(&format!("root@127.0.0.1:{port}")).unwrap();
    let mut config = SshTunnelConfig::new(target);
    config.program = PathBuf::from("ssh");
    config.identity = Some(dir.join("client_key"));
    config.known_hosts = Some(dir.join("known_hosts"));
    config.remote_port = remote;
    config.ready_timeout = STEP;
    let supervisor = TunnelSupervisor::start(config, fast_backoff())
        .await
        .unwrap();
    println!("SSH_PID={}", supervisor.ssh_pid().unwrap());
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_goes_with_a_sigkilled_owner() {
    if !can_run_sshd() {
        return;
    }
    if clawlet_node::ssh_tunnel::ssh_command(
        &SshTunnelConfig::new(SshTarget::parse("h").unwrap()),
        Path::new("ssh"),
        Path::new("/s"),
    )
    .as_std()
    .get_program()
        == "ssh"
    {
        eprintln!("skipped: no setpriv (util-linux) on PATH");
        return;
    }
    let sshd = Sshd::start().await;
    let echo = echo_server().await;
    let spec = format!("{}|{}|{echo}", sshd.dir.path().display(), sshd.port);
    let owner_tmp = tempfile::tempdir().unwrap();
    let mut owner = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "tunnel_owner_child_process", "--nocapture"])
        .env(CHILD_ENV, spec)
        // A SIGKILLed owner cannot remove its private socket directory: keep it in ours.
        .env("TMPDIR", owner_tmp.path())
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = tokio::io::BufReader::new(owner.stdout.take().unwrap());
    let ssh_pid = tokio::time::timeout(STEP * 2, async {
        use tokio::io::AsyncBufReadExt;
        let mut line = String::new();
        loop {
            line.clear();
            assert!(out.read_line(&mut line).await.unwrap() > 0, "owner exited");
            if let Some(pid) = line.trim().strip_prefix("SSH_PID=") {
                return pid.parse::<u32>().unwrap();
            }
        }
    })
    .await
    .expect("the owner printed no ssh pid");
    assert!(running(ssh_pid));
    owner.start_kill().unwrap();
    owner.wait().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(ssh_pid) {
        if Instant::now() >= deadline {
            let _ = Command::new("kill")
                .args(["-KILL", &ssh_pid.to_string()])
                .status();
            panic!("ssh {ssh_pid} outlived its SIGKILLed owner");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
