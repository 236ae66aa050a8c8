//! A raw HTTP/1.1 client for the server tests: write bytes (in pieces,
//! to split requests anywhere) and read replies framed by their
//! Content-Length, over blocking loopback sockets with timeouts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

/// A reply as read off the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first value of field `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A client connection with what it has read and not yet parsed.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends `request` on a new connection and reads its reply.
    pub fn request(addr: SocketAddr, request: &[u8]) -> Reply {
        let mut c = Client::connect(addr);
        c.send(request);
        c.read_reply()
    }

    /// Writes `parts` one by one, pausing a little between them so the
    /// server reads them apart.
    pub fn send_parts(&mut self, parts: &[&[u8]]) {
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                thread::sleep(Duration::from_millis(5));
            }
            self.stream.write_all(p).unwrap();
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Reads one reply (`None` on EOF first). `head_request`: no body
    /// follows whatever Content-Length says.
    pub fn read_reply_to(&mut self, head_request: bool) -> Option<Reply> {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill() {
                return None;
            }
        };
        let head = String::from_utf8(self.buf[..end - 4].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
        let status = status_line[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.to_string(), v.trim().to_string())
            })
            .collect();
        self.buf.drain(..end);
        let mut reply = Reply {
            status,
            headers,
            body: Vec::new(),
        };
        let has_body = !head_request && status >= 200 && status != 204 && status != 304;
        let chunked = reply
            .header("transfer-encoding")
            .is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
        if has_body && chunked {
            reply.body = self.read_chunked();
            return Some(reply);
        }
        let len: usize = match reply.header("content-length") {
            Some(l) if has_body => l.parse().unwrap(),
            None if has_body && reply.header("connection") == Some("close") => {
                // Close-delimited: the body is what comes before EOF.
                while self.fill() {}
                self.buf.len()
            }
            _ => 0,
        };
        while self.buf.len() < len {
            assert!(self.fill(), "EOF inside a body");
        }
        reply.body = self.buf.drain(..len).collect();
        Some(reply)
    }

    /// Reads a line ending in CRLF (without it).
    fn read_line(&mut self) -> Vec<u8> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..i].to_vec();
                self.buf.drain(..i + 2);
                return line;
            }
            assert!(self.fill(), "EOF inside a chunked body");
        }
    }

    /// Reads a chunked body (no trailers), checking its framing.
    fn read_chunked(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line = String::from_utf8(self.read_line()).unwrap();
            let size = usize::from_str_radix(&line, 16).unwrap_or_else(|_| panic!("{line:?}"));
            if size == 0 {
                assert_eq!(self.read_line(), b"", "no trailers");
                return body;
            }
            while self.buf.len() < size + 2 {
                assert!(self.fill(), "EOF inside a chunk");
            }
            body.extend(self.buf.drain(..size));
            assert_eq!(self.buf.drain(..2).collect::<Vec<u8>>(), b"\r\n");
        }
    }

    pub fn read_reply(&mut self) -> Reply {
        self.read_reply_to(false).expect("a reply")
    }

    /// Whether the server closes the connection with nothing more sent.
    pub fn closed(&mut self) -> bool {
        !self.fill() && self.buf.is_empty()
    }
}
