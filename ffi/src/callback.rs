//! What C callbacks carry: the caller's `void *user_data`, and running a callback off the
//! runtime's workers (a C function may block for as long as it likes).

use std::ffi::c_void;

/// The caller's `user_data`, passed back to its callbacks from library threads. The caller
/// promises in the header that it may be used from any thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserData(pub(crate) *mut c_void);

// SAFETY: the header tells callers that user_data is handed to callbacks on library threads.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

impl UserData {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    pub(crate) fn get(self) -> *mut c_void {
        self.0
    }
}

/// A pointer moved to the blocking thread that runs a callback.
pub(crate) struct Owned<T>(pub(crate) *mut T);

// SAFETY: the pointee is owned by whoever holds this, one thread at a time.
unsafe impl<T> Send for Owned<T> {}

impl<T> Owned<T> {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    pub(crate) fn get(&self) -> *mut T {
        self.0
    }
}

/// Runs a C callback on the runtime's blocking pool and waits for it without holding a
/// worker; a panic in it (only Rust callbacks can panic) becomes `on_panic`.
pub(crate) async fn off_worker<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
    on_panic: T,
) -> T {
    match tokio::task::spawn_blocking(call).await {
        Ok(value) => value,
        Err(_) => on_panic,
    }
}
