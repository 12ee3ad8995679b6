//! `clawlet devices list|approve|reject|remove|setup-code`: device pairing (`device.pair.*`).

use clawlet_node_core::remote::SETUP_CODE_URL_PREFIX;
use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};
use serde_json::{Value, json};

use crate::cli::context::{CliError, Context};
use crate::cli::output::{age, now_ms, print_json, short_id, str_field, str_list, table_text};
use crate::cli::terminal_text::{sanitize_for_terminal, sanitize_rows};
use crate::cli::{DevicesCommand, SetupCodeArgs};

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
                print!("{}", list_text(&list, now_ms()));
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
                    sanitize_for_terminal(&name_of(device)),
                    sanitize_for_terminal(str_field(device, "deviceId")),
                    sanitize_for_terminal(&str_list(device, "roles")),
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
        DevicesCommand::SetupCode(args) => setup_code(ctx, &args).await,
    }
}

/// `clawlet devices setup-code`: asks the gateway for a setup code and shows it for scanning.
async fn setup_code(ctx: &Context, args: &SetupCodeArgs) -> Result<(), CliError> {
    let mut params = serde_json::Map::new();
    if args.profile != "full" {
        params.insert("bootstrapProfile".into(), json!(args.profile));
    }
    if let Some(url) = &args.public_url {
        params.insert("publicUrl".into(), json!(url));
    }
    let mut result = ctx
        .call(
            &args.connect,
            &["operator.admin"],
            "device.pair.setupCode",
            Value::Object(params),
        )
        .await?;
    let code = str_field(&result, "setupCode").to_string();
    if code.is_empty() {
        return Err(CliError::Other(anyhow::anyhow!(
            "the gateway answered device.pair.setupCode without a setupCode"
        )));
    }
    let link = format!("{SETUP_CODE_URL_PREFIX}{code}");
    if args.connect.json {
        if let Some(obj) = result.as_object_mut() {
            obj.insert("link".into(), json!(link));
        }
        print_json(&result);
        return Ok(());
    }
    if args.profile == "operator" {
        println!("On the machine the operator CLI runs on (once, within 10 minutes):");
        println!("  clawlet pair {code}");
        println!(
            "Gateway:    {} ({})",
            str_field(&result, "gatewayUrl"),
            str_field(&result, "urlSource")
        );
        if result.get("accessDowngraded").and_then(Value::as_bool) == Some(true) {
            println!(
                "Access:     {} (without operator.admin: the URL is plaintext ws:// off this \
                 host; use --public-url wss://... for admin)",
                str_field(&result, "access")
            );
        }
        println!(
            "That machine must reach the gateway URL above (else run again with --public-url). \
             Anyone holding the code can pair an operator until it is used or expires."
        );
        return Ok(());
    }
    match qr_text(&link) {
        Some(qr) => {
            println!("Scan with the OpenClaw app (or an app built on the clawlet SDK):");
            println!();
            println!("{qr}");
            println!();
        }
        None => println!("(the link is too long for a QR code; paste the setup code instead)"),
    }
    println!("Setup code: {code}");
    println!("Link:       {link}");
    println!(
        "Gateway:    {} ({})",
        str_field(&result, "gatewayUrl"),
        str_field(&result, "urlSource")
    );
    let access = str_field(&result, "access");
    if result.get("accessDowngraded").and_then(Value::as_bool) == Some(true) {
        println!(
            "Access:     {access} (downgraded from full: the URL is plaintext ws:// off this host; \
             use --public-url wss://... for full access)"
        );
    } else {
        println!("Access:     {access}");
    }
    let expires = result.get("expiresAtMs").and_then(Value::as_u64);
    println!(
        "Expires:    {} (single use)",
        expires_text(expires, now_ms())
    );
    println!();
    println!(
        "The phone must reach the gateway URL above; if it cannot, run again with \
         --public-url <LAN or tailnet URL>. Anyone holding the code can pair until it is used \
         or expires."
    );
    Ok(())
}

/// The link as a QR code of half-height unicode blocks, light modules drawn (for dark
/// terminals), with the quiet zone; `None` if it does not fit a QR code.
fn qr_text(link: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::L).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .build(),
    )
}

/// "in 10 min (at 14:05:09 UTC)" for an expiry timestamp.
fn expires_text(expires_at_ms: Option<u64>, now_ms: u64) -> String {
    let Some(at) = expires_at_ms else {
        return "in 10 min".to_string();
    };
    let left_s = at.saturating_sub(now_ms) / 1000;
    let day_s = (at / 1000) % 86_400;
    format!(
        "in {} min {} s (at {:02}:{:02}:{:02} UTC)",
        left_s / 60,
        left_s % 60,
        day_s / 3600,
        (day_s / 60) % 60,
        day_s % 60
    )
}

fn name_of(device: &Value) -> String {
    let name = str_field(device, "displayName");
    if name.is_empty() {
        short_id(str_field(device, "deviceId"))
    } else {
        name.to_string()
    }
}

