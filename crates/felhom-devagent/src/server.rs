//! The listener, its accept loop, the connection threads it starts, and a shutdown that is
//! prompt and bounded.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::ServerConfig;

use super::connection;
use super::control::{ConnCtl, Phase};
use super::fault::FaultSlot;
use super::routes::Agent;
use super::shared::Shared;

/// How long connection threads get to close politely (TLS `close_notify`) on shutdown before
/// their sockets are cut under them.
const GRACE: Duration = Duration::from_millis(200);
/// The most that stopping waits for threads; a thread still running after that is left to
/// finish on its own (its socket is already shut down).
const JOIN_BOUND: Duration = Duration::from_millis(1500);

/// Everything `DevAgentBuilder::start` decided.
pub(crate) struct Config {
    pub(crate) bind: SocketAddr,
    pub(crate) tls: Arc<ServerConfig>,
    pub(crate) agent: Agent,
    pub(crate) faults: Arc<FaultSlot>,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_lifetime: Duration,
}

/// A running server; stopping it (explicitly or on drop) is idempotent.
pub(crate) struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Returns the connection threads it started, still to be joined.
    accept: Option<JoinHandle<Vec<JoinHandle<()>>>>,
    lifetime: Option<JoinHandle<()>>,
}

impl Server {
    pub(crate) fn start(config: Config) -> io::Result<Server> {
        let listener = TcpListener::bind(config.bind)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(
            config.faults,
            config.agent,
            config.tls,
            config.idle_timeout,
        ));
        let accept = thread::Builder::new()
            .name(format!("devagent-accept-{}", addr.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || accept_loop(&listener, &shared)
            })?;
        // From here on, an early return drops `server`, which stops what was started.
        let mut server = Server {
            addr,
            shared,
            accept: Some(accept),
            lifetime: None,
        };
        let max_lifetime = config.max_lifetime;
        server.lifetime = Some(
            thread::Builder::new()
                .name(format!("devagent-lifetime-{}", addr.port()))
                .spawn({
                    let shared = Arc::clone(&server.shared);
                    move || {
                        if shared.stop.sleep(max_lifetime) {
                            shared.stop.trigger();
                            wake(addr);
                        }
                    }
                })?,
        );
        Ok(server)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn close_idle_connections(&self) {
        let idle = self.shared.close_idle();
        let deadline = Instant::now() + Duration::from_secs(2);
        for conn in idle {
            conn.wait_closed(deadline);
        }
    }

    fn stop(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        let deadline = Instant::now() + JOIN_BOUND;
        self.shared.stop.trigger();
        // The accept loop blocks in accept(): a connection of our own wakes it. Skip it if the
        // loop already ended (after max_lifetime), since the port may belong to someone else by
        // now.
        if !accept.is_finished() {
            wake(self.addr);
        }
        let workers = join_by(accept, deadline).unwrap_or_default();

        // Connection threads see the stop within one POLL and close politely; cut the sockets
        // of any that are still stuck after that (say, writing to a client that never reads).
        let grace_end = Instant::now() + GRACE;
        while Instant::now() < grace_end && !workers.iter().all(JoinHandle::is_finished) {
            thread::sleep(Duration::from_millis(5));
        }
        self.shared.cut_all();
        for worker in workers {
            join_by(worker, deadline);
        }
        if let Some(lifetime) = self.lifetime.take() {
            join_by(lifetime, deadline);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Joins `handle` if it finishes before `deadline`; otherwise leaves the thread detached.
fn join_by<T>(handle: JoinHandle<T>, deadline: Instant) -> Option<T> {
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(2));
    }
    handle.join().ok()
}

/// Unblocks the accept loop with a throwaway connection.
fn wake(addr: SocketAddr) {
    let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(500));
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) -> Vec<JoinHandle<()>> {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut accepted = 0u64;
    while !shared.stop.is_set() {
        let socket = match listener.accept() {
            Ok((socket, _)) => socket,
            Err(_) => {
                // Out of file descriptors and the like: back off instead of spinning.
                shared.stop.sleep(Duration::from_millis(10));
                continue;
            }
        };
        if shared.stop.is_set() {
            break; // most likely our own wake-up connection
        }
        accepted += 1;
        shared.count_connection();
        reap(&mut workers);
        if let Some(worker) = spawn_connection(shared, accepted, socket) {
            workers.push(worker);
        }
    }
    workers
}

/// Joins the connection threads that have ended, so the list stays short on long runs.
fn reap(workers: &mut Vec<JoinHandle<()>>) {
    let mut i = 0;
    while i < workers.len() {
        if workers[i].is_finished() {
            let _ = workers.swap_remove(i).join();
        } else {
            i += 1;
        }
    }
}

fn spawn_connection(shared: &Arc<Shared>, id: u64, socket: TcpStream) -> Option<JoinHandle<()>> {
    let ctl = Arc::new(ConnCtl::new(&socket).ok()?);
    shared.open(id, Arc::clone(&ctl));
    let guard = OpenConnection {
        shared: Arc::clone(shared),
        id,
        ctl,
    };
    thread::Builder::new()
        .name(format!("devagent-conn-{id}"))
        .spawn(move || connection::serve(&guard.shared, id, &guard.ctl, socket))
        .ok()
    // If spawning failed, the closure and with it `guard` are dropped here: the count and the
    // registry are put right again.
}

/// Unregisters a connection however its thread ends.
struct OpenConnection {
    shared: Arc<Shared>,
    id: u64,
    ctl: Arc<ConnCtl>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.shared.close(self.id);
        self.ctl.set(Phase::Closed);
    }
}
