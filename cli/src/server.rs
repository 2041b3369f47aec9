//! `micro server` (alias `micro gateway`): the production gateway in front of services that are
//! already running: the JSON API under `/api/`, MCP at `/mcp`, the web dashboard with the agent
//! playground at `/agent`, and auth on (accounts, tokens and endpoint scopes, shared by the API,
//! MCP and the playground), until Ctrl-C or SIGTERM.

use crate::status::RunFiles;
use micro::Result;
use micro::auth::Auth;
use micro::config::Config;
use micro::gateway::{Gateway, RunStatus, Running};
use micro::mcp::Mcp;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The store table auth keeps accounts, tokens and scopes in, apart from the data `/micro/store`
/// serves.
const AUTH_TABLE: &str = "auth";

/// Serve the gateway with the dashboard and auth: `micro server`, then open http://localhost:8080.
#[derive(clap::Args)]
pub struct Args {
    /// Where to listen; `:8080` means 127.0.0.1:8080, a host given explicitly is used as is.
    #[arg(long, default_value = ":8080", env = "MICRO_SERVER_ADDRESS")]
    address: String,
    /// Where the token signing keys live (created on first start).
    #[arg(long, env = "MICRO_AUTH_KEYS", default_value_os_t = micro::auth::default_keys_dir())]
    keys: PathBuf,
    /// The largest request body taken, in bytes; larger ones get a 413.
    #[arg(long, default_value_t = micro::gateway::DEFAULT_MAX_BODY_SIZE)]
    max_body_size: usize,
    /// A host name the gateway answers to besides loopback and the bound address, against DNS
    /// rebinding (repeatable): give the public name when listening beyond loopback.
    #[arg(long = "allowed-host", value_name = "HOST")]
    allowed_hosts: Vec<String>,
}

/// The registry, broker and store, by flag (on every command) or `MICRO_*` variable.
#[derive(clap::Args)]
pub struct Components {
    /// The registry: mdns, memory, etcd or nats.
    #[arg(long, global = true, env = "MICRO_REGISTRY")]
    registry: Option<String>,
    /// Where the registry is, for registries that need one (etcd: host:port, nats:
    /// nats://host:4222; comma-separated).
    #[arg(
        long,
        global = true,
        env = "MICRO_REGISTRY_ADDRESS",
        alias = "registry_address"
    )]
    registry_address: Option<String>,
    /// The broker: http, memory, nats or rabbitmq.
    #[arg(long, global = true, env = "MICRO_BROKER")]
    broker: Option<String>,
    /// The broker's address: NATS's (nats://host:4222, ?jetstream=true for at-least-once
    /// delivery), RabbitMQ's URL (amqp://user:password@host:5672/vhost, default
    /// amqp://guest:guest@127.0.0.1:5672), or the http broker's listen address.
    #[arg(long, global = true, env = "MICRO_BROKER_ADDRESS")]
    broker_address: Option<String>,
    /// The store: file, memory, mysql, postgres, redis or nats.
    #[arg(long, global = true, env = "MICRO_STORE")]
    store: Option<String>,
    /// The file store's root directory (default ~/micro/store), or the server's URL for mysql
    /// (mysql://user:password@host:3306/db), postgres (postgres://user:password@host:5432/db),
    /// redis (redis://host:6379/0) and nats (nats://host:4222).
    #[arg(long, global = true, env = "MICRO_STORE_ADDRESS")]
    store_address: Option<String>,
}

