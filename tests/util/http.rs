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
        let len: usize = match reply.header("content-length") {
            Some(l) if !head_request && status >= 200 => l.parse().unwrap(),
            _ => 0,
        };
        while self.buf.len() < len {
            assert!(self.fill(), "EOF inside a body");
        }
        reply.body = self.buf.drain(..len).collect();
        Some(reply)
    }

    pub fn read_reply(&mut self) -> Reply {
        self.read_reply_to(false).expect("a reply")
    }

    /// Whether the server closes the connection with nothing more sent.
    pub fn closed(&mut self) -> bool {
        !self.fill() && self.buf.is_empty()
    }
}
