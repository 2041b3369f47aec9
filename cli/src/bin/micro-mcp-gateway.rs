//! `micro-mcp-gateway`: the standalone MCP gateway, go-micro's command line over `micro mcp
//! serve`.

// As `micro`'s: mimalloc serves the per-request allocations of every worker thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    micro_cli::mcp_gateway()
}
