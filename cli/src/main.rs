//! `micro`: the command line over the libmicro engine.

// The gateways allocate a little for every request on every worker thread; mimalloc's
// per-thread heaps serve that with less time and no lock between threads, where glibc's
// arenas spent a fifth of the gateway's CPU (profile in bench/results/gateway.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    micro_cli::micro()
}
