//! The library's one multi-thread tokio runtime and the components every handle shares.
//!
//! C has no runtime of its own, so the library owns one: made on first use (or by
//! `micro_runtime_start` with options), ended by `micro_runtime_shutdown`, after which every
//! call answers `MICRO_ERR_SHUTDOWN`. Services, clients, the gateway and the store functions of
//! one process share one registry, broker and store, so a service and a client in the same
//! process find each other even with the `memory` registry.
//!
//! A forked child inherits the runtime's memory but not its threads; a `pthread_atfork` hook
//! marks the child, whose next call forgets the parent's runtime (without touching its dead
//! threads) and makes a fresh one.

use crate::args;
use crate::error::micro_error;
use crate::error::{self, Failure, MICRO_ERR_ALREADY_STOPPED, MICRO_ERR_SHUTDOWN, MICRO_ERR_STATE};
use micro::broker::Broker;
use micro::config::Config;
use micro::registry::Registry;
use micro::store::Store;
use serde::Deserialize;
use std::cell::Cell;
use std::ffi::c_char;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::Duration;
use tokio::runtime::{Handle, Runtime};

/// How long `micro_runtime_shutdown` waits for running work before dropping it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What `micro_runtime_start` accepts; unset fields come from the `MICRO_*` environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    /// Worker threads (default: one per core).
    worker_threads: Option<usize>,
    registry: Option<String>,
    registry_address: Option<String>,
    broker: Option<String>,
    broker_address: Option<String>,
    store: Option<String>,
    store_address: Option<String>,
    store_database: Option<String>,
    store_table: Option<String>,
}

impl Options {
    /// No choices made: everything from the environment.
    const UNSET: Options = Options {
        worker_threads: None,
        registry: None,
        registry_address: None,
        broker: None,
        broker_address: None,
        store: None,
        store_address: None,
        store_database: None,
        store_table: None,
    };

    /// The component choices, over those of the environment.
    fn config(&self) -> Config {
        let env = Config::from_env();
        let pick = |mine: &Option<String>, theirs: Option<String>| mine.clone().or(theirs);
        Config {
            registry: pick(&self.registry, env.registry),
            registry_address: pick(&self.registry_address, env.registry_address),
            broker: pick(&self.broker, env.broker),
            broker_address: pick(&self.broker_address, env.broker_address),
            store: pick(&self.store, env.store),
            store_address: pick(&self.store_address, env.store_address),
            store_database: pick(&self.store_database, env.store_database),
            store_table: pick(&self.store_table, env.store_table),
        }
    }
}

/// The runtime's handle and the components everything shares.
pub(crate) struct Engine {
    handle: Handle,
    /// As given to `micro_runtime_start`, for a forked child to start alike.
    options: Options,
    config: Config,
    registry: Arc<dyn Registry>,
    broker: Arc<dyn Broker>,
    /// Opened on first use: the default file store makes a directory.
    store: Mutex<Option<Arc<dyn Store>>>,
}

impl Engine {
    /// Runs `future` on the runtime and waits for it on this thread: a C thread or one of
    /// the library's blocking threads. On a runtime worker (in an inline handler) waiting would
    /// stall the worker, so it is refused.
    pub(crate) fn block_on<T>(
        &self,
        future: impl Future<Output = micro::Result<T>>,
    ) -> Result<T, Failure> {
        if ON_WORKER.get() {
            return Err(Failure::new(
                MICRO_ERR_STATE,
                "a blocking libmicro call was made in an inline handler, on a runtime worker; use micro_service_handle for handlers that make blocking calls",
            ));
        }
        Ok(self.handle.block_on(future)?)
    }

    /// The runtime's handle, to spawn on.
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The shared registry.
    pub(crate) fn registry(&self) -> Arc<dyn Registry> {
        self.registry.clone()
    }

    /// The shared broker.
    pub(crate) fn broker(&self) -> Arc<dyn Broker> {
        self.broker.clone()
    }

    /// The shared store, opened on first use.
    pub(crate) fn store(&self) -> Result<Arc<dyn Store>, Failure> {
        let mut store = lock(&self.store);
        if let Some(store) = &*store {
            return Ok(store.clone());
        }
        let opened = {
            let _entered = self.handle.enter();
            self.config.store()?
        };
        *store = Some(opened.clone());
        Ok(opened)
    }
}

enum State {
    /// No runtime yet; the first call makes one with these options.
    Idle(Options),
    Running {
        runtime: Runtime,
        engine: Arc<Engine>,
    },
    /// `micro_runtime_shutdown` ran: the end.
    Shutdown,
}

