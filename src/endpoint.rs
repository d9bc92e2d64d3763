//! Parsing the agent's endpoint: `host:port`, `[v6]:port`, optionally behind `https://`.

use std::net::{IpAddr, Ipv6Addr};

use crate::terminal::shorten;

/// A validated endpoint, ready to put in an `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// The authority as it goes into the URL: `10.0.0.1:8443`, `[fd00::1]:8443`, `agent:8443`.
    pub(crate) authority: String,
}

impl Endpoint {
    /// The base URL; only ever `https`.
    pub(crate) fn base_url(&self) -> String {
        format!("https://{}", self.authority)
    }
}

/// Parses an endpoint, or says what is wrong with it.
pub(crate) fn parse(input: &str) -> Result<Endpoint, String> {
    let trimmed = input.trim();
    // Echoed in the messages below, shortened: a pasted 5,000-character line is shown cut.
    let shown = shorten(trimmed);
    if trimmed.is_empty() {
        return Err("the endpoint is empty: expected host:port, such as 10.0.0.1:8443".into());
    }
    let rest = match trimmed.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "the endpoint {shown} uses the scheme {}: the agent only speaks https, give \
                 host:port or https://host:port",
                shorten(scheme)
            ));
        }
        None => trimmed,
    };
    if let Some(at) = rest.find(['/', '?', '#']) {
        return Err(format!(
            "the endpoint {shown} has a path or query ({}): give only host:port",
            shorten(&rest[at..])
        ));
    }
    if rest.contains('@') {
        return Err(format!(
            "the endpoint {shown} holds user information: give only host:port"
        ));
    }

    let (host, port) = split_host_port(rest).ok_or_else(|| {
        format!(
            "the endpoint {shown} has no port: expected host:port, such as 10.0.0.1:8443 \
             or [fd00::1]:8443"
        )
    })?;
    let (host_shown, port_shown) = (shorten(host), shorten(port));
    let port: u16 = match port.parse() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => {
            return Err(format!(
                "the endpoint {shown} has the port {port_shown}: expected a number from 1 to 65535"
            ));
        }
    };

    let authority = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let ip: Ipv6Addr = v6.parse().map_err(|_| {
            format!(
                "the endpoint {shown} has {host_shown} in brackets, which is not an IPv6 address"
            )
        })?;
        format!("[{ip}]:{port}")
    } else if host.is_empty() {
        return Err(format!("the endpoint {shown} has no host before the port"));
    } else if host.contains(':') {
        return Err(format!(
            "the endpoint {shown} looks like a bare IPv6 address: put it in brackets, \
             as in [fd00::1]:8443"
        ));
    } else if let Ok(ip) = host.parse::<IpAddr>() {
        format!("{ip}:{port}")
    } else if ends_in_a_number(host) {
        return Err(format!(
            "the endpoint {shown} has the host {host_shown}, which resolvers read as an IPv4 \
             address in another notation: write the address in dotted decimal"
        ));
    } else if is_dns_name(host) {
        format!("{}:{port}", host.to_ascii_lowercase())
    } else {
        return Err(format!(
            "the endpoint {shown} has the host {host_shown}, which is neither an IP address \
             nor a host name"
        ));
    };
    Ok(Endpoint { authority })
}

/// Splits at the last `:`, leaving bracketed IPv6 hosts whole.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if s.starts_with('[') {
        let close = s.find(']')?;
        let port = s[close + 1..].strip_prefix(':')?;
        Some((&s[..=close], port))
    } else {
        s.rsplit_once(':')
    }
}

/// The WHATWG URL rule: a host whose last label is a number (decimal, or hex with `0x`) is an
/// IPv4 address to inet_aton/getaddrinfo, whatever it looks like.
fn ends_in_a_number(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or("");
    let hex = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X"));
    match hex {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn is_dns_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn accepts_the_documented_forms() {
        for (input, authority) in [
            ("10.0.0.1:8443", "10.0.0.1:8443"),
            ("  https://10.0.0.1:8443\n", "10.0.0.1:8443"),
            ("HTTPS://10.0.0.1:8443", "10.0.0.1:8443"),
            ("[fd00::1]:8443", "[fd00::1]:8443"),
            ("https://[FD00:0::1]:8443", "[fd00::1]:8443"),
            ("Agent.Local:1", "agent.local:1"),
        ] {
            assert_eq!(
                parse(input).map(|e| e.authority),
                Ok(authority.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn the_base_url_is_always_https() {
        for input in [
            "10.0.0.1:8443",
            "https://10.0.0.1:8443",
            "[fd00::1]:8443",
            "agent.local:1",
        ] {
            let url = parse(input).unwrap().base_url();
            let uri: ureq::http::Uri = url.parse().unwrap();
            assert_eq!(uri.scheme_str(), Some("https"), "{input} -> {url}");
        }
    }

    #[test]
    fn rejects_everything_else_with_a_reason() {
        for (input, says) in [
            ("", "empty"),
            ("http://10.0.0.1:8443", "only speaks https"),
            ("ftp://10.0.0.1:21", "only speaks https"),
            ("10.0.0.1", "no port"),
            ("10.0.0.1:", "port"),
            ("10.0.0.1:0", "port"),
            ("10.0.0.1:65536", "port"),
            ("10.0.0.1:+80", "port"),
            (":8443", "no host"),
            ("https://10.0.0.1:8443/", "path"),
            ("10.0.0.1:8443/storage", "path"),
            ("10.0.0.1:8443?x=1", "path or query"),
            ("user@10.0.0.1:8443", "user information"),
            ("fd00::1:8443", "brackets"),
            ("[not-v6]:8443", "not an IPv6"),
            ("[fd00::1]8443", "no port"),
            ("bad_host!:8443", "neither"),
        ] {
            let err = parse(input).expect_err(input);
            assert!(err.contains(says), "{input:?} gave {err:?}");
        }
    }
}
