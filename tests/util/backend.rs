//! Backends under test. The suite runs on epoll and, with `EVENT_NOEPOLL`
//! set (`.ci/run`'s second pass), on poll; a test of what only epoll does
//! (its refusal of regular files, `epoll_ctl` failures, its memory
//! figures) takes an epoll base whatever the environment says, and a test
//! of edge triggers asks the base whether it has them, as libevent's
//! regress does (`EV_FEATURE_ET`).

use rvent::{BaseFlags, Config, EventBase, Features};

/// An epoll base, the environment ignored (`EVENT_BASE_FLAG_IGNORE_ENV`).
pub fn epoll_base() -> EventBase {
    let mut cfg = Config::new();
    cfg.set_flag(BaseFlags::IGNORE_ENV);
    let base = EventBase::with_config(&cfg).expect("an epoll base");
    assert_eq!(base.method(), "epoll");
    base
}

/// Whether `base` has edge triggers; prints why a test skips when not.
pub fn has_et(base: &EventBase, test: &str) -> bool {
    let et = base.features().contains(Features::ET);
    if !et {
        println!(
            "{test}: skipped on {}, which has no edge triggers",
            base.method()
        );
    }
    et
}
