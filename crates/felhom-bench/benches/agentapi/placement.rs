//! Where the scheduler runs the calling thread and the agent: left to it, or pinned with
//! `taskset` to one CPU or to two different ones.
//!
//! On this 2-CPU VM the cost of a kept-alive call depends mostly on that placement: on one CPU
//! a call is a cheap switch to the agent's thread and back; on two, every request wakes the
//! agent's thread on the other, often idle, vCPU (an inter-processor interrupt, charged to the
//! sender's `send`) and every answer wakes the client the same way. The bench measures both.

use std::error::Error;
use std::fs;
use std::process::{Command, Stdio};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Client thread and agent on the same CPU.
    SameCpu,
    /// Client thread on one CPU, the agent's threads on another.
    OtherCpus,
}

/// While alive, the calling thread and the agent are pinned; dropping it restores both
/// affinities as they were.
pub struct Pinned {
    tid: String,
    agent_pid: u32,
    thread_cpus: String,
    agent_cpus: String,
}

/// `Cpus_allowed_list` of a task.
fn allowed(status_path: &str) -> Result<String> {
    let status = fs::read_to_string(status_path)?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| format!("{status_path} has no Cpus_allowed_list").into())
}

/// The CPUs in a list such as `0-3,6`.
fn cpus(list: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<u32>().ok()),
        }
    }
    out
}

fn taskset(all_threads: bool, list: &str, id: &str) -> Result<()> {
    let mut cmd = Command::new("taskset");
    if all_threads {
        cmd.arg("-a");
    }
    let status = cmd
        .args(["-p", "-c", list, id])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("taskset -p -c {list} {id} failed with {status}").into());
    }
    Ok(())
}

impl Pinned {
    /// Pins the calling thread and every thread of `agent_pid` as `placement` says. Fails when
    /// `taskset` is missing or fewer than two CPUs are allowed.
    pub fn new(agent_pid: u32, placement: Placement) -> Result<Pinned> {
        let link = fs::read_link("/proc/thread-self")?;
        let tid = link
            .file_name()
            .and_then(|t| t.to_str())
            .ok_or("cannot read this thread's id")?
            .to_string();
        let thread_cpus = allowed("/proc/thread-self/status")?;
        let agent_cpus = allowed(&format!("/proc/{agent_pid}/status"))?;
        let usable = cpus(&thread_cpus);
        let [first, second, ..] = usable[..] else {
            return Err(format!("only CPUs {thread_cpus} are allowed: need two").into());
        };
        let agent_cpu = match placement {
            Placement::SameCpu => first,
            Placement::OtherCpus => second,
        };
        let pinned = Pinned {
            tid,
            agent_pid,
            thread_cpus,
            agent_cpus,
        };
        taskset(false, &first.to_string(), &pinned.tid)?;
        taskset(true, &agent_cpu.to_string(), &agent_pid.to_string())?;
        Ok(pinned)
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let _ = taskset(false, &self.thread_cpus, &self.tid);
        let _ = taskset(true, &self.agent_cpus, &self.agent_pid.to_string());
    }
}
