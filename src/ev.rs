//! Event flags (`EV_*`): what an event watches and what fired. Below
//! everything else of the core, so the backend, the slab and the public
//! API share one definition.

use crate::flags::flag_set;

flag_set! {
    /// Event flags (`EV_*`), with libevent's values: what an event watches
    /// when created, and what fired when its callback runs.
    #[doc(alias = "EV_READ")]
    pub struct Ev: u16 {
        /// The timeout expired (result only; `EV_TIMEOUT`).
        const TIMEOUT = 0x01;
        /// The fd is readable (`EV_READ`).
        const READ = 0x02;
        /// The fd is writable (`EV_WRITE`).
        const WRITE = 0x04;
        /// The fd is a signal number (`EV_SIGNAL`).
        const SIGNAL = 0x08;
        /// Stay pending after firing (`EV_PERSIST`).
        const PERSIST = 0x10;
        /// Edge-triggered (`EV_ET`).
        const ET = 0x20;
        /// Accepted for compatibility; finalization never blocks in a
        /// single-threaded base (`EV_FINALIZE`).
        const FINALIZE = 0x40;
        /// The peer closed its end (`EV_CLOSED`, epoll's `EPOLLRDHUP`).
        const CLOSED = 0x80;
    }
}

impl Ev {
    /// The readiness an fd can report: what makes a poll result hit an
    /// event (`Ev::ET` in a result only says how the event was watched).
    pub(crate) const IO: Ev = Ev::READ.union(Ev::WRITE).union(Ev::CLOSED);
}
