//! Calls `Helloworld.Call` from `-c` concurrent callers for `-d` seconds through
//! `micro::Client` (the service found in the configured registry), then prints one JSON line
//! like bench/rpc/go's `load`: `{"requests","errors","seconds","rps","p50_us","p99_us"}`.
//! The run is bounded in time; point it only at services on this machine.

use clap::Parser;
use micro::Client;
use micro::config::Config;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// The service to call.
    #[arg(long, default_value = "helloworld")]
    service: String,
    /// Concurrent callers.
    #[arg(short = 'c', default_value_t = 64)]
    concurrency: usize,
    /// Seconds to run.
    #[arg(short = 'd', default_value_t = 5.0)]
    seconds: f64,
}

#[derive(Serialize)]
struct Request<'a> {
    name: &'a str,
}

#[derive(Deserialize)]
struct Response {
    msg: String,
}

#[tokio::main]
async fn main() -> micro::Result<()> {
    let args = Args::parse();
    let client = Client::from_config(&Config::from_env())?;
    let _: Response = client
        .call(&args.service, "Helloworld.Call", &Request { name: "warm" })
        .await?;
    let until = Instant::now() + Duration::from_secs_f64(args.seconds.clamp(0.1, 300.0));
    let started = Instant::now();
    let callers: Vec<_> = (0..args.concurrency.clamp(1, 1024))
        .map(|_| {
            let (client, service) = (client.clone(), args.service.clone());
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                while Instant::now() < until {
                    let at = Instant::now();
                    let rsp: micro::Result<Response> = client
                        .call(&service, "Helloworld.Call", &Request { name: "Alice" })
                        .await;
                    match rsp {
                        Ok(rsp) if rsp.msg == "Hello Alice" => {
                            latencies.push(at.elapsed().as_micros() as u64)
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for caller in callers {
        let (l, e) = caller.await.expect("caller finished");
        latencies.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{}",
        serde_json::json!({
            "requests": latencies.len(),
            "errors": errors,
            "seconds": seconds,
            "rps": (latencies.len() as f64 / seconds).round(),
            "p50_us": at(0.50),
            "p99_us": at(0.99),
        })
    );
    Ok(())
}
