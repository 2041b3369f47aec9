//! `micro api`: the HTTP-to-RPC gateway on its own, in front of every service the configured
//! registry knows, until Ctrl-C or SIGTERM.

use micro::config::Config;
use micro::gateway::Gateway;

/// Serve the HTTP API gateway: `curl -d '{"name":"Alice"}' localhost:8080/helloworld/Helloworld.Call`.
#[derive(clap::Args)]
pub struct Args {
    /// Where to listen; `:8080` means 127.0.0.1:8080, a host given explicitly is used as is.
    #[arg(long, default_value = ":8080", env = "MICRO_API_ADDRESS")]
    address: String,
    /// The largest request body taken, in bytes; larger ones get a 413.
    #[arg(long, default_value_t = micro::gateway::DEFAULT_MAX_BODY_SIZE)]
    max_body_size: usize,
    /// A host name the gateway answers to besides loopback and the bound address, against DNS
    /// rebinding (repeatable): give the public name when listening beyond loopback.
    #[arg(long = "allowed-host", value_name = "HOST")]
    allowed_hosts: Vec<String>,
}

/// Starts the gateway with the registry, store and broker `config` chooses, prints the
/// routes, and serves until a signal.
pub async fn run(args: Args, config: Config) -> micro::Result<()> {
    let signal = micro::service::shutdown_signal();
    let registry = config.registry()?;
    let store = config.store()?;
    let broker = config.broker(registry.clone())?;
    let running = Gateway::new(registry, store, broker)
        .max_body_size(args.max_body_size)
        .allowed_hosts(args.allowed_hosts)
        .start(&args.address)
        .await?;
    println!("\n  micro api\n");
    println!("  Listening    http://{}\n", running.address());
    println!("  Routes:");
    for route in Gateway::routes() {
        println!("    {route}");
    }
    println!();
    signal.await;
    println!("shutting down");
    running.stop().await;
    Ok(())
}
