//! `clawlet devices list|approve|reject|remove`: device pairing (`device.pair.*`).

use serde_json::{Value, json};

use crate::cli::DevicesCommand;
use crate::cli::context::{CliError, Context};
use crate::cli::output::{age, now_ms, print_json, print_table, short_id, str_field, str_list};

/// Dispatches `clawlet devices <cmd>`.
pub async fn run(ctx: &Context, command: DevicesCommand) -> Result<(), CliError> {
    match command {
        DevicesCommand::List(args) => {
            let list = ctx
                .call(&args, &["operator.pairing"], "device.pair.list", json!({}))
                .await?;
            if args.json {
                print_json(&list);
            } else {
                print_list(&list);
            }
            Ok(())
        }
        DevicesCommand::Approve(args) => {
            let approved = ctx
                .call(
                    &args.connect,
                    &["operator.admin"],
                    "device.pair.approve",
                    json!({"requestId": args.request_id}),
                )
                .await?;
            if args.connect.json {
                print_json(&approved);
            } else {
                let device = approved.get("device").unwrap_or(&Value::Null);
                println!(
                    "Approved device {} ({}) as {}",
                    name_of(device),
                    str_field(device, "deviceId"),
                    str_list(device, "roles"),
                );
                if device
                    .get("roles")
                    .and_then(Value::as_array)
                    .is_some_and(|r| r.iter().any(|x| x == "node"))
                {
                    println!(
                        "  The node connects on its next retry; then approve its commands with `clawlet nodes pending` / `clawlet nodes approve <requestId>`."
                    );
                }
            }
            Ok(())
        }
        DevicesCommand::Reject(args) => {
            let rejected = ctx
                .call(
                    &args.connect,
                    &["operator.pairing"],
                    "device.pair.reject",
                    json!({"requestId": args.request_id}),
                )
                .await?;
            if args.connect.json {
                print_json(&rejected);
            } else {
                println!(
                    "Rejected pairing request {} (device {})",
                    args.request_id,
                    str_field(&rejected, "deviceId")
                );
            }
            Ok(())
        }
        DevicesCommand::Remove(args) => {
            let removed = ctx
                .call(
                    &args.connect,
                    &["operator.admin"],
                    "device.pair.remove",
                    json!({"deviceId": args.device_id}),
                )
                .await?;
            if args.connect.json {
                print_json(&removed);
            } else {
                println!(
                    "Removed device {} (its connections were closed)",
                    args.device_id
                );
            }
            Ok(())
        }
    }
}

fn name_of(device: &Value) -> String {
    let name = str_field(device, "displayName");
    if name.is_empty() {
        short_id(str_field(device, "deviceId"))
    } else {
        name.to_string()
    }
}

fn print_list(list: &Value) {
    let now = now_ms();
    let empty = Vec::new();
    let pending = list
        .get("pending")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let paired = list
        .get("paired")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    println!("Pending ({}):", pending.len());
    if !pending.is_empty() {
        let rows: Vec<Vec<String>> = pending
            .iter()
            .map(|p| {
                vec![
                    str_field(p, "requestId").to_string(),
                    short_id(str_field(p, "deviceId")),
                    name_of(p),
                    str_field(p, "role").to_string(),
                    str_field(p, "clientId").to_string(),
                    str_field(p, "remoteIp").to_string(),
                    age(p.get("ts").and_then(Value::as_u64), now),
                ]
            })
            .collect();
        print_table(
            &[
                "REQUEST",
                "DEVICE",
                "NAME",
                "ROLE",
                "CLIENT",
                "IP",
                "REQUESTED",
            ],
            &rows,
        );
        println!("Approve with `clawlet devices approve <REQUEST>`.");
    }
    println!();
    println!("Paired ({}):", paired.len());
    if !paired.is_empty() {
        let rows: Vec<Vec<String>> = paired
            .iter()
            .map(|d| {
                vec![
                    str_field(d, "deviceId").to_string(),
                    name_of(d),
                    str_list(d, "roles"),
                    str_list(d, "scopes"),
                    if d.get("connected").and_then(Value::as_bool) == Some(true) {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                    age(d.get("lastSeenAtMs").and_then(Value::as_u64), now),
                ]
            })
            .collect();
        print_table(
            &[
                "DEVICE",
                "NAME",
                "ROLES",
                "SCOPES",
                "CONNECTED",
                "LAST SEEN",
            ],
            &rows,
        );
    }
}
