//! Helpers shared by the behaviour tests, one concept per file: the
//! backend under test ([`backend`]), socket
//! pairs ([`sockets`]), recorders and probes for what callbacks did
//! ([`record`]), timing checks and watchdogs ([`timing`]), the fuzz
//! targets' seed files ([`seeds`]) and the plumbing of the
//! `harness = false` binaries ([`trial`]); with the memory
//! functions, counting and failing hooks ([`hooks`]) and the coverage
//! scenario that exercises every public API ([`coverage`]). Each test binary
//! includes this module with `mod util;` and uses only some of it, hence
//! the blanket `dead_code` allowance.
#![allow(dead_code)]

pub mod backend;
#[cfg(feature = "mem-functions")]
pub mod coverage;
#[cfg(feature = "mem-functions")]
pub mod hooks;
pub mod http;
pub mod record;
pub mod seeds;
pub mod sockets;
pub mod timing;
pub mod trial;

// The short paths (`util::pair`) the test files import; each binary uses
// only some of them.
#[allow(unused_imports)]
pub use record::{Counter, DropProbe, Dropped, Log, nop};
#[allow(unused_imports)]
pub use seeds::fuzz_seeds;
#[allow(unused_imports)]
pub use sockets::pair;
#[allow(unused_imports)]
pub use timing::{LATE, assert_on_time, ms, retry_timing, thread_cpu_time, watchdog};
#[allow(unused_imports)]
pub(crate) use trial::trials;
#[allow(unused_imports)]
pub use trial::{TestResult, check, rerun_self, run_serially};
