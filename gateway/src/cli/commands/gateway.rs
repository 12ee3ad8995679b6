//! `clawlet gateway …` except `run`: token, fingerprint, status, health, probe, call.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::cli::context::{CliError, Context, describe_target};
use crate::cli::operator_client::ClientError;
use crate::cli::output::print_json;
use crate::cli::target::{
    ConnectArgs, GENERATED_CERT_FILE, first_certificate_der, read_generated_token,
};
use crate::cli::{CallArgs, GatewayCommand};
use crate::config::AuthMode;

/// Dispatches `clawlet gateway <cmd>`.
pub async fn run(ctx: &Context, command: GatewayCommand) -> Result<(), CliError> {
    match command {
        GatewayCommand::Run(args) => super::gateway_run::run(ctx, args).await,
        GatewayCommand::AuthToken => auth_token(ctx),
        GatewayCommand::TlsFingerprint => tls_fingerprint(ctx),
        GatewayCommand::Status(args) => status(ctx, &args).await,
        GatewayCommand::Health(args) => super::health::run(ctx, &args.connect).await,
        GatewayCommand::Probe(args) => probe(ctx, &args).await,
        GatewayCommand::Call(args) => call(ctx, &args).await,
        service @ (GatewayCommand::Install(_)
        | GatewayCommand::Uninstall
        | GatewayCommand::Start
        | GatewayCommand::Stop
        | GatewayCommand::Restart) => super::service::gateway(ctx, service),
    }
}

/// Where the local gateway's shared secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedSecretSource {
    /// `gateway.auth.token` / `gateway.auth.password`.
    Config,
    /// `OPENCLAW_GATEWAY_TOKEN` / `OPENCLAW_GATEWAY_PASSWORD`.
    Env,
    /// The token file generated on first run.
    Generated,
}

fn auth_token(ctx: &Context) -> Result<(), CliError> {
    let config = ctx.gateway_config()?;
    match config.auth.effective_mode() {
        AuthMode::Token => {}
        AuthMode::Password => {
            return Err(CliError::usage(
                "the gateway uses password auth (gateway.auth.mode is \"password\"); there is no token",
                Some("Clients pass --password, or OPENCLAW_GATEWAY_PASSWORD."),
            ));
        }
        AuthMode::None => {
            return Err(CliError::usage(
                "the gateway has no shared secret (gateway.auth.mode is \"none\")",
                None,
            ));
        }
        AuthMode::TrustedProxy => {
            return Err(CliError::usage(
                "the gateway uses trusted-proxy auth; there is no token",
                None,
            ));
        }
    }
    let (token, source) = if let Some(token) = config.auth.token.clone() {
        (token, "gateway.auth.token in the config file")
    } else if let Some(token) = ctx
        .env
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        (token.to_string(), "OPENCLAW_GATEWAY_TOKEN")
    } else if let Some(token) = read_generated_token(&ctx.paths.gateway_token_file()) {
        (token, "generated on first run")
    } else {
        return Err(CliError::usage(
            format!(
                "no gateway token yet: none is configured and {} does not exist",
                ctx.paths.gateway_token_file().display()
            ),
            Some(
                "Run `clawlet gateway run` once; it generates a token and keeps it there (mode 0600).",
            ),
        ));
    };
    eprintln!("(token source: {source})");
    println!("{token}");
    Ok(())
}

fn tls_fingerprint(ctx: &Context) -> Result<(), CliError> {
    let config = ctx.gateway_config()?;
    let cert_path = match &config.tls.cert_path {
        Some(p) => ctx.paths.relative_to_config(Path::new(p)),
        None => ctx.paths.tls_dir().join(GENERATED_CERT_FILE),
    };
    let pem = std::fs::read(&cert_path).map_err(|e| {
        CliError::usage(
            format!("cannot read the gateway certificate {}: {e}", cert_path.display()),
            Some(if config.tls.enabled {
                "Start the gateway once (`clawlet gateway run`) so it generates its self-signed certificate, or fix gateway.tls.certPath."
            } else {
                "TLS is off. Enable it with `clawlet config set gateway.tls.enabled true` and restart the gateway."
            }),
        )
    })?;
    let der = first_certificate_der(&pem).ok_or_else(|| {
        CliError::usage(
            format!("{} holds no PEM certificate", cert_path.display()),
            None,
        )
    })?;
    println!("{}", clawlet_node::transport::certificate_fingerprint(&der));
    Ok(())
}

/// What a connection may do, from the scopes `hello-ok` granted (OpenClaw's classification).
pub fn classify_capability(scopes: &[String]) -> &'static str {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    if has("operator.admin") {
        "admin_capable"
    } else if has("operator.write") {
        "write_capable"
    } else if has("operator.read") {
        "read_only"
    } else if scopes.is_empty() {
        "connected_no_operator_scope"
    } else {
        "unknown"
    }
}

fn hello_summary(hello: &Value) -> Value {
    json!({
        "protocol": hello.get("protocol"),
        "server": hello.get("server"),
        "auth": {
            "method": hello.pointer("/auth/method"),
            "role": hello.pointer("/auth/role"),
            "scopes": hello.pointer("/auth/scopes"),
        },
    })
}

