//! Logging for programs built on the engine: one call sets up `tracing` output on stderr,
//! filtered by `MICRO_LOG` (e.g. `debug`, `micro=trace`), `info` when unset.

/// Installs the stderr log subscriber; does nothing if the program already installed one.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MICRO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