thread_local! {
    /// True while an inline handler runs on this (worker) thread.
    static ON_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Runs `call` (an inline handler) on a runtime worker, marked so that blocking calls of the
/// library made inside it are refused.
pub(crate) fn on_worker(call: impl FnOnce()) {
    ON_WORKER.set(true);
    error::quietly(call);
    ON_WORKER.set(false);
}

static STATE: Mutex<State> = Mutex::new(State::Idle(Options::UNSET));
/// Set in a forked child by the `pthread_atfork` hook.
static FORKED: AtomicBool = AtomicBool::new(false);

/// Locks a mutex, carrying on past a panic in another holder (our state stays consistent:
/// every change is one assignment).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running engine, made on first use.
pub(crate) fn engine() -> Result<Arc<Engine>, Failure> {
    let mut state = lock(&STATE);
    forget_after_fork(&mut state);
    match &*state {
        State::Running { engine, .. } => Ok(engine.clone()),
        State::Shutdown => Err(shut_down()),
        State::Idle(options) => {
            let options = options.clone();
            start(&mut state, &options)
        }
    }
}

/// The library's runtime and shared registry, for Rust code running beside the C ABI in the
/// same process (the benches make a Rust call on them to compare with a C one). Starts the
/// runtime on first use, like any call; `None` after `micro_runtime_shutdown`.
#[doc(hidden)]
pub fn shared() -> Option<(Handle, Arc<dyn Registry>)> {
    let engine = engine().ok()?;
    Some((engine.handle.clone(), engine.registry()))
}

/// Refuses a call that would wait for the runtime's own work when made from one of its
/// threads (a handler or callback of the library), where that wait could never end.
pub(crate) fn not_on_library_thread(call: &str) -> Result<(), Failure> {
    match Handle::try_current() {
        Ok(_) => Err(Failure::new(
            MICRO_ERR_STATE,
            format!(
                "{call} was called from a libmicro handler or callback, where it would wait for itself; call it from a thread of yours"
            ),
        )),
        Err(_) => Ok(()),
    }
}

/// The error for calls after `micro_runtime_shutdown`.
pub(crate) fn shut_down() -> Failure {
    Failure::new(
        MICRO_ERR_SHUTDOWN,
        "the libmicro runtime was shut down (micro_runtime_shutdown); nothing more can run in this process",
    )
}

fn start(state: &mut State, options: &Options) -> Result<Arc<Engine>, Failure> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("libmicro");
    if let Some(threads) = options.worker_threads {
        if threads == 0 {
            return Err(Failure::new(
                crate::error::MICRO_ERR_INVALID_ARGUMENT,
                "worker_threads must be at least 1",
            ));
        }
        builder.worker_threads(threads);
    }
    let runtime = builder
        .build()
        .map_err(|e| Failure::new(500, format!("cannot start the libmicro runtime: {e}")))?;
    let config = options.config();
    let (registry, broker) = {
        let _entered = runtime.enter();
        let registry = config.registry()?;
        let broker = config.broker(registry.clone())?;
        (registry, broker)
    };
    let engine = Arc::new(Engine {
        handle: runtime.handle().clone(),
        options: options.clone(),
        config,
        registry,
        broker,
        store: Mutex::new(None),
    });
    watch_forks();
    *state = State::Running {
        runtime,
        engine: engine.clone(),
    };
    Ok(engine)
}

/// Registers the fork hook once per process.
fn watch_forks() {
    static HOOK: Once = Once::new();
    extern "C" fn in_child() {
        FORKED.store(true, Ordering::SeqCst);
    }
    // SAFETY: the hook only stores to an atomic, which is async-signal-safe.
    HOOK.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(in_child));
    });
}

/// In a forked child, drops the parent's runtime from the state without running its
/// destructor (its threads do not exist here, and joining them would hang); the next call
/// starts a runtime with the same options.
fn forget_after_fork(state: &mut State) {
    if !FORKED.swap(false, Ordering::SeqCst) {
        return;
    }
    if let State::Running { engine, .. } = state {
        let options = engine.options.clone();
        std::mem::forget(std::mem::replace(state, State::Idle(options)));
    }
}

/// Starts the runtime with options: JSON `{"worker_threads": 4, "registry": "memory",
/// "registry_address": "", "broker": "memory", "broker_address": "", "store": "memory",
/// "store_address": "", "store_database": "", "store_table": ""}`, every field optional
/// (unset ones come from `MICRO_REGISTRY`, `MICRO_BROKER`, `MICRO_STORE`, ... as in go-micro).
/// `options_json` may be NULL. Calling it is optional: the first call that needs the runtime
/// starts it from the environment. Every service, client, gateway and store call of the
/// process then shares the registry, broker and store chosen here.
///
/// Returns `MICRO_ERR_STATE` if the runtime is already running, `MICRO_ERR_SHUTDOWN` after
/// `micro_runtime_shutdown`, `MICRO_ERR_INVALID_JSON` for bad options, 400 for an unknown
/// component name. Any thread.
///
/// # Safety
/// `options_json` is NULL or a NUL-terminated string; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_runtime_start(
    options_json: *const c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let options: Options = unsafe { args::json(options_json, "options_json") }?;
        let mut state = lock(&STATE);
        forget_after_fork(&mut state);
        match &*state {
            State::Idle(_) => start(&mut state, &options).map(drop),
            State::Running { .. } => Err(Failure::new(
                MICRO_ERR_STATE,
                "the libmicro runtime is already running; call micro_runtime_start once, before anything else",
            )),
            State::Shutdown => Err(shut_down()),
        }
    })
}

/// Shuts the runtime down: running work gets up to 5 seconds to finish, then is dropped;
/// every later call of the library returns `MICRO_ERR_SHUTDOWN`. Stop services and gateways
/// first to let them deregister cleanly; handles still held must still be freed. Returns
/// `MICRO_ERR_ALREADY_STOPPED` when called again. Call it from a thread of yours, never from a
/// handler or callback of this library.
///
/// # Safety
/// `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_runtime_shutdown(err: *mut *mut micro_error) -> i32 {
    error::run(err, || {
        not_on_library_thread("micro_runtime_shutdown")?;
        let previous = {
            let mut state = lock(&STATE);
            forget_after_fork(&mut state);
            std::mem::replace(&mut *state, State::Shutdown)
        };
        match previous {
            State::Running { runtime, engine } => {
                drop(engine);
                runtime.shutdown_timeout(SHUTDOWN_GRACE);
                Ok(())
            }
            State::Idle(_) => Ok(()),
            State::Shutdown => Err(Failure::new(
                MICRO_ERR_ALREADY_STOPPED,
                "the libmicro runtime was already shut down",
            )),
        }
    })
}

/// The library's version, e.g. `0.1.0`: static text, never freed. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn micro_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
