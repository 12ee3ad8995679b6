//! `clawlet nodes …`: node list/describe, command-surface approval and `node.invoke`.

use serde_json::{Value, json};

use crate::cli::NodesCommand;
use crate::cli::context::{CliError, Context, Operator};
use crate::cli::operator_client::uuid_v4;
use crate::cli::output::{age, now_ms, print_json, print_table, short_id, str_field, str_list};
use crate::cli::target::ConnectArgs;
use crate::cli::terminal_text::{sanitize_for_terminal, sanitize_rows};

/// `clawlet nodes invoke`
#[derive(Debug, clap::Args)]
pub struct InvokeArgs {
    /// Node id, display name or IP address.
    #[arg(long, value_name = "NODE")]
    pub node: String,
    /// The command, e.g. `system.which`.
    #[arg(long, value_name = "COMMAND")]
    pub command: String,
    /// Command params as JSON.
    #[arg(long, value_name = "JSON")]
    pub params: Option<String>,
    /// How long the node may take, in milliseconds (same as --timeout; the gateway's default
    /// is 30000).
    #[arg(long = "invoke-timeout", value_name = "MS")]
    pub invoke_timeout: Option<u64>,
    /// Idempotency key (a fresh one by default); retries with the same key are not run twice.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Connection flags.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Commands `nodes invoke` refuses, as OpenClaw's CLI does: they need the exec-approval path.
const REFUSED_COMMANDS: [&str; 2] = ["system.run", "system.run.prepare"];

/// Dispatches `clawlet nodes <cmd>`.
pub async fn run(ctx: &Context, command: NodesCommand) -> Result<(), CliError> {
    match command {
        NodesCommand::List(args) => list(ctx, &args).await,
        NodesCommand::Pending(args) => pending(ctx, &args).await,
        NodesCommand::Approve(args) => {
            resolve_request(ctx, &args.connect, "node.pair.approve", &args.request_id).await
        }
        NodesCommand::Reject(args) => {
            resolve_request(ctx, &args.connect, "node.pair.reject", &args.request_id).await
        }
        NodesCommand::Describe(args) => {
            let (mut client, _) = ctx
                .connect(&args.connect, &["operator.read"], "cli")
                .await?;
            let result = async {
                let node_id = select_node(&mut client, &args.node).await?;
                Ok::<_, CliError>(
                    client
                        .request("node.describe", Some(json!({"nodeId": node_id})))
                        .await?,
                )
            }
            .await;
            client.close().await;
            let node = result?;
            if args.connect.json {
                print_json(&node);
            } else {
                describe(&node);
            }
            Ok(())
        }
        NodesCommand::Invoke(args) => invoke(ctx, &args).await,
    }
}

async fn list(ctx: &Context, args: &ConnectArgs) -> Result<(), CliError> {
    let list = ctx
        .call(args, &["operator.read"], "node.list", json!({}))
        .await?;
    if args.json {
        print_json(&list);
        return Ok(());
    }
    let now = now_ms();
    let empty = Vec::new();
    let nodes = list
        .get("nodes")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    println!("Nodes ({}):", nodes.len());
    if nodes.is_empty() {
        return Ok(());
    }
    let rows: Vec<Vec<String>> = nodes
        .iter()
        .map(|n| {
            vec![
                short_id(str_field(n, "nodeId")),
                str_field(n, "displayName").to_string(),
                str_field(n, "platform").to_string(),
                if n.get("connected").and_then(Value::as_bool) == Some(true) {
                    "connected".into()
                } else {
                    format!(
                        "offline ({})",
                        age(n.get("lastDisconnectedAtMs").and_then(Value::as_u64), now)
                    )
                },
                str_field(n, "approvalState").to_string(),
                str_list(n, "commands"),
            ]
        })
        .collect();
    print_table(
        &["NODE", "NAME", "PLATFORM", "STATE", "APPROVAL", "COMMANDS"],
        &sanitize_rows(rows),
    );
    Ok(())
}

async fn pending(ctx: &Context, args: &ConnectArgs) -> Result<(), CliError> {
    let list = ctx
        .call(args, &["operator.pairing"], "node.pair.list", json!({}))
        .await?;
    if args.json {
        print_json(&list);
        return Ok(());
    }
    let now = now_ms();
    let empty = Vec::new();
    let pending = list
        .get("pending")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    println!("Pending node approvals ({}):", pending.len());
    if pending.is_empty() {
        return Ok(());
    }
    let rows: Vec<Vec<String>> = pending
        .iter()
        .map(|p| {
            vec![
                str_field(p, "requestId").to_string(),
                short_id(str_field(p, "nodeId")),
                str_field(p, "displayName").to_string(),
                str_list(p, "commands"),
                str_list(p, "requiredApproveScopes"),
                age(p.get("ts").and_then(Value::as_u64), now),
            ]
        })
        .collect();
    print_table(
        &["REQUEST", "NODE", "NAME", "COMMANDS", "NEEDS", "REQUESTED"],
        &sanitize_rows(rows),
    );
    println!("Approve with `clawlet nodes approve <REQUEST>`.");
    Ok(())
}

async fn resolve_request(
    ctx: &Context,
    args: &ConnectArgs,
    method: &str,
    request_id: &str,
) -> Result<(), CliError> {
    let answer = ctx
        .call(
            args,
            &["operator.admin"],
            method,
            json!({"requestId": request_id}),
        )
        .await?;
    if args.json {
        print_json(&answer);
        return Ok(());
    }
    if method == "node.pair.approve" {
        let node = answer.get("node").unwrap_or(&Value::Null);
        println!(
            "Approved node {} ({}): {}",
            sanitize_for_terminal(str_field(node, "displayName")),
            sanitize_for_terminal(str_field(node, "nodeId")),
            sanitize_for_terminal(&str_list(node, "commands"))
        );
    } else {
        println!("Rejected node request {request_id}");
    }
    Ok(())
}

/// Finds a node by id, id prefix, display name or IP; ambiguity is an error.
async fn select_node(client: &mut Operator, wanted: &str) -> Result<String, CliError> {
    let list = client.request("node.list", Some(json!({}))).await?;
    let empty = Vec::new();
    let nodes = list
        .get("nodes")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    pick_node(nodes, wanted)
}

type NodeMatcher<'a> = Box<dyn Fn(&Value) -> bool + 'a>;

/// The matching rule of [`select_node`], separate so it can be tested.
pub fn pick_node(nodes: &[Value], wanted: &str) -> Result<String, CliError> {
    let wanted = wanted.trim();
    let id = |n: &Value| str_field(n, "nodeId").to_string();
    if let Some(n) = nodes.iter().find(|n| str_field(n, "nodeId") == wanted) {
        return Ok(id(n));
    }
    let tiers: [NodeMatcher<'_>; 3] = [
        Box::new(|n| str_field(n, "displayName").eq_ignore_ascii_case(wanted)),
        Box::new(|n| str_field(n, "remoteIp") == wanted),
        Box::new(|n| {
            wanted.len() >= 6 && str_field(n, "nodeId").starts_with(&wanted.to_ascii_lowercase())
        }),
    ];
    for matches in tiers {
        let found: Vec<&Value> = nodes.iter().filter(|n| matches(n)).collect();
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(id(one)),
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|n| {
                        format!(
                            "{} ({})",
                            sanitize_for_terminal(str_field(n, "displayName")),
                            sanitize_for_terminal(str_field(n, "nodeId"))
                        )
                    })
                    .collect();
                return Err(CliError::usage(
                    format!(
                        "--node {wanted} matches {} nodes: {}",
                        many.len(),
                        names.join(", ")
                    ),
                    Some("Pass the node id instead."),
                ));
            }
        }
    }
    Err(CliError::usage(
        format!("no node matches --node {wanted}"),
        Some("`clawlet nodes list` shows the known nodes (id, name, IP)."),
    ))
}

