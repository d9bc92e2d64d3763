//! Proxy variables in the environment are ignored: the bridge to the agent is direct, and a
//! proxy would see (or break) the connection.
//!
//! A test binary of its own, because it changes the process environment.
#![allow(
    unsafe_code,
    reason = "edition 2024 makes set_var unsafe; see the SAFETY note"
)]

mod common;

use std::net::TcpListener;

use common::{agent, client};

#[test]
fn proxy_variables_are_ignored() {
    // A "proxy" that would notice any connection.
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    for name in [
        "ALL_PROXY",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "all_proxy",
        "https_proxy",
        "http_proxy",
    ] {
        // SAFETY: this binary's only test sets the variables before it starts any thread of
        // its own, and nothing else in the process reads the environment concurrently.
        unsafe { std::env::set_var(name, &proxy_url) };
    }

    let agent = agent();
    let client = client(&agent);
    client
        .storage()
        .expect("the call goes straight to the agent");
    assert_eq!(agent.requests().len(), 1);
    assert!(proxy.accept().is_err(), "the client connected to the proxy");
}
