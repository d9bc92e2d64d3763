//! The state the accept loop, the connection threads and the `DevAgent` share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rustls::ServerConfig;

use super::control::{ConnCtl, StopSignal, lock};
use super::fault::FaultSlot;
use super::metrics::MetricsProfile;
use super::record::{Counters, RecordedRequest, RequestLog, Stats};
use super::routes::Agent;

/// One agent's state, behind an `Arc` held by every thread of its server.
pub(crate) struct Shared {
    pub(crate) stop: StopSignal,
    pub(crate) faults: Arc<FaultSlot>,
    /// The endpoints' state: one request at a time changes it.
    pub(crate) agent: Mutex<Agent>,
    pub(crate) tls: Arc<ServerConfig>,
    pub(crate) idle_timeout: Duration,
    counters: Counters,
    log: Mutex<RequestLog>,
    /// The open connections, by number.
    conns: Mutex<HashMap<u64, Arc<ConnCtl>>>,
}

impl Shared {
    pub(crate) fn new(
        faults: Arc<FaultSlot>,
        agent: Agent,
        tls: Arc<ServerConfig>,
        idle_timeout: Duration,
    ) -> Shared {
        Shared {
            stop: StopSignal::default(),
            faults,
            agent: Mutex::new(agent),
            tls,
            idle_timeout,
            counters: Counters::default(),
            log: Mutex::default(),
            conns: Mutex::default(),
        }
    }

    /// The endpoints' state, locked.
    pub(crate) fn agent(&self) -> MutexGuard<'_, Agent> {
        lock(&self.agent)
    }

    pub(crate) fn stats(&self) -> Stats {
        self.counters.stats()
    }

    pub(crate) fn count_connection(&self) {
        self.counters.count_connection();
    }

    pub(crate) fn count_handshake(&self) {
        self.counters.count_handshake();
    }

    pub(crate) fn count_request(&self) {
        self.counters.count_request();
    }

    /// What `GET /host/metrics` reports from now on.
    pub(crate) fn set_metrics_profile(&self, profile: MetricsProfile) {
        lock(&self.agent).set_metrics_profile(profile);
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).to_vec()
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        lock(&self.log).push(request);
    }

    /// Counts connection number `id` as open and registers its handle.
    pub(crate) fn open(&self, id: u64, ctl: Arc<ConnCtl>) {
        self.counters.opened();
        lock(&self.conns).insert(id, ctl);
    }

    /// Undoes [`Shared::open`].
    pub(crate) fn close(&self, id: u64) {
        lock(&self.conns).remove(&id);
        self.counters.closed();
    }

    /// Asks every idle connection to close; returns those that were asked.
    pub(crate) fn close_idle(&self) -> Vec<Arc<ConnCtl>> {
        lock(&self.conns)
            .values()
            .filter(|conn| conn.request_close_if_idle())
            .cloned()
            .collect()
    }

    /// Cuts the sockets of every open connection.
    pub(crate) fn cut_all(&self) {
        for conn in lock(&self.conns).values() {
            conn.cut();
        }
    }
}
