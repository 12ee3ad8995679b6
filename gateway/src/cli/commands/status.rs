//! `clawlet status [--deep]`: RPC `status`, plus health, presence and nodes with `--deep`.

use serde_json::{Map, Value, json};

use crate::cli::StatusArgs;
use crate::cli::context::{CliError, Context, describe_target};
use crate::cli::output::{print_json, print_table, str_field, str_list};
use crate::cli::terminal_text::sanitize_rows;

/// Runs the command.
pub async fn run(ctx: &Context, args: &StatusArgs) -> Result<(), CliError> {
    let (mut client, target) = ctx
        .connect(&args.connect, &["operator.read"], "cli")
        .await?;
    let result = async {
        let mut out = Map::new();
        out.insert(
            "status".into(),
            client.request("status", Some(json!({}))).await?,
        );
        if args.deep {
            out.insert(
                "health".into(),
                client.request("health", Some(json!({}))).await?,
            );
            out.insert(
                "presence".into(),
                client.request("system-presence", Some(json!({}))).await?,
            );
            out.insert(
                "nodes".into(),
                client.request("node.list", Some(json!({}))).await?,
            );
        }
        Ok::<_, CliError>(Value::Object(out))
    }
    .await;
    let server_version = client
        .hello()
        .pointer("/server/version")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    client.close().await;
    let out = result?;
    if args.connect.json {
        print_json(&out);
        return Ok(());
    }
    let status = out.get("status").cloned().unwrap_or(Value::Null);
    println!("Gateway {}", describe_target(&target));
    println!("  version: {server_version}");
    if let Some(pid) = status.get("pid") {
        println!("  pid: {pid}");
    }
    if let Some(uptime) = status.get("uptimeMs").and_then(Value::as_u64) {
        println!("  up for {} s", uptime / 1000);
    }
    if let Some(connected) = status.pointer("/nodes/connected") {
        println!("  nodes connected: {connected}");
    }
    if let Some(connections) = status.get("connections") {
        println!("  connections: {connections}");
    }
    if let Some(health) = out.get("health") {
        let ok = health.get("ok").and_then(Value::as_bool).unwrap_or(false);
        println!("  health: {}", if ok { "ok" } else { "NOT ok" });
    }
    if let Some(presence) = out.get("presence").and_then(Value::as_array) {
        println!();
        println!("Presence ({}):", presence.len());
        let rows: Vec<Vec<String>> = presence
            .iter()
            .map(|p| {
                vec![
                    str_field(p, "mode").to_string(),
                    str_field(p, "host").to_string(),
                    str_field(p, "ip").to_string(),
                    str_field(p, "reason").to_string(),
                ]
            })
            .collect();
        print_table(&["MODE", "HOST", "IP", "REASON"], &sanitize_rows(rows));
    }
    if let Some(nodes) = out.pointer("/nodes/nodes").and_then(Value::as_array) {
        println!();
        println!("Nodes ({}):", nodes.len());
        let rows: Vec<Vec<String>> = nodes
            .iter()
            .map(|n| {
                vec![
                    str_field(n, "displayName").to_string(),
                    yes_no(n.get("connected")),
                    str_field(n, "approvalState").to_string(),
                    str_list(n, "commands"),
                ]
            })
            .collect();
        print_table(
            &["NAME", "CONNECTED", "APPROVAL", "COMMANDS"],
            &sanitize_rows(rows),
        );
    }
    Ok(())
}

fn yes_no(v: Option<&Value>) -> String {
    match v.and_then(Value::as_bool) {
        Some(true) => "yes".into(),
        _ => "no".into(),
    }
}