/// Why a pending request waits, as the gateway's `PAIRING_REQUIRED` `reason` says it: derived
/// from the request and the device's paired record (the list carries both).
fn pending_reason(request: &Value, paired: &[Value]) -> &'static str {
    let device_id = str_field(request, "deviceId");
    let Some(device) = paired
        .iter()
        .find(|d| str_field(d, "deviceId") == device_id)
    else {
        return "not-paired";
    };
    let strings = |v: &Value, key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    if str_field(device, "publicKey") != str_field(request, "publicKey") {
        "metadata-upgrade"
    } else if !strings(device, "roles").contains(&str_field(request, "role").to_owned()) {
        "role-upgrade"
    } else if !strings(request, "scopes")
        .iter()
        .all(|s| strings(device, "scopes").contains(s))
    {
        "scope-upgrade"
    } else {
        "metadata-upgrade"
    }
}

/// The text of `clawlet devices list`: every client-supplied string passes through
/// [`sanitize_for_terminal`].
pub fn list_text(list: &Value, now: u64) -> String {
    use std::fmt::Write as _;
    let empty = Vec::new();
    let pending = list
        .get("pending")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let paired = list
        .get("paired")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut out = String::new();
    let _ = writeln!(out, "Pending ({}):", pending.len());
    if !pending.is_empty() {
        let rows: Vec<Vec<String>> = pending
            .iter()
            .map(|p| {
                let scopes = str_list(p, "scopes");
                vec![
                    str_field(p, "requestId").to_string(),
                    short_id(str_field(p, "deviceId")),
                    name_of(p),
                    str_field(p, "role").to_string(),
                    if scopes.is_empty() {
                        "-".into()
                    } else {
                        scopes
                    },
                    pending_reason(p, paired).to_string(),
                    str_field(p, "clientId").to_string(),
                    str_field(p, "platform").to_string(),
                    str_field(p, "remoteIp").to_string(),
                    age(p.get("ts").and_then(Value::as_u64), now),
                ]
            })
            .collect();
        out.push_str(&table_text(
            &[
                "REQUEST",
                "DEVICE",
                "NAME",
                "ROLE",
                "SCOPES",
                "REASON",
                "CLIENT",
                "PLATFORM",
                "IP",
                "REQUESTED",
            ],
            &sanitize_rows(rows),
        ));
        out.push_str("Approve with `clawlet devices approve <REQUEST>`.\n");
    }
    out.push('\n');
    let _ = writeln!(out, "Paired ({}):", paired.len());
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
        out.push_str(&table_text(
            &[
                "DEVICE",
                "NAME",
                "ROLES",
                "SCOPES",
                "CONNECTED",
                "LAST SEEN",
            ],
            &sanitize_rows(rows),
        ));
    }
    out
}

#[cfg(test)]
mod list_tests {
    use super::*;

    #[test]
    fn pending_rows_show_scopes_and_reason_without_terminal_control() {
        let list = json!({
            "pending": [
                {
                    "requestId": "r-new", "deviceId": "dev-new", "publicKey": "k9",
                    "displayName": "\u{1b}[2J\u{1b}[31mEVIL\u{202e}", "role": "operator",
                    "scopes": ["operator.read", "operator.admin"], "isRepair": false,
                    "clientId": "cli\u{7}", "platform": "li\u{9b}2Jnux", "remoteIp": "10.0.0.9",
                    "ts": 1_000
                },
                {
                    "requestId": "r-up", "deviceId": "dev-old", "publicKey": "k1",
                    "role": "operator", "scopes": ["operator.admin"], "isRepair": true, "ts": 1_000
                },
                {
                    "requestId": "r-role", "deviceId": "dev-old", "publicKey": "k1",
                    "role": "node", "scopes": [], "isRepair": true, "ts": 1_000
                },
                {
                    "requestId": "r-key", "deviceId": "dev-old", "publicKey": "k2",
                    "role": "operator", "scopes": [], "isRepair": true, "ts": 1_000
                }
            ],
            "paired": [{
                "deviceId": "dev-old", "publicKey": "k1", "displayName": "old\u{1b}]0;t\u{7}",
                "roles": ["operator"], "scopes": ["operator.read"]
            }]
        });
        let text = list_text(&list, 61_000);
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(!text.contains('\u{202e}'));
        assert!(!text.contains('\u{7}'));
        assert!(!text.contains('\u{9b}'));
        let line = |id: &str| {
            text.lines()
                .find(|l| l.starts_with(id))
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            line("r-new"),
            "r-new dev-new EVIL operator operator.read, operator.admin not-paired cli linux 10.0.0.9 1m ago"
        );
        assert!(
            line("r-up").contains("operator.admin scope-upgrade"),
            "{text}"
        );
        assert!(line("r-role").contains("node - role-upgrade"), "{text}");
        assert!(line("r-key").contains("metadata-upgrade"), "{text}");
        assert!(text.contains("SCOPES") && text.contains("REASON"));
        assert_eq!(line("dev-old"), "dev-old old operator operator.read no -");
    }
}
