//! A token that cannot travel as a bearer header is refused when the client is built: nothing is
//! ever sent with it.

use felhom_agentapi::{Client, Error};
use felhom_devagent::DevAgent;

use crate::Pinned;
use crate::agent;

#[test]
fn a_token_that_is_not_visible_ascii_is_a_config_error_and_nothing_is_sent() {
    let agent = agent();
    let pin = agent.pin();
    for (token, says) in [
        ("tökén", "outside ASCII"),
        ("token\u{a0}", "outside ASCII"),
        ("tok en", "white space"),
        ("token\t", "white space"),
        ("token\n", "line break"),
        ("to\rken", "line break"),
        ("tok\u{7f}en", "control character"),
        ("tok\u{0}en", "control character"),
    ] {
        let result = Client::new(&agent.endpoint(), token, pin);
        let message = match result {
            Err(Error::Config { message }) => message,
            other => panic!("{token:?} must be refused at construction, got {other:?}"),
        };
        assert!(message.contains(says), "{token:?}: {message}");
        assert!(message.contains("visible ASCII"), "{token:?}: {message}");
        assert!(!message.contains(token), "{token:?} echoed: {message}");
    }
    assert_eq!(agent.stats().connections, 0, "nothing may be sent");
}

#[test]
fn every_visible_ascii_character_travels_in_a_token() {
    let token: String = ('!'..='~').collect();
    let agent = DevAgent::builder().token(token.clone()).start().unwrap();
    let client = Client::new(&agent.endpoint(), &token, agent.pin()).unwrap();
    client.storage().expect("the agent accepts the token");
    let sent = agent.requests()[0]
        .header("authorization")
        .map(str::to_owned);
    assert_eq!(sent, Some(format!("Bearer {token}")));
}
