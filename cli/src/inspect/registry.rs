//! `micro registry list|get <name>|watch`: the service registry as JSON.

use super::{go_escaped, go_service, interrupted, line, print_json};
use clap::Subcommand;
use micro::config::Config;
use micro::errors::Kind;
use serde_json::json;

/// The registry commands.
#[derive(Subcommand)]
pub enum RegistryCommand {
    /// List the registered services as a JSON array of {"name","version"}.
    List,
    /// Show every registry record of a service, with its endpoints and nodes, as JSON.
    Get {
        /// The service name, e.g. helloworld.
        name: String,
    },
    /// Print registry events as JSON lines ({"action","service"}) until Ctrl-C.
    Watch {
        /// Only events of this service.
        #[arg(long)]
        service: Option<String>,
    },
}

/// Runs one registry command.
pub async fn run(command: RegistryCommand, config: &Config) -> micro::Result<()> {
    let registry = config.registry()?;
    match command {
        RegistryCommand::List => {
            let mut listed: Vec<(String, String)> = registry
                .list_services()
                .await?
                .into_iter()
                .map(|s| (s.name, s.version))
                .collect();
            listed.sort();
            listed.dedup();
            let listed: Vec<_> = listed
                .into_iter()
                .map(|(name, version)| json!({ "name": name, "version": version }))
                .collect();
            print_json(&json!(listed))
        }
        RegistryCommand::Get { name } => {
            let services = registry.get_service(&name).await?;
            print_json(&services.iter().map(go_service).collect())
        }
        RegistryCommand::Watch { service } => {
            let mut watcher = registry.watch(service.as_deref()).await?;
            let stop = interrupted()?;
            tokio::pin!(stop);
            eprintln!("Watching registry for changes (Ctrl-C to stop)...");
            loop {
                let event = tokio::select! {
                    _ = &mut stop => return Ok(()),
                    event = watcher.next() => event,
                };
                match event {
                    Ok(event) => {
                        let event = json!({ "action": event.action, "service": go_service(&event.service) });
                        line(&go_escaped(&event.to_string()))?
                    }
                    // Missed events are reported and watching goes on; the next events are real.
                    Err(err) if err.kind == Kind::Lagged => eprintln!("micro: {}", err.detail),
                    Err(err) => return Err(err),
                }
            }
        }
    }
}
