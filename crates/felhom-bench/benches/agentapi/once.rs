//! What a run measures once rather than per repetition: the machine, the syscalls of
//! kept-alive calls, and the rest of what the report's head and footprint rows show.

/// Everything measured once per run rather than per repetition.
pub struct Once {
    pub machine: Machine,
    pub date: String,
    pub command: String,
    pub repetitions: usize,
    pub load_before: String,
    pub load_after: String,
    pub binary_bytes: u64,
    pub deps_default: Option<usize>,
    pub deps_cli: Option<usize>,
    pub syscalls: Result<Syscalls, String>,
    pub syscalls_threads: Result<Syscalls, String>,
    pub curl_pin_checked: bool,
    pub rss_available: bool,
    pub agent_last_words: String,
}

/// Syscalls of kept-alive calls, from `strace -f -c` over this bench binary's child mode.
pub struct Syscalls {
    /// Threads sharing the client.
    pub threads: usize,
    /// Calls measured per thread (beyond the warm-up both runs make).
    pub calls: usize,
    /// All syscalls per call.
    pub per_call: f64,
    /// clone/clone3/fork/vfork in the whole run with `calls` calls (start-up included).
    pub clones_total: u64,
    /// The same, less the run with no measured calls.
    pub clones_extra: i64,
    /// Syscalls per call by name, most frequent first.
    pub by_name: Vec<(String, f64)>,
}

/// The machine, for the report.
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub kernel: String,
    pub rustc: String,
    pub curl: String,
}
