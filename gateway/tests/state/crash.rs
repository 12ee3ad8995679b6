//! Crash safety: a writer killed with SIGKILL mid-loop leaves a consistent database in which
//! every transaction it saw commit is present and nothing is half-written.
//!
//! The test binary re-runs itself as the writer (`crash_writer_child`, activated by an env var)
//! so no helper binary is needed.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clawlet_gateway::state::{StateStore, TokenCheck};

use crate::common::*;

const WRITER_ENV: &str = "CLAWLET_STATE_CRASH_WRITER";
const ROUNDS: usize = 5;
/// Lines the writer prints after each commit returned; everything else on stdout is libtest's.
const MARK: &str = "CRASHLOG";

fn dev(i: usize) -> String {
    format!("dev-{i:06}")
}

/// The writer: pairs devices in a loop, printing each commit. Does nothing in a normal run.
#[test]
fn crash_writer_child() {
    let Ok(path) = std::env::var(WRITER_ENV) else {
        return;
    };
    let mut st = StateStore::open(&path).unwrap();
    let mut out = std::io::stdout().lock();
    let started = Instant::now();
    let mut log = |line: String| {
        writeln!(out, "{MARK} {line}").unwrap();
        out.flush().unwrap();
    };
    for i in 0..100_000 {
        // Never outlive a parent that died without killing us.
        if started.elapsed() > Duration::from_secs(30) {
            break;
        }
        let now = T0 + i as u64;
        let id = dev(i);
        let p = expect_pending(st.request_device_pairing(&node_req(&id), now).unwrap());
        st.approve_device(&p.request.request_id, now, "owner")
            .unwrap();
        log(format!("paired {i}"));
        let t = st.ensure_device_token(&id, "node", &[], None, now).unwrap();
        log(format!("token {i} {}", t.token));
        let np = expect_surface_pending(
            st.reconcile_node_surface(&id, &surface(&["system"], &["system.notify"]), now)
                .unwrap(),
        );
        st.approve_node(&np.request.request_id, now).unwrap();
        log(format!("node {i}"));
        if i % 3 == 0 {
            let mut up = node_req(&id);
            up.role = "operator".to_owned();
            up.scopes = s(&["operator.read"]);
            let p = expect_pending(st.request_device_pairing(&up, now).unwrap());
            st.approve_device(&p.request.request_id, now, "owner")
                .unwrap();
            log(format!("upgraded {i}"));
        }
        if i % 5 == 4 {
            st.remove_device(&dev(i - 2)).unwrap();
            log(format!("removed {}", i - 2));
        }
    }
}

/// What the writer reported as committed.
#[derive(Default)]
struct Committed {
    paired: BTreeSet<usize>,
    tokens: BTreeMap<usize, String>,
    nodes: BTreeSet<usize>,
    upgraded: BTreeSet<usize>,
    removed: BTreeSet<usize>,
}

fn parse(stdout: &str) -> Committed {
    let mut c = Committed::default();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix(MARK) else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let i: usize = words[1].parse().unwrap();
        match words[0] {
            "paired" => {
                c.paired.insert(i);
            }
            "token" => {
                c.tokens.insert(i, words[2].to_owned());
            }
            "node" => {
                c.nodes.insert(i);
            }
            "upgraded" => {
                c.upgraded.insert(i);
            }
            "removed" => {
                c.removed.insert(i);
            }
            other => panic!("unexpected writer line {other}"),
        }
    }
    c
}

/// A random delay in `lo..hi` ms without a RNG dependency: std's per-process random hash keys.
fn random_ms(lo: u64, hi: u64) -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(lo);
    lo + h.finish() % (hi - lo)
}

#[cfg(unix)]
#[test]
fn killed_writer_leaves_every_pairing_whole_or_absent() {
    let exe = std::env::current_exe().unwrap();
    let mut total_commits = 0usize;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("clawlet.sqlite");
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash::crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        std::thread::sleep(Duration::from_millis(random_ms(80, 600)));
        let exited_early = child.try_wait().unwrap();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let text = reader.join().unwrap();
        if let Some(status) = exited_early {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("writer exited by itself ({status}) in round {round}: {err}\n{text}");
        }
        let c = parse(&text);
        total_commits += c.paired.len();
        eprintln!(
            "round {round}: {} paired, {} removed before the kill",
            c.paired.len(),
            c.removed.len()
        );

        let mut st = StateStore::open(&path).unwrap();
        st.check_integrity().unwrap();
        let devices = st.list_devices(T0).unwrap();
        let nodes = st.list_nodes().unwrap();
        let mut c = c;
        // The kill may land between a removal's commit and its log line: after "node i" for
        // i % 5 == 4 the writer removes dev(i - 2) next. Absent there means that commit won.
        if let Some(&last) = c.nodes.iter().max()
            && last % 5 == 4
            && (last % 3 != 0 || c.upgraded.contains(&last))
            && st.get_paired_device(&dev(last - 2)).unwrap().is_none()
        {
            c.removed.insert(last - 2);
        }

        for i in &c.paired {
            let got = st.get_paired_device(&dev(*i)).unwrap();
            assert_eq!(
                got.is_none(),
                c.removed.contains(i),
                "round {round} dev {i}"
            );
        }
        for (i, token) in &c.tokens {
            if !c.removed.contains(i) {
                assert_eq!(
                    st.verify_device_token(&dev(*i), "node", token).unwrap(),
                    TokenCheck::Valid { scopes: vec![] },
                    "round {round} token {i}"
                );
            }
        }
        for i in &c.nodes {
            let surface = st.approved_surface(&dev(*i)).unwrap();
            assert_eq!(
                surface.is_none(),
                c.removed.contains(i),
                "round {round} node {i}"
            );
        }
        for i in &c.upgraded {
            if let Some(d) = st.get_paired_device(&dev(*i)).unwrap() {
                assert_eq!(d.roles, s(&["node", "operator"]));
            }
        }
        // Whatever the kill interrupted is either fully there or absent.
        let paired_ids: BTreeSet<&str> = devices
            .paired
            .iter()
            .map(|d| d.device_id.as_str())
            .collect();
        for d in &devices.paired {
            let upgraded = d.roles == s(&["node", "operator"]);
            assert!(upgraded || d.roles == s(&["node"]), "{d:?}");
            // Roles and scopes change in the same write.
            assert_eq!(
                d.scopes,
                if upgraded {
                    s(&["operator.read"])
                } else {
                    vec![]
                }
            );
            assert!(d.tokens.len() <= 1);
        }
        for p in &devices.pending {
            // The first request is deleted in the same transaction that pairs the device.
            assert!(
                !(p.role == "node" && paired_ids.contains(p.device_id.as_str())),
                "approved request left behind: {p:?}"
            );
        }
        for n in &nodes.pending {
            assert!(
                !nodes.paired.iter().any(|a| a.node_id == n.node_id),
                "approved surface left pending: {n:?}"
            );
            assert!(paired_ids.contains(n.node_id.as_str()));
        }
        for n in &nodes.paired {
            assert!(paired_ids.contains(n.node_id.as_str()));
            assert_eq!(n.commands, s(&["system.notify"]));
        }
        // The store is still fully usable after the crash.
        pair(&mut st, &node_req("after-crash"), T0);
    }
    assert!(total_commits > 0, "the writer never committed anything");
}
