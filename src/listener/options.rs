//! A listener's options (`LEV_OPT_*`), with libevent's bit values.

use crate::flags::flag_set;

flag_set! {
    /// Listener options (`LEV_OPT_*`), with libevent's values.
    ///
    /// `REUSEABLE`, `REUSEABLE_PORT` and `BIND_IPV6ONLY` must be set before
    /// `bind`, so only [`ConnListener::bind`](super::ConnListener::bind)
    /// applies them; the others apply to every listener. libevent's `LEV_OPT_THREADSAFE` has no
    /// counterpart: a base and its listeners never leave their thread.
    ///
    /// # Examples
    /// ```
    /// use rvent::ListenerOptions;
    /// let opts = ListenerOptions::CLOSE_ON_FREE | ListenerOptions::REUSEABLE;
    /// assert!(opts.contains(ListenerOptions::REUSEABLE));
    /// assert_eq!(format!("{opts:?}"), "CLOSE_ON_FREE | REUSEABLE");
    /// ```
    #[doc(alias = "LEV_OPT_CLOSE_ON_FREE")]
    pub struct ListenerOptions: u32 {
        /// Hand accepted sockets over in blocking mode
        /// (`LEV_OPT_LEAVE_SOCKETS_BLOCKING`); by default they are
        /// nonblocking, as the event loop needs.
        const LEAVE_SOCKETS_BLOCKING = 1 << 0;
        /// [`ConnListener::free`](super::ConnListener::free) closes the
        /// listening socket (`LEV_OPT_CLOSE_ON_FREE`); without it `free`
        /// returns it.
        const CLOSE_ON_FREE = 1 << 1;
        /// Set close-on-exec on the listening socket
        /// (`LEV_OPT_CLOSE_ON_EXEC`). Sockets rvent creates — the one
        /// `bind` makes and every accepted one — are always close-on-exec,
        /// as std's are; this flag matters for a socket given to
        /// [`ConnListener::from_fd`](super::ConnListener::from_fd).
        const CLOSE_ON_EXEC = 1 << 2;
        /// `SO_REUSEADDR`: rebind a port whose old connections linger in
        /// `TIME_WAIT` (`LEV_OPT_REUSEABLE`; `bind` only).
        const REUSEABLE = 1 << 3;
        /// Start disabled; call
        /// [`ConnListener::enable`](super::ConnListener::enable) to start
        /// accepting (`LEV_OPT_DISABLED`).
        const DISABLED = 1 << 5;
        /// `TCP_DEFER_ACCEPT`: wake the listener only once a connection has
        /// data to read, for protocols where the client speaks first
        /// (`LEV_OPT_DEFERRED_ACCEPT`).
        const DEFERRED_ACCEPT = 1 << 6;
        /// `SO_REUSEPORT`: several sockets (in this process or others) may
        /// bind the same address and share its connections
        /// (`LEV_OPT_REUSEABLE_PORT`; `bind` only).
        const REUSEABLE_PORT = 1 << 7;
        /// `IPV6_V6ONLY`: an IPv6 listener does not accept IPv4-mapped
        /// connections (`LEV_OPT_BIND_IPV6ONLY`; `bind` only).
        const BIND_IPV6ONLY = 1 << 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_bits_are_libevents() {
        assert_eq!(ListenerOptions::LEAVE_SOCKETS_BLOCKING.bits(), 0x1);
        assert_eq!(ListenerOptions::CLOSE_ON_FREE.bits(), 0x2);
        assert_eq!(ListenerOptions::CLOSE_ON_EXEC.bits(), 0x4);
        assert_eq!(ListenerOptions::REUSEABLE.bits(), 0x8);
        assert_eq!(ListenerOptions::DISABLED.bits(), 0x20);
        assert_eq!(ListenerOptions::DEFERRED_ACCEPT.bits(), 0x40);
        assert_eq!(ListenerOptions::REUSEABLE_PORT.bits(), 0x80);
        assert_eq!(ListenerOptions::BIND_IPV6ONLY.bits(), 0x100);
    }
}
