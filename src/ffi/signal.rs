//! SIGUSR1 for `moonhost run` (SPEC §12.4): the handler only sets an atomic flag; the run
//! loop polls it between scheduler turns and writes the process report.

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the handler, cleared by [`take_usr1`].
static USR1: AtomicBool = AtomicBool::new(false);

extern "C" fn on_usr1(_sig: c_int) {
    // An atomic store is async-signal-safe: no lock, no allocation.
    USR1.store(true, Ordering::SeqCst);
}

/// Installs the SIGUSR1 handler (once per OS process; later calls do nothing).
///
/// # Errors
/// The OS error when `sigaction` fails.
pub fn install_usr1_handler() -> std::io::Result<()> {
    static DONE: std::sync::OnceLock<std::io::Result<()>> = std::sync::OnceLock::new();
    let r = DONE.get_or_init(|| {
        // SAFETY: `act` is a zeroed sigaction owned by this frame, filled with a handler of
        // the plain `fn(c_int)` form (no SA_SIGINFO) that only stores to a static atomic;
        // SA_RESTART keeps interrupted system calls (writes, reads) going.
        unsafe {
            let mut act = std::mem::zeroed::<libc::sigaction>();
            act.sa_sigaction = on_usr1 as extern "C" fn(c_int) as libc::sighandler_t;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            if libc::sigaction(libc::SIGUSR1, &act, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    });
    match r {
        Ok(()) => Ok(()),
        Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
    }
}

/// Whether SIGUSR1 arrived since the last call.
pub fn take_usr1() -> bool {
    USR1.swap(false, Ordering::SeqCst)
}
