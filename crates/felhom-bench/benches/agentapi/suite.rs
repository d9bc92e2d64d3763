//! How much the suite measures per repetition: the batches, calls and rounds the measuring
//! modules run and the report quotes.

/// Kept-alive batches per repetition, and calls per batch.
pub const KEPT_BATCHES: usize = 7;
pub const KEPT_BATCH_CALLS: usize = 1000;
/// Kept-alive batches per repetition with pinned threads.
pub const PINNED_BATCHES: usize = 5;
/// Calls timed one by one, for the percentiles.
pub const TIMED_CALLS: usize = 2000;
/// Threads sharing one client; batches and calls per thread per batch.
pub const THREADS: usize = 8;
pub const THREAD_BATCHES: usize = 7;
pub const THREAD_BATCH_CALLS: usize = 400;
/// Fresh-connection batches, and calls per batch.
pub const FRESH_BATCHES: usize = 5;
pub const FRESH_BATCH_CALLS: usize = 50;
/// Timed invocations of each one-shot command, alternating, per repetition.
pub const WALL_ROUNDS: usize = 40;
/// Invocations of each one-shot command under `/usr/bin/time`, alternating, per repetition.
pub const RSS_ROUNDS: usize = 12;
