//! Clocks and order statistics.

use std::fs;
use std::io;

/// Nanoseconds the calling thread has spent on a CPU: the first field of
/// `/proc/thread-self/schedstat` (the scheduler's `sum_exec_runtime`).
///
/// The kernel brings the figure up to date whenever the thread is scheduled out, which a
/// blocking call does on every read of the answer, so over a batch of calls the error is at
/// most the CPU time since the last blocking read (a fraction of one call).
pub fn thread_cpu_ns() -> io::Result<u64> {
    first_field("/proc/thread-self/schedstat")
}

/// The same for every thread of process `pid`, summed. Threads that exit take their time with
/// them, so this is meant for a process whose threads outlive the measurement.
pub fn process_cpu_ns(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for task in fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        // A thread may exit between the listing and the read.
        if let Ok(ns) = first_field(&path.to_string_lossy()) {
            total += ns;
        }
    }
    Ok(total)
}

fn first_field(path: &str) -> io::Result<u64> {
    let text = fs::read_to_string(path)?;
    text.split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| io::Error::other(format!("{path}: unexpected contents {text:?}")))
}

/// The median (mean of the middle two for an even count); NaN for no values.
pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// The `q` quantile by linear interpolation between order statistics; NaN for no values.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// The smallest and largest value; NaNs for no values.
pub fn range(values: &[f64]) -> (f64, f64) {
    let v = values.iter().copied().filter(|x| !x.is_nan());
    let min = v.clone().fold(f64::NAN, f64::min);
    let max = v.fold(f64::NAN, f64::max);
    (min, max)
}

/// Named figures, one value per repetition of the suite, in the order they were first given.
#[derive(Debug, Default)]
pub struct Figures {
    rows: Vec<(String, Vec<f64>)>,
}

impl Figures {
    /// Records one repetition's value of `key`.
    pub fn push(&mut self, key: impl Into<String>, value: f64) {
        let key = key.into();
        match self.rows.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push(value),
            None => self.rows.push((key, vec![value])),
        }
    }

    /// Every repetition's value of `key`.
    pub fn values(&self, key: &str) -> &[f64] {
        self.rows
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default()
    }

    /// The median over repetitions of `key`.
    pub fn median(&self, key: &str) -> f64 {
        median(self.values(key))
    }
}
