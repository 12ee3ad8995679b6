//! Process limits and CPU placement for a bench run: the open-file limit raised to what the
//! run needs (each held connection is one descriptor here and one in the gateway, which
//! inherits the limit when spawned), and `--cpu-tool` pinning every thread of this process.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use rustix::thread::{CpuSet, sched_setaffinity};

/// Raises the soft `RLIMIT_NOFILE` to at least `needed` (up to the hard limit). Returns the
/// soft limit in force, or an error saying what to do when the hard limit is too low.
pub fn raise_nofile(needed: u64) -> Result<u64, String> {
    let current = getrlimit(Resource::Nofile);
    let soft = current.current.unwrap_or(u64::MAX);
    let hard = current.maximum.unwrap_or(u64::MAX);
    if soft >= needed {
        return Ok(soft);
    }
    let target = hard.min(needed.max(soft));
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(target),
            maximum: current.maximum,
        },
    );
    let now = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    if now < needed {
        return Err(format!(
            "this run needs about {needed} open files but the limit is {now} (hard limit \
             {hard}); raise it (`ulimit -n {needed}` as a user allowed to, or LimitNOFILE=) or \
             use fewer nodes"
        ));
    }
    Ok(now)
}

/// Parses a `taskset -c` style list: `1`, `0,2`, `0-3`.
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, String> {
    let mut cpus = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("bad CPU list {text:?}: use e.g. 1, 0,2 or 0-3");
        match part.split_once('-') {
            Some((a, b)) => {
                let a: usize = a.trim().parse().map_err(|_| bad())?;
                let b: usize = b.trim().parse().map_err(|_| bad())?;
                if a > b || b >= CpuSet::MAX_CPU {
                    return Err(bad());
                }
                cpus.extend(a..=b);
            }
            None => {
                let c: usize = part.parse().map_err(|_| bad())?;
                if c >= CpuSet::MAX_CPU {
                    return Err(bad());
                }
                cpus.push(c);
            }
        }
    }
    if cpus.is_empty() {
        return Err(format!("empty CPU list {text:?}"));
    }
    Ok(cpus)
}

/// Pins every thread of this process (the async runtime's workers included) to `cpus`.
pub fn pin_this_process(cpus: &[usize]) -> Result<(), String> {
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c);
    }
    let tasks = std::fs::read_dir("/proc/self/task")
        .map_err(|e| format!("cannot list this process's threads: {e}"))?;
    for task in tasks.flatten() {
        let tid = task
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw);
        if let Some(tid) = tid {
            sched_setaffinity(Some(tid), &set)
                .map_err(|e| format!("cannot pin the tool to CPUs {cpus:?}: {e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("1").unwrap(), vec![1]);
        assert_eq!(parse_cpu_list("0,2").unwrap(), vec![0, 2]);
        assert_eq!(parse_cpu_list("0-2").unwrap(), vec![0, 1, 2]);
        assert!(parse_cpu_list("x").is_err());
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("").is_err());
    }

    #[test]
    fn raising_to_what_is_already_allowed_succeeds() {
        let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
        assert!(raise_nofile(soft.min(64)).is_ok());
    }
}
