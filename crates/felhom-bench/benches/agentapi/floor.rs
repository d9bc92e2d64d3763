//! The floor under a kept-alive call: a bare TCP round trip over loopback (no TLS, no HTTP, no
//! JSON) between this process and a trivial answering server in another process, with the
//! same sizes as a `GET /storage` and the same placements. Whatever a kept-alive call costs
//! above this is the client's own work; this much any client pays on this machine.
//!
//! The server is this bench binary in `--echo-server` mode: it prints its port, answers every
//! read with `ANSWER_BYTES` bytes, and exits at end of file on its standard input.

use std::error::Error;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::placement::{Pinned, Placement};
use crate::stats::{Figures, median, process_cpu_ns, thread_cpu_ns};

/// The sizes of the client's `GET /storage` request and of the agent's answer on the wire, as
/// TLS records (seen with strace: one 183-byte write and one 338-byte read per call).
const REQUEST_BYTES: usize = 183;
const ANSWER_BYTES: usize = 338;
const WARMUP: usize = 300;
const BATCHES: usize = 5;
const BATCH_ROUND_TRIPS: usize = 1000;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The `--echo-server` mode.
pub fn serve() -> Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    println!("{}", listener.local_addr()?.port());
    io::stdout().flush()?;
    thread::spawn(|| {
        let mut sink = [0; 64];
        while matches!(io::stdin().read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    for stream in listener.incoming() {
        let mut stream = stream?;
        thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let answer = [b'a'; ANSWER_BYTES];
            let mut buf = [0; 4096];
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {
                if stream.write_all(&answer).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}

/// The echo server process, stopped on drop.
pub struct EchoProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
}

impl EchoProcess {
    pub fn start() -> Result<EchoProcess> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--echo-server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let mut echo = EchoProcess {
            child,
            stdin,
            port: 0,
        };
        let mut line = String::new();
        BufReader::new(stdout.ok_or("the echo server's output was not piped")?)
            .read_line(&mut line)?;
        echo.port = line
            .trim()
            .parse()
            .map_err(|_| format!("the echo server printed {line:?}, not a port"))?;
        Ok(echo)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EchoProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request and its answer. With `like_ureq`, also the syscalls a kept-alive ureq call
/// makes around them (seen with strace): the pool's open-probe before the request and after
/// the answer (each: `FIONBIO` on, a 1-byte read that would block, `FIONBIO` off), and a
/// socket timeout set before the write and before the read, to a value that changes each time.
fn round_trip(
    stream: &mut TcpStream,
    request: &[u8],
    answer: &mut [u8],
    like_ureq: Option<Instant>,
) -> io::Result<()> {
    let Some(started) = like_ureq else {
        stream.write_all(request)?;
        return stream.read_exact(answer);
    };
    let left = || Duration::from_secs(15).saturating_sub(started.elapsed());
    probe(stream)?;
    stream.set_write_timeout(Some(left()))?;
    stream.write_all(request)?;
    stream.set_read_timeout(Some(left()))?;
    stream.read_exact(answer)?;
    probe(stream)
}

/// ureq's `probe_tcp_stream`: is the connection still open, with nothing unread?
fn probe(stream: &mut TcpStream) -> io::Result<()> {
    stream.set_nonblocking(true)?;
    match stream.read(&mut [0]) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        _ => return Err(io::Error::other("the echo server sent more than expected")),
    }
    stream.set_nonblocking(false)
}

/// Round trips with this thread and the server placed as `placement` says; with `like_ureq`,
/// plus the syscalls ureq adds. Records `floor_same.*`, `floor_cross.*`, `floorx_same.*` or
/// `floorx_cross.*`.
pub fn measure(
    echo: &EchoProcess,
    placement: Placement,
    like_ureq: bool,
    out: &mut Figures,
) -> Result<()> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, echo.port))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let request = [b'r'; REQUEST_BYTES];
    let mut answer = [0; ANSWER_BYTES];
    let pinned = Pinned::new(echo.pid(), placement)?;
    let mut exchange = || {
        round_trip(
            &mut stream,
            &request,
            &mut answer,
            like_ureq.then(Instant::now),
        )
    };
    for _ in 0..WARMUP {
        exchange()?;
    }
    let (mut wall, mut cpu, mut server) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..BATCHES {
        let s0 = process_cpu_ns(echo.pid()).ok();
        let c0 = thread_cpu_ns()?;
        let t0 = Instant::now();
        for _ in 0..BATCH_ROUND_TRIPS {
            exchange()?;
        }
        let elapsed = t0.elapsed().as_nanos() as f64;
        let c1 = thread_cpu_ns()?;
        let s1 = process_cpu_ns(echo.pid()).ok();
        let n = BATCH_ROUND_TRIPS as f64;
        wall.push(elapsed / 1000.0 / n);
        cpu.push((c1 - c0) as f64 / 1000.0 / n);
        if let (Some(s0), Some(s1)) = (s0, s1) {
            server.push(s1.saturating_sub(s0) as f64 / 1000.0 / n);
        }
    }
    drop(pinned);
    let prefix = match (placement, like_ureq) {
        (Placement::SameCpu, false) => "floor_same",
        (Placement::OtherCpus, false) => "floor_cross",
        (Placement::SameCpu, true) => "floorx_same",
        (Placement::OtherCpus, true) => "floorx_cross",
    };
    out.push(format!("{prefix}.wall_us"), median(&wall));
    out.push(format!("{prefix}.cpu_us"), median(&cpu));
    out.push(format!("{prefix}.server_us"), median(&server));
    Ok(())
}
