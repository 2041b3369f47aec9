//! The binding's tokio runtime, and the two ways Python waits for engine work.
//!
//! `core` never creates a runtime, so the binding owns one: multi-thread, made on first use.
//! After `fork()` the child inherits the runtime's memory but none of its threads, so the
//! runtime is kept with the process id that made it: a child makes a fresh one and leaks the
//! parent's (dropping it would wait for threads that do not exist in the child). At
//! interpreter exit [`shutdown`] stops it; any call after that is a clear error.

use crate::error;
use pyo3::prelude::*;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

struct State {
    pid: u32,
    runtime: Option<Runtime>,
    closed: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    pid: 0,
    runtime: None,
    closed: false,
});

/// The runtime of this process, made on first use (again in a forked child).
pub fn handle(py: Python<'_>) -> PyResult<Handle> {
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if state.closed {
        return Err(error::usage(
            py,
            "go_micro has shut down (the interpreter is exiting); no more calls can be made",
        ));
    }
    let pid = std::process::id();
    if state.pid != pid {
        if let Some(parent) = state.runtime.take() {
            std::mem::forget(parent);
        }
        state.pid = pid;
    }
    if let Some(runtime) = &state.runtime {
        return Ok(runtime.handle().clone());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("go-micro")
        .build()
        .map_err(|e| error::usage(py, &format!("cannot start the go_micro runtime: {e}")))?;
    let handle = runtime.handle().clone();
    state.runtime = Some(runtime);
    Ok(handle)
}

/// Stops the runtime for good (at interpreter exit): tasks get a moment to finish.
#[pyfunction]
pub fn shutdown(py: Python<'_>) {
    let runtime = {
        let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
        state.closed = true;
        if state.pid == std::process::id() {
            state.runtime.take()
        } else {
            None
        }
    };
    if let Some(runtime) = runtime {
        py.detach(|| runtime.shutdown_timeout(Duration::from_secs(1)));
    }
}

/// Runs `work` on the runtime and waits for it with the GIL released. The work is spawned
/// rather than driven on the calling thread, so a runtime shut down under it (interpreter
/// exit with calls in flight on other threads) ends it with an error instead of a panic.
pub fn wait<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = micro::Result<T>> + Send + 'static,
{
    let task = handle(py)?.spawn(work);
    let out = py.detach(|| step_aside(|| futures::executor::block_on(task))).unwrap_or_else(|_| {
        Err(micro::Error::internal(
            "go_micro",
            "the go_micro runtime shut down before this call finished (the interpreter is exiting)",
        ))
    });
    out.map_err(|err| error::to_py(py, &err))
}

/// Runs `wait`, which blocks until runtime work ends. On one of the runtime's workers (a sync
/// handler calling the engine) the worker's other tasks first move to another thread, so the
/// work waited for can run even when every worker is in such a handler.
fn step_aside<T>(wait: impl FnOnce() -> T) -> T {
    let on_worker = Handle::try_current()
        .is_ok_and(|current| current.runtime_flavor() == RuntimeFlavor::MultiThread);
    if on_worker {
        tokio::task::block_in_place(wait)
    } else {
        wait()
    }
}

/// Runs `work` on the runtime. Without `done` the caller waits for it with the GIL released
/// and gets its value. With `done` (a callable taking `(value, exception)`) it returns `None`
/// at once and `done` is called from a runtime thread when the work ends; the Python layer
/// passes a `done` that settles an asyncio future on its loop.
pub fn run<T, F, C>(
    py: Python<'_>,
    done: Option<Py<PyAny>>,
    work: F,
    convert: C,
) -> PyResult<Py<PyAny>>
where
    T: Send + 'static,
    F: Future<Output = micro::Result<T>> + Send + 'static,
    C: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    let Some(done) = done else {
        return wait(py, work).and_then(|value| convert(py, value));
    };
    let handle = handle(py)?;
    let inner = handle.clone();
    handle.spawn(async move {
        let out = work.await;
        // Taking the GIL may wait; do it off the runtime's workers.
        let _ = inner
            .spawn_blocking(move || {
                Python::attach(|py| {
                    let settled = match out
                        .map_err(|err| error::to_py(py, &err))
                        .and_then(|value| convert(py, value))
                    {
                        Ok(value) => done.call1(py, (value, py.None())),
                        Err(err) => done.call1(py, (py.None(), err.into_value(py))),
                    };
                    if let Err(err) = settled {
                        err.write_unraisable(py, None);
                    }
                })
            })
            .await;
    });
    Ok(py.None())
}

/// An error if an object made before a `fork()` is used in the child: its connections and
/// tasks belonged to the parent's runtime.
pub fn same_process(py: Python<'_>, made_in: u32, what: &str) -> PyResult<()> {
    if made_in == std::process::id() {
        return Ok(());
    }
    Err(error::usage(
        py,
        &format!(
            "this {what} was created before fork() and cannot be used in the child process; create a new {what} in the child"
        ),
    ))
}

thread_local! {
    /// Whether this thread keeps a Python thread state for good.
    static KEPT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Gives this engine thread a Python thread state that outlives each `Python::attach`.
/// Without it CPython makes and frees a thread state every time a thread with none takes the
/// GIL, which is a large part of a sync handler's cost; engine threads live as long as the
/// runtime, so one state each is kept.
pub fn keep_thread_state() {
    KEPT.with(|kept| {
        if kept.get() {
            return;
        }
        kept.set(true);
        // SAFETY: the interpreter is running (this module was imported into it). Ensure
        // takes the GIL and makes this thread's state with a count of one; SaveThread lets
        // the GIL go again but keeps the state, so later Ensure/Release pairs (pyo3's attach)
        // find it and never drop the count to zero.
        unsafe {
            let _ = pyo3::ffi::PyGILState_Ensure();
            let _ = pyo3::ffi::PyEval_SaveThread();
        }
    });
}
