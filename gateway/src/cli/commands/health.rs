//! `clawlet health` / `clawlet gateway health`: RPC `health`.

use serde_json::{Value, json};

use crate::cli::context::{CliError, Context, describe_target};
use crate::cli::output::{print_json, str_field};
use crate::cli::target::ConnectArgs;

/// Runs the command.
pub async fn run(ctx: &Context, args: &ConnectArgs) -> Result<(), CliError> {
    let (mut client, target) = ctx.connect(args, &["operator.read"], "cli").await?;
    let health = client.request("health", Some(json!({}))).await;
    client.close().await;
    let health = health?;
    if args.json {
        print_json(&health);
        return Ok(());
    }
    let ok = health.get("ok").and_then(Value::as_bool).unwrap_or(false);
    println!(
        "Gateway {} at {}",
        if ok { "healthy" } else { "NOT healthy" },
        describe_target(&target)
    );
    if let Some(ms) = health.get("durationMs").and_then(Value::as_u64) {
        println!("  checked in {ms} ms");
    }
    if let Some(connected) = health.pointer("/nodes/connected").and_then(Value::as_u64) {
        println!("  nodes connected: {connected}");
    }
    if let Some(uptime) = health.get("uptimeMs").and_then(Value::as_u64) {
        println!("  up for {} s", uptime / 1000);
    }
    if let Some(version) = health.get("version").and_then(Value::as_str) {
        println!("  version: {version}");
    }
    let server = client_server_version(&health);
    if !server.is_empty() {
        println!("  server: {server}");
    }
    if !ok {
        return Err(CliError::Other(anyhow::anyhow!(
            "the gateway reports it is not healthy"
        )));
    }
    Ok(())
}

fn client_server_version(health: &Value) -> &str {
    str_field(health, "runtimeVersion")
}
