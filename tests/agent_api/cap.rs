//! The 1 MiB cap on answers holds for every way HTTP/1.1 delimits a body, whatever ureq version
//! `Cargo.toml` lets a user resolve (ureq 3.5.2 changed what its own limit means).

use felhom_agentapi::{Client, Error};

use crate::servers::{self, Served, TlsServer, close_politely, read_request};

#[derive(Clone, Copy, Debug)]
enum Framing {
    ContentLength,
    Chunked,
    CloseDelimited,
}

/// The answer to `GET /storage`: an envelope of exactly `size` bytes, framed so. Every framing
/// announces `Connection: close`, so each call has a connection of its own.
fn framed(framing: Framing, size: usize) -> Vec<u8> {
    let body = servers::storage_envelope(size);
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n";
    let mut wire = head.as_bytes().to_vec();
    match framing {
        Framing::ContentLength => {
            wire.extend_from_slice(format!("content-length: {size}\r\n\r\n").as_bytes());
            wire.extend_from_slice(&body);
        }
        Framing::Chunked => {
            wire.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
            for chunk in body.chunks(60_000) {
                wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                wire.extend_from_slice(chunk);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n\r\n");
        }
        // The end of the connection ends the body.
        Framing::CloseDelimited => {
            wire.extend_from_slice(b"\r\n");
            wire.extend_from_slice(&body);
        }
    }
    wire
}

#[test]
fn one_mebibyte_is_read_and_one_byte_more_is_refused_in_every_framing() {
    let max = Client::MAX_RESPONSE_BYTES as usize;
    let cases = [
        (Framing::ContentLength, max),
        (Framing::ContentLength, max + 1),
        (Framing::Chunked, max),
        (Framing::Chunked, max + 1),
        (Framing::CloseDelimited, max),
        (Framing::CloseDelimited, max + 1),
    ];
    let served = Served::fresh();
    let server = TlsServer::start(servers::config(&served), cases.len(), move |i, tls| {
        let (framing, size) = cases[i];
        read_request(tls).expect("a request");
        // The client may stop reading once it has seen too much: a failed write is fine.
        let _ = std::io::Write::write_all(tls, &framed(framing, size));
        let _ = std::io::Write::flush(tls);
        close_politely(tls);
    });
    let client = Client::new(&server.endpoint, "token", served.pin()).unwrap();
    for (framing, size) in cases {
        let result = client.storage();
        if size <= max {
            let storage = result.unwrap_or_else(|e| panic!("{framing:?}, {size} bytes: {e}"));
            assert_eq!(storage.vmid, 7, "{framing:?}");
        } else {
            match result {
                Err(Error::ResponseTooLarge { limit, .. }) => {
                    assert_eq!(limit, Client::MAX_RESPONSE_BYTES, "{framing:?}")
                }
                other => panic!("{framing:?}, {size} bytes must be refused, got {other:?}"),
            }
        }
    }
    server.finish();
}