async fn status(ctx: &Context, args: &ConnectArgs) -> Result<(), CliError> {
    let target = ctx.resolve_target(args, clawlet_node_core::remote::CredentialPurpose::Probe)?;
    // For the local gateway, also what the service manager says (`clawlet gateway install`).
    let service = (target.url_source == clawlet_node_core::remote::UrlSource::LocalDefault)
        .then(|| super::service::service_state(super::service::spec::ServiceKind::Gateway));
    let service_json = service.as_ref().map(|s| s.to_json());
    let attempt = ctx
        .connect_to(&target, args, &["operator.read"], "probe")
        .await;
    let (reachable, summary, capability, error) = match attempt {
        Ok(client) => {
            let scopes = client.granted_scopes();
            let summary = hello_summary(client.hello());
            client.close().await;
            (true, summary, classify_capability(&scopes), None)
        }
        Err(CliError::Client(e))
            if e.error_shape().and_then(|s| s.detail_code()) == Some("PAIRING_REQUIRED") =>
        {
            // The gateway's message, then what to run on its host (`clawlet devices approve …`).
            let message = e.error_shape().map(|s| s.message.clone());
            let hint = CliError::Client(e).hint();
            let note = [message, hint].into_iter().flatten().collect::<Vec<_>>();
            (true, Value::Null, "pairing_pending", Some(note.join("\n")))
        }
        Err(e) => {
            if args.json {
                print_json(&json!({
                    "url": target.url.to_string(),
                    "source": target.url_source.to_string(),
                    "reachable": false,
                    "error": e.to_string(),
                    "service": service_json,
                }));
            } else if let Some(service) = &service {
                println!("Gateway {}: not reachable", describe_target(&target));
                println!("  service: {}", service.summary());
            }
            return Err(e);
        }
    };
    if args.json {
        print_json(&json!({
            "url": target.url.to_string(),
            "source": target.url_source.to_string(),
            "reachable": reachable,
            "hello": summary,
            "capability": capability,
            "error": error,
            "service": service_json,
        }));
        return Ok(());
    }
    println!("Gateway {}: reachable", describe_target(&target));
    if let Some(version) = summary.pointer("/server/version").and_then(Value::as_str) {
        println!("  version: {version}");
    }
    if let Some(method) = summary.pointer("/auth/method").and_then(Value::as_str) {
        println!("  auth: {method}");
    }
    println!("  capability: {capability}");
    if let Some(error) = error {
        println!("  note: {}", error.replace('\n', "\n    "));
    }
    if let Some(service) = &service {
        println!("  service: {}", service.summary());
    }
    Ok(())
}

async fn probe(ctx: &Context, args: &ConnectArgs) -> Result<(), CliError> {
    let (mut client, target) = ctx.connect(args, &["operator.read"], "probe").await?;
    let scopes = client.granted_scopes();
    let capability = classify_capability(&scopes);
    let mut calls = Map::new();
    let mut degraded = false;
    for method in ["health", "status", "system-presence", "config.get"] {
        let result = client.request(method, Some(json!({}))).await;
        let entry = match result {
            Ok(payload) => json!({"ok": true, "payload": payload}),
            Err(ClientError::Rpc { error, .. }) => {
                degraded = true;
                json!({"ok": false, "error": error})
            }
            Err(e) => {
                degraded = true;
                json!({"ok": false, "error": {"message": e.to_string()}})
            }
        };
        calls.insert(method.to_string(), entry);
    }
    let hello = hello_summary(client.hello());
    client.close().await;
    if args.json {
        print_json(&json!({
            "url": target.url.to_string(),
            "source": target.url_source.to_string(),
            "connected": true,
            "hello": hello,
            "capability": capability,
            "degraded": degraded,
            "calls": calls,
        }));
        return Ok(());
    }
    println!("Probe {}", describe_target(&target));
    println!("  connected: yes (capability: {capability})");
    for (method, entry) in &calls {
        let line = if entry.get("ok").and_then(Value::as_bool) == Some(true) {
            "ok".to_string()
        } else {
            let code = entry
                .pointer("/error/details/code")
                .or_else(|| entry.pointer("/error/code"))
                .and_then(Value::as_str)
                .unwrap_or("error");
            let message = entry
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("");
            format!("{code}: {message}")
        };
        println!("  {method}: {line}");
    }
    if degraded {
        println!("  (degraded: some read calls were refused; the connection works)");
    }
    Ok(())
}

async fn call(ctx: &Context, args: &CallArgs) -> Result<(), CliError> {
    let params = super::parse_params(args.params.as_deref())?;
    let payload = ctx
        .call(
            &args.connect,
            &["operator.admin"],
            &args.method,
            params.unwrap_or_else(|| json!({})),
        )
        .await?;
    print_json(&payload);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_classes() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            classify_capability(&s(&["operator.admin"])),
            "admin_capable"
        );
        assert_eq!(
            classify_capability(&s(&["operator.read", "operator.write"])),
            "write_capable"
        );
        assert_eq!(classify_capability(&s(&["operator.read"])), "read_only");
        assert_eq!(classify_capability(&[]), "connected_no_operator_scope");
        assert_eq!(classify_capability(&s(&["operator.pairing"])), "unknown");
    }
}
