//! Request methods (`EVHTTP_REQ_*`): the [`Method`] of a request and the
//! [`Methods`] set a server allows.

use crate::flags::flag_set;

flag_set! {
    /// A set of request methods (`EVHTTP_REQ_*`, libevent's bit values),
    /// for [`Http::set_allowed_methods`](super::Http::set_allowed_methods).
    /// A request whose method is outside the server's set gets
    /// `501 Not Implemented`, as in libevent.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Method, Methods};
    /// let m = Methods::default_allowed();
    /// assert!(m.contains(Method::Head.bit()));
    /// assert!(!m.contains(Methods::PATCH));
    /// ```
    #[doc(alias = "evhttp_cmd_type")]
    pub struct Methods: u32 {
        /// `GET`.
        const GET = 1 << 0;
        /// `POST`.
        const POST = 1 << 1;
        /// `HEAD`.
        const HEAD = 1 << 2;
        /// `PUT`.
        const PUT = 1 << 3;
        /// `DELETE`.
        const DELETE = 1 << 4;
        /// `OPTIONS`.
        const OPTIONS = 1 << 5;
        /// `TRACE`.
        const TRACE = 1 << 6;
        /// `CONNECT`.
        const CONNECT = 1 << 7;
        /// `PATCH`.
        const PATCH = 1 << 8;
        /// WebDAV `PROPFIND`.
        const PROPFIND = 1 << 9;
        /// WebDAV `PROPPATCH`.
        const PROPPATCH = 1 << 10;
        /// WebDAV `MKCOL`.
        const MKCOL = 1 << 11;
        /// WebDAV `LOCK`.
        const LOCK = 1 << 12;
        /// WebDAV `UNLOCK`.
        const UNLOCK = 1 << 13;
        /// WebDAV `COPY`.
        const COPY = 1 << 14;
        /// WebDAV `MOVE`.
        const MOVE = 1 << 15;
        /// Any other method token ([`Method::Extension`]); libevent 2.2
        /// asks a comparison callback instead.
        const EXTENSION = 1 << 16;
    }
}

impl Methods {
    /// libevent's default: `GET POST HEAD PUT DELETE`.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Method, Methods};
    ///
    /// let d = Methods::default_allowed();
    /// assert!(d.contains(Method::Delete.bit()));
    /// assert!(!d.contains(Method::Patch.bit())); // PATCH is answered 501
    /// ```
    pub const fn default_allowed() -> Methods {
        Methods::from_bits_retain(
            Methods::GET.bits()
                | Methods::POST.bits()
                | Methods::HEAD.bits()
                | Methods::PUT.bits()
                | Methods::DELETE.bits(),
        )
    }
}

/// A request's method (`enum evhttp_cmd_type`). A method token rvent does
/// not name is [`Method::Extension`]; its text is
/// [`Request::method_str`](super::Request::method_str).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[doc(alias = "evhttp_cmd_type")]
#[allow(missing_docs)]
pub enum Method {
    Get,
    Post,
    Head,
    Put,
    Delete,
    Options,
    Trace,
    Connect,
    Patch,
    Propfind,
    Proppatch,
    Mkcol,
    Lock,
    Unlock,
    Copy,
    Move,
    /// Any other token.
    Extension,
}

/// The named methods with their tokens, in bit order.
const NAMED: [(Method, &[u8]); 16] = [
    (Method::Get, b"GET"),
    (Method::Post, b"POST"),
    (Method::Head, b"HEAD"),
    (Method::Put, b"PUT"),
    (Method::Delete, b"DELETE"),
    (Method::Options, b"OPTIONS"),
    (Method::Trace, b"TRACE"),
    (Method::Connect, b"CONNECT"),
    (Method::Patch, b"PATCH"),
    (Method::Propfind, b"PROPFIND"),
    (Method::Proppatch, b"PROPPATCH"),
    (Method::Mkcol, b"MKCOL"),
    (Method::Lock, b"LOCK"),
    (Method::Unlock, b"UNLOCK"),
    (Method::Copy, b"COPY"),
    (Method::Move, b"MOVE"),
];

impl Method {
    /// The method named by `token` (case-sensitive, as RFC 9110 says).
    ///
    /// # Examples
    /// ```
    /// use rvent::Method;
    ///
    /// assert_eq!(Method::from_token(b"GET"), Method::Get);
    /// assert_eq!(Method::from_token(b"get"), Method::Extension); // case-sensitive
    /// ```
    pub fn from_token(token: &[u8]) -> Method {
        if token == b"GET" {
            return Method::Get; // the common case first
        }
        NAMED
            .iter()
            .find(|(_, t)| *t == token)
            .map_or(Method::Extension, |&(m, _)| m)
    }

    /// This method's bit in a [`Methods`] set.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Method, Methods};
    ///
    /// let m = Method::Get.bit() | Method::Post.bit();
    /// assert!(m.contains(Method::Post.bit()));
    /// assert!(Methods::default_allowed().contains(m));
    /// ```
    pub fn bit(self) -> Methods {
        match NAMED.iter().position(|&(m, _)| m == self) {
            Some(i) => Methods::from_bits_retain(1 << i),
            None => Methods::EXTENSION,
        }
    }

    /// The method's token; `None` for [`Method::Extension`].
    ///
    /// # Examples
    /// ```
    /// use rvent::Method;
    ///
    /// assert_eq!(Method::Propfind.as_str(), Some("PROPFIND"));
    /// assert_eq!(Method::Extension.as_str(), None);
    /// ```
    pub fn as_str(self) -> Option<&'static str> {
        let (_, t) = NAMED.iter().find(|&&(m, _)| m == self)?;
        std::str::from_utf8(t).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bits_are_libevents() {
        for (i, &(m, t)) in NAMED.iter().enumerate() {
            assert_eq!(Method::from_token(t), m);
            assert_eq!(m.bit().bits(), 1 << i);
            assert_eq!(m.as_str().unwrap().as_bytes(), t);
        }
        assert_eq!(Method::from_token(b"get"), Method::Extension);
        assert_eq!(Method::from_token(b"CUSTOM"), Method::Extension);
        assert_eq!(Method::Extension.bit(), Methods::EXTENSION);
        assert_eq!(Methods::default_allowed().bits(), 0x1f);
        assert_eq!(Methods::MOVE.bits(), 0x8000);
    }
}