/// The choices `config` made by flag, as the `MICRO_*` variables that hand them to the
/// processes `micro run` starts (what the environment already says they inherit).
pub fn flag_env(config: &Config) -> Vec<(&'static str, String)> {
    let env = Config::from_env();
    [
        ("MICRO_REGISTRY", &config.registry, env.registry),
        (
            "MICRO_REGISTRY_ADDRESS",
            &config.registry_address,
            env.registry_address,
        ),
        ("MICRO_BROKER", &config.broker, env.broker),
        (
            "MICRO_BROKER_ADDRESS",
            &config.broker_address,
            env.broker_address,
        ),
        ("MICRO_STORE", &config.store, env.store),
        (
            "MICRO_STORE_ADDRESS",
            &config.store_address,
            env.store_address,
        ),
    ]
    .into_iter()
    .filter(|(_, chosen, inherited)| *chosen != inherited)
    .filter_map(|(name, chosen, _)| Some((name, chosen.clone()?)))
    .collect()
}

impl Components {
    /// The environment's choices with these flags over them.
    pub fn config(&self) -> Config {
        let env = Config::from_env();
        let pick = |flag: &Option<String>, env: Option<String>| {
            flag.clone().filter(|v| !v.is_empty()).or(env)
        };
        Config {
            registry: pick(&self.registry, env.registry),
            registry_address: pick(&self.registry_address, env.registry_address),
            broker: pick(&self.broker, env.broker),
            broker_address: pick(&self.broker_address, env.broker_address),
            store: pick(&self.store, env.store),
            store_address: pick(&self.store_address, env.store_address),
            ..env
        }
    }
}

/// Starts the gateway with the dashboard and auth, prints where, and serves until a signal.
pub async fn run(args: Args, config: Config) -> Result<()> {
    let signal = micro::service::shutdown_signal();
    let running = start(
        &config,
        &args.address,
        Some(&args.keys),
        args.max_body_size,
        args.allowed_hosts,
        Arc::new(RunFiles::in_home()?),
    )
    .await?;
    println!("\n  micro server\n");
    println!("  Dashboard    http://{}", running.address());
    println!(
        "  API          http://{}/api/{{service}}/{{Handler.Method}}",
        running.address()
    );
    println!("  MCP          http://{}/mcp", running.address());
    println!("  Agent        http://{}/agent", running.address());
    println!("  Health       http://{}/health\n", running.address());
    signal.await;
    println!("shutting down");
    running.stop().await;
    Ok(())
}

/// Starts a dashboard gateway with MCP at `/mcp` (answering `allowed_hosts` besides loopback
/// and the bound address) over `config`'s components on `address`, with auth on (for both) when
/// `keys` names the signing keys' directory, and the logs and status pages answered by
/// `run_status`; warns on stdout while `admin` still has the default password.
pub async fn start(
    config: &Config,
    address: &str,
    keys: Option<&PathBuf>,
    max_body_size: usize,
    allowed_hosts: Vec<String>,
    run_status: Arc<dyn RunStatus>,
) -> Result<Running> {
    let registry = config.registry()?;
    let store = config.store()?;
    let broker = config.broker(registry.clone())?;
    let mut gateway = Gateway::new(registry.clone(), store.clone(), broker.clone())
        .max_body_size(max_body_size)
        .dashboard(Some(run_status));
    let mut mcp = Mcp::new(registry, store, broker);
    if let Some(keys) = keys {
        let auth = open_auth(config, keys).await?;
        if auth.default_password_unchanged().await? {
            println!(
                "\n  ! Log in as admin / micro and change that password on the Users page\n    (auth keys in {})",
                keys.display()
            );
        }
        gateway = gateway.auth(auth.clone());
        mcp = mcp.auth(auth);
    }
    gateway
        .mcp(Arc::new(mcp))
        .allowed_hosts(allowed_hosts)
        .start(address)
        .await
}

/// The gateway's auth: accounts, tokens and scopes in `config`'s store (table `auth`), tokens
/// signed with the keys in `keys` (created on first use).
pub async fn open_auth(config: &Config, keys: &Path) -> Result<Arc<Auth>> {
    let auth_store = Config {
        store_table: Some(AUTH_TABLE.into()),
        ..config.clone()
    }
    .store()?;
    Ok(Arc::new(Auth::open(auth_store, keys).await?))
}
