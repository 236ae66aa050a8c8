//! Plumbing of the `harness = false` test binaries (signals, settings,
//! mem, evbuffer_alloc): they own process-wide state (signal dispositions,
//! the log callback, memory hooks), so libtest-mimic runs their tests one
//! at a time on the main thread, a test returns its failure instead of
//! panicking, and what a process cannot undo runs in a re-executed child.

use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};

/// What a `harness = false` test returns.
pub type TestResult = Result<(), Failed>;

/// `Ok` if `cond` holds, else a failure with `msg`.
pub fn check(cond: bool, msg: impl Into<String>) -> TestResult {
    if cond { Ok(()) } else { Err(msg.into().into()) }
}

/// Runs `tests` as the command line asks, one at a time on the main
/// thread (the state they touch is process-wide), and exits with the
/// result.
pub fn run_serially(tests: Vec<Trial>) -> ! {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    libtest_mimic::run(&args, tests).exit()
}

/// A command that re-executes this test binary with `var=value` in its
/// environment; the binary's `main` checks `var` and runs that child
/// scenario instead of the tests.
pub fn rerun_self(var: &str, value: &str) -> Command {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.env(var, value);
    cmd
}

/// `trials![f, g]`: a `Vec<Trial>` of the test functions `f`, `g`, each
/// named after its function.
#[allow(unused_macros)]
macro_rules! trials {
    ($($test:ident),* $(,)?) => {
        vec![$(libtest_mimic::Trial::test(stringify!($test), $test)),*]
    };
}
pub(crate) use trials;