fn describe(node: &Value) {
    let now = now_ms();
    let field = |key: &str| sanitize_for_terminal(str_field(node, key));
    println!("Node {} ({})", field("displayName"), field("nodeId"));
    for (key, label) in [
        ("platform", "platform"),
        ("deviceFamily", "device family"),
        ("version", "version"),
        ("clientId", "client"),
        ("remoteIp", "ip"),
        ("approvalState", "approval"),
    ] {
        let v = field(key);
        if !v.is_empty() {
            println!("  {label}: {v}");
        }
    }
    let connected = node.get("connected").and_then(Value::as_bool) == Some(true);
    println!(
        "  connected: {}",
        if connected {
            format!(
                "yes (since {})",
                age(node.get("connectedAtMs").and_then(Value::as_u64), now)
            )
        } else {
            "no".into()
        }
    );
    println!("  caps: {}", sanitize_for_terminal(&str_list(node, "caps")));
    println!(
        "  commands: {}",
        sanitize_for_terminal(&str_list(node, "commands"))
    );
    if let Some(stats) = node.get("hostStats") {
        println!(
            "  host stats: {}",
            sanitize_for_terminal(&stats.to_string())
        );
    }
}

async fn invoke(ctx: &Context, args: &InvokeArgs) -> Result<(), CliError> {
    if REFUSED_COMMANDS.contains(&args.command.as_str()) {
        return Err(CliError::usage(
            format!("`nodes invoke` does not run {}", args.command),
            Some(
                "Shell execution goes through the exec path; for a raw call use `clawlet gateway call node.invoke --params '{\"nodeId\":…,\"command\":\"system.run\",…}'`.",
            ),
        ));
    }
    let params = super::parse_params(args.params.as_deref())?;
    let invoke_timeout = args.invoke_timeout.or(args.connect.timeout);
    let mut connect = args.connect.clone();
    // Wait as long as the node may take, plus slack for the gateway's answer.
    connect.timeout = Some(invoke_timeout.unwrap_or(30_000).saturating_add(5_000));
    let (mut client, _) = ctx.connect(&connect, &["operator.write"], "cli").await?;
    let result = async {
        let node_id = select_node(&mut client, &args.node).await?;
        let mut request = json!({
            "nodeId": node_id,
            "command": args.command,
            "idempotencyKey": args.idempotency_key.clone().unwrap_or_else(|| format!("clawlet-{}", uuid_v4())),
        });
        if let Some(map) = request.as_object_mut() {
            if let Some(p) = params {
                map.insert("params".into(), p);
            }
            if let Some(ms) = invoke_timeout {
                map.insert("timeoutMs".into(), json!(ms));
            }
        }
        Ok::<_, CliError>(client.request("node.invoke", Some(request)).await?)
    }
    .await;
    client.close().await;
    let answer = result?;
    if args.connect.json {
        print_json(&answer);
    } else {
        print_json(answer.get("payload").unwrap_or(&Value::Null));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn nodes() -> Vec<Value> {
        vec![
            json!({"nodeId": "aaaaaaaa1111", "displayName": "Kitchen", "remoteIp": "10.0.0.2"}),
            json!({"nodeId": "aaaaaaaa2222", "displayName": "Garage", "remoteIp": "10.0.0.3"}),
            json!({"nodeId": "bbbbbbbb3333", "displayName": "garage", "remoteIp": "10.0.0.4"}),
        ]
    }

    #[test]
    fn picks_by_id_name_ip_prefix() {
        assert_eq!(pick_node(&nodes(), "aaaaaaaa1111").unwrap(), "aaaaaaaa1111");
        assert_eq!(pick_node(&nodes(), "kitchen").unwrap(), "aaaaaaaa1111");
        assert_eq!(pick_node(&nodes(), "10.0.0.4").unwrap(), "bbbbbbbb3333");
        assert_eq!(pick_node(&nodes(), "bbbbbb").unwrap(), "bbbbbbbb3333");
    }

    #[test]
    fn ambiguity_and_misses_are_errors() {
        assert!(pick_node(&nodes(), "Garage").is_err());
        assert!(pick_node(&nodes(), "aaaaaaaa").is_err());
        assert!(pick_node(&nodes(), "nope").is_err());
        assert!(pick_node(&nodes(), "aaa").is_err());
    }
}
