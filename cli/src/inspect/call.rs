//! `micro services`, `micro describe <service>` and `micro call <service> <endpoint> [json]`.

use super::{ID, go_service, indented_by_four, line};
use clap::Args;
use micro::client::{CallOptions, RawRequest};
use micro::config::Config;
use micro::transport::Header;
use micro::{Client, Error};
use std::io::Write;

/// What `micro call` takes.
#[derive(Args)]
pub struct CallArgs {
    /// The service to call, e.g. helloworld.
    service: String,
    /// The endpoint, Handler.Method, e.g. Helloworld.Call.
    endpoint: String,
    /// The request as JSON.
    #[arg(default_value = "{}")]
    request: String,
    /// A header sent with the call, Key:Value (repeatable).
    #[arg(short = 'H', long = "header", value_name = "KEY:VALUE")]
    headers: Vec<String>,
    /// Call metadata, Key:Value (repeatable); sent as headers, as go-micro sends metadata.
    #[arg(short = 'm', long = "metadata", value_name = "KEY:VALUE")]
    metadata: Vec<String>,
}

/// Prints each registered service name on its own line.
pub async fn services(config: &Config) -> micro::Result<()> {
    let mut names: Vec<String> = config
        .registry()?
        .list_services()
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        line(&name)?;
    }
    Ok(())
}

/// Prints the service's first registry record as JSON indented by four spaces.
pub async fn describe(config: &Config, service: &str) -> micro::Result<()> {
    let services = config.registry()?.get_service(service).await?;
    let first = services
        .first()
        .ok_or_else(|| Error::not_found(ID, format!("service {service}: not found")))?;
    line(&indented_by_four(&go_service(first)))
}

/// Calls the endpoint and prints the response body. A failure prints only the error's JSON
/// on stderr and exits with code 1, as go-micro's `micro call` does, so scripts can parse it.
pub async fn call(config: &Config, args: CallArgs) -> micro::Result<()> {
    if let Err(err) = try_call(config, args).await {
        eprintln!("{}", err.to_json());
        std::process::exit(1);
    }
    Ok(())
}

async fn try_call(config: &Config, args: CallArgs) -> micro::Result<()> {
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&args.request) {
        return Err(Error::bad_request(
            ID,
            format!(
                "the request is not JSON ({e}); pass an object such as '{{\"name\":\"Alice\"}}'"
            ),
        ));
    }
    let options = CallOptions {
        metadata: metadata(args.headers.iter().chain(&args.metadata))?,
        ..Default::default()
    };
    let request = RawRequest {
        service: args.service,
        endpoint: args.endpoint,
        body: args.request.into_bytes().into(),
    };
    let client = Client::new(config.registry()?);
    let response = client.call_raw(request, &options).await?;
    let mut body = response.body.to_vec();
    if !body.ends_with(b"\n") {
        body.push(b'\n');
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&body)
        .and_then(|()| out.flush())
        .map_err(|e| Error::internal(ID, format!("cannot write to stdout: {e}")))
}

/// `Key:Value` pairs as call metadata, both sides trimmed.
fn metadata<'a>(pairs: impl Iterator<Item = &'a String>) -> micro::Result<Header> {
    pairs
        .map(|pair| match pair.split_once(':') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_string(), value.trim().to_string()))
            }
            _ => Err(Error::bad_request(
                ID,
                format!("{pair:?} is not Key:Value; write headers and metadata as -H X-Trace:1"),
            )),
        })
        .collect()
}
