//! The backends a base can poll with (`event_base_get_method`) and how
//! one is chosen: libevent's preference order (epoll, then poll), skipping
//! a backend the config avoids, one whose features fall short of the
//! required ones, and one the environment disables (`EVENT_NOEPOLL`,
//! `EVENT_NOPOLL`, unless the config ignores the environment).

use std::ffi::CStr;

use crate::config::{BaseFlags, Config, Features};
use crate::sys::env;

/// A system interface for waiting on descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IoMethod {
    /// `epoll` through mio: O(1), edge triggers, no regular files.
    Epoll,
    /// `poll(2)`: any descriptor, O(watched fds) per wait, no edge trigger.
    Poll,
}

/// What epoll provides.
const EPOLL_FEATURES: Features = Features::ET
    .union(Features::O1)
    .union(Features::EARLY_CLOSE);

/// What poll provides (`POLLRDHUP` gives early close on Linux).
const POLL_FEATURES: Features = Features::FDS.union(Features::EARLY_CLOSE);

impl IoMethod {
    /// Every backend, in order of preference.
    pub const ALL: [IoMethod; 2] = [IoMethod::Epoll, IoMethod::Poll];

    /// The name libevent gives it.
    pub fn name(self) -> &'static str {
        match self {
            IoMethod::Epoll => "epoll",
            IoMethod::Poll => "poll",
        }
    }

    /// Its `EV_FEATURE_*`.
    pub fn features(self) -> Features {
        match self {
            IoMethod::Epoll => EPOLL_FEATURES,
            IoMethod::Poll => POLL_FEATURES,
        }
    }

    /// Whether `cfg` avoids it ([`Config::avoid_method`]).
    fn avoided_by(self, cfg: &Config) -> bool {
        match self {
            IoMethod::Epoll => cfg.avoid_epoll,
            IoMethod::Poll => cfg.avoid_poll,
        }
    }

    /// The environment variable that disables it.
    fn env_var(self) -> &'static CStr {
        match self {
            IoMethod::Epoll => c"EVENT_NOEPOLL",
            IoMethod::Poll => c"EVENT_NOPOLL",
        }
    }

    /// The first backend `cfg` (and, unless it ignores it, the
    /// environment) allows; `None` if none does.
    pub fn choose(cfg: &Config) -> Option<IoMethod> {
        let env = !cfg.flags.contains(BaseFlags::IGNORE_ENV);
        IoMethod::ALL.into_iter().find(|&m| {
            !m.avoided_by(cfg)
                && m.features().contains(cfg.require)
                && !(env && env::is_set(m.env_var()))
        })
    }
}
