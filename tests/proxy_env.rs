//! Proxy variables in the environment are ignored: the bridge to the agent is direct, and a
//! proxy would see (or break) the connection.
//!
//! A test binary of its own, because it changes the process environment.
#![cfg(feature = "devagent")]

use std::net::TcpListener;

use felhom_agentapi::Client;
use felhom_agentapi::devagent::DevAgent;

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

    let agent = DevAgent::start().unwrap();
    let client = Client::new(
        &agent.endpoint(),
        agent.token(),
        &agent.fingerprint().to_string(),
    )
    .unwrap();
    client
        .storage()
        .expect("the call goes straight to the agent");
    assert_eq!(agent.requests().len(), 1);
    assert!(proxy.accept().is_err(), "the client connected to the proxy");
}
