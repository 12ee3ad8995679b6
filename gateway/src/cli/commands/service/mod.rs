//! `clawlet gateway|node install|uninstall|start|stop|restart|status`: always-on services.
//!
//! Linux: a systemd user unit (`~/.config/systemd/user/clawlet-<gateway|node>.service`) enabled
//! with `systemctl --user enable --now`; macOS: a launchd agent
//! (`~/Library/LaunchAgents/ai.clawlet.<gateway|node>.plist`). The unit runs the absolute path
//! of this executable with `gateway run` / `node run` and the flags given to `install`; no
//! secret is ever written into it (see [`run_line`]): secrets set in the environment when
//! installing go to a 0600 environment file.
//!
//! Exit status of `install`: 0 written and started; 3 written but not started because no
//! service manager is reachable (no user bus: containers, CI, `su` shells; the output says how
//! to start it by hand); 1 the manager failed to start it; 2 bad flags or an existing different
//! unit without `--force`. `status`: 0 running, 3 not running or unknown.

pub mod launchctl;
pub mod launchd_plist;
pub mod linger;
pub mod manager;
pub mod run_line;
pub mod spec;
pub mod state;
pub mod systemctl;
pub mod systemd_unit;
pub mod tool;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::Context as _;

use crate::cli::context::{CliError, Context};
use crate::cli::output::print_json;
use linger::Linger;
use manager::{ActivateError, Manager, ServiceAction};
use spec::{ServiceKind, ServicePaths, ServiceSpec};

/// Seconds between a crash and the restart.
const RESTART_SEC: u32 = 5;

const INSTALL_HELP: &str = "Linux: writes the systemd user unit \
~/.config/systemd/user/clawlet-<gateway|node>.service, then runs `systemctl --user daemon-reload` \
and `systemctl --user enable --now`; prints `sudo loginctl enable-linger $USER` when lingering is \
off (without it the service stops at logout and does not start at boot). macOS: writes the \
launch agent ~/Library/LaunchAgents/ai.clawlet.<gateway|node>.plist and bootstraps it.\n\n\
The service runs this executable's absolute path with `run` and the flags given here. \
CLAWLET_CONFIG, CLAWLET_STATE_DIR, CLAWLET_NODE_DIR, OPENCLAW_GATEWAY_PORT, OPENCLAW_GATEWAY_URL, \
OPENCLAW_ALLOW_INSECURE_PRIVATE_WS and RUST_LOG are carried into the unit when set. Secrets never \
are: OPENCLAW_GATEWAY_TOKEN / OPENCLAW_GATEWAY_PASSWORD set now go to \
~/.clawlet/service/clawlet-<gateway|node>.env (mode 0600, the unit's EnvironmentFile).\n\n\
Exit status: 0 installed and started; 3 the unit is written but no service manager answered \
(containers, CI, `su` shells: the output says how to start it); 1 the manager could not start \
it; 2 bad flags, or a different unit exists (replace it with --force).";

/// `clawlet gateway install` / `clawlet node install`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = INSTALL_HELP)]
pub struct InstallArgs {
    /// Print the unit and the commands it would run; write and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace an existing unit that differs.
    #[arg(long)]
    pub force: bool,
    /// The flags of `run` the service starts with (e.g. --port 19001 --bind lan, or for a
    /// node --url ws://gw:18789 --display-name pi --token-file /path). --token, --password and
    /// --setup-code are refused: a unit file is readable by everyone on the host.
    #[arg(
        value_name = "RUN_FLAGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub run_flags: Vec<String>,
}

/// `status` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// A service command for `kind`.
#[derive(Debug, Clone)]
pub enum ServiceCommand {
    /// Write, enable and start.
    Install(InstallArgs),
    /// Stop, disable and remove.
    Uninstall,
    /// Start / stop / restart.
    Control(ServiceAction),
    /// The manager's view.
    Status(StatusArgs),
}

/// Runs a service command.
pub fn run(ctx: &Context, kind: ServiceKind, command: ServiceCommand) -> Result<(), CliError> {
    let manager = Manager::for_this_os();
    let paths = ServicePaths::from_env();
    match command {
        ServiceCommand::Install(args) => install(ctx, manager, &paths, kind, args),
        ServiceCommand::Uninstall => uninstall(manager, &paths, kind),
        ServiceCommand::Control(action) => control(manager, &paths, kind, action),
        ServiceCommand::Status(args) => status(manager, &paths, kind, args.json),
    }
}

/// The manager's view of `kind` (used by `clawlet gateway status` too).
pub fn service_state(kind: ServiceKind) -> state::ServiceState {
    Manager::for_this_os().state(&ServicePaths::from_env(), kind)
}

/// Builds the spec for `kind` from the install flags and this process.
pub fn build_spec(
    kind: ServiceKind,
    manager: Manager,
    paths: &ServicePaths,
    flags: &[String],
) -> Result<ServiceSpec, CliError> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let program = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("cannot find the path of this executable")?;
    let args = run_line::run_line(kind, flags, &cwd)?;
    let env = spec::carried_env(|k| std::env::var(k).ok(), &cwd);
    let log_file = match manager {
        Manager::Launchd => paths.log_dir.join(format!("{}.log", kind.name())),
        Manager::Systemd => paths.log_dir.join("unused"),
    };
    Ok(ServiceSpec {
        kind,
        program,
        args,
        env,
        env_file: paths.env_file(kind),
        restart_sec: RESTART_SEC,
        log_file,
    })
}

fn install(
    _ctx: &Context,
    manager: Manager,
    paths: &ServicePaths,
    kind: ServiceKind,
    mut args: InstallArgs,
) -> Result<(), CliError> {
    // `install --url X --dry-run`: the trailing flags swallow our own; take them back.
    args.run_flags.retain(|flag| match flag.as_str() {
        "--dry-run" => {
            args.dry_run = true;
            false
        }
        "--force" => {
            args.force = true;
            false
        }
        _ => true,
    });
    let spec = build_spec(kind, manager, paths, &args.run_flags)?;
    let text = manager.render(&spec);
    let file = manager.file(paths, kind);
    let secrets = spec::secret_env(|k| std::env::var(k).ok());
    let activate = manager.activate_commands(kind, &file);
    let user = linger::current_user();

    if args.dry_run {
        println!(
            "# clawlet {} install --dry-run: nothing is written or started.",
            kind.name()
        );
        println!("# would write {}:", file.display());
        print!("{text}");
        if !secrets.is_empty() {
            println!(
                "# would write {} (mode 0600) with {}",
                spec.env_file.display(),
                names(&secrets)
            );
        } else if spec.env_file.exists() {
            println!(
                "# would remove {} (no {} set now)",
                spec.env_file.display(),
                spec::SECRET_ENV.join(" or ")
            );
        }
        println!("# then run:");
        for line in &activate {
            println!("#   {line}");
        }
        if manager == Manager::Systemd && linger::check_linger(&user) == Linger::Disabled {
            println!(
                "# lingering is off for {user}: the service would stop at logout. Run: {}",
                linger::linger_hint(&user)
            );
        }
        return Ok(());
    }

    let existing = fs::read_to_string(&file).ok();
    match &existing {
        Some(existing) if *existing != text && !args.force => {
            return Err(CliError::usage(
                format!(
                    "{} already exists and differs from the unit these flags give",
                    file.display()
                ),
                Some(&format!(
                    "Compare with `clawlet {} install --dry-run …`, then pass --force to replace it.",
                    kind.name()
                )),
            ));
        }
        _ => {}
    }
    if secrets.is_empty() {
        // Reinstalling without the secrets must not leave an old token in force unnoticed.
        if remove_env_file(&spec.env_file)? {
            println!(
                "removed {}: no {} is set now, so the service gets none from it (set it when \
                 installing, or use --token-file / the config)",
                spec.env_file.display(),
                spec::SECRET_ENV.join(" or ")
            );
        }
    } else {
        if manager == Manager::Launchd {
            eprintln!(
                "warning: {} is set but launchd has no environment files; it is NOT passed to the \
                 service. Put the secret in the config (gateway.auth.token / gateway.remote.token) \
                 or use --token-file.",
                names(&secrets)
            );
        } else {
            write_env_file(&spec.env_file, &secrets)?;
            println!(
                "wrote {} (mode 0600): {}",
                spec.env_file.display(),
                names(&secrets)
            );
        }
    }
    write_unit(&file, &text)?;
    println!("wrote {}", file.display());
    println!("  runs: {}", shell_words(&spec.argv()));

    match manager.activate(kind, &file) {
        Ok(()) if existing.is_some() && manager == Manager::Systemd => {
            // `enable --now` leaves a running service as it was: restart it so the new unit
            // and environment file apply.
            let restart = manager.control(kind, ServiceAction::Restart);
            if !restart.ok() {
                return Err(CliError::Other(anyhow::anyhow!(
                    "the unit is replaced but the restart failed: {}\n  See `clawlet {} status` and {}",
                    restart.failure(manager.tool()),
                    kind.name(),
                    logs_hint(manager, kind)
                )));
            }
            println!("enabled and restarted {}", state_name(manager, kind));
        }
        Ok(()) => {
            println!("enabled and started {}", state_name(manager, kind));
        }
        Err(ActivateError::Unreachable(why)) => {
            let mut hint = format!(
                "From a login session of {user}, run:\n  {}",
                activate.join("\n  ")
            );
            if manager == Manager::Systemd && linger::check_linger(&user) == Linger::Disabled {
                hint.push_str(&format!(
                    "\n  {}   (lingering is off: without it the service stops at logout)",
                    linger::linger_hint(&user)
                ));
            }
            hint.push_str(&format!(
                "\nOr start it in the foreground: {}",
                shell_words(&spec.argv())
            ));
            return Err(CliError::Incomplete {
                message: format!(
                    "the unit is written but not started: the service manager is not reachable \
                     ({why})"
                ),
                hint: Some(hint),
            });
        }
        Err(ActivateError::Failed(why)) => {
            return Err(CliError::Other(anyhow::anyhow!(
                "the unit is written but {} could not start it: {why}\n  See `clawlet {} status` \
                 and {}",
                manager.tool(),
                kind.name(),
                logs_hint(manager, kind)
            )));
        }
    }
    if manager == Manager::Systemd {
        match linger::check_linger(&user) {
            Linger::Enabled => {}
            Linger::Disabled => println!(
                "note: lingering is off for {user}, so the service stops at logout and does not \
                 start at boot. To keep it running: {}",
                linger::linger_hint(&user)
            ),
            Linger::Unknown(why) => println!(
                "note: could not ask logind whether {user} lingers ({why}); without lingering the \
                 service stops at logout: {}",
                linger::linger_hint(&user)
            ),
        }
    }
    println!("logs: {}", logs_hint(manager, kind));
    Ok(())
}

fn uninstall(manager: Manager, paths: &ServicePaths, kind: ServiceKind) -> Result<(), CliError> {
    let file = manager.file(paths, kind);
    if !file.exists() {
        println!(
            "{} is not installed ({} does not exist); nothing to remove",
            state_name(manager, kind),
            file.display()
        );
        return Ok(());
    }
    if let Err(why) = manager.deactivate(kind) {
        println!("note: could not stop/disable it ({why}); removing the file anyway");
    }
    fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
    println!("removed {}", file.display());
    let env_file = paths.env_file(kind);
    if env_file.exists() {
        fs::remove_file(&env_file)
            .with_context(|| format!("cannot remove {}", env_file.display()))?;
        println!("removed {}", env_file.display());
    }
    manager.forget();
    Ok(())
}

fn control(
    manager: Manager,
    paths: &ServicePaths,
    kind: ServiceKind,
    action: ServiceAction,
) -> Result<(), CliError> {
    let file = manager.file(paths, kind);
    if !file.exists() {
        return Err(CliError::usage(
            format!("{} is not installed", state_name(manager, kind)),
            Some(&format!(
                "Install it with `clawlet {} install`.",
                kind.name()
            )),
        ));
    }
    let out = manager.control(kind, action);
    if out.ok() {
        println!("{} {}: done", action.verb(), state_name(manager, kind));
        return Ok(());
    }
    Err(CliError::Other(anyhow::anyhow!(
        "{} {} failed: {}",
        action.verb(),
        state_name(manager, kind),
        out.failure(manager.tool())
    )))
}

fn status(
    manager: Manager,
    paths: &ServicePaths,
    kind: ServiceKind,
    json: bool,
) -> Result<(), CliError> {
    let state = manager.state(paths, kind);
    if json {
        print_json(&state.to_json());
    } else {
        println!("{}", state.summary());
        if state.installed {
            println!("  file: {}", state.file.display());
            println!("  logs: {}", logs_hint(manager, kind));
        } else {
            println!("  install it with `clawlet {} install`", kind.name());
        }
    }
    if state.running() {
        Ok(())
    } else {
        Err(CliError::Incomplete {
            message: match (&state.unreachable, state.installed) {
                (_, false) => format!("{} is not installed", state.name),
                (Some(_), true) => format!("the state of {} is unknown", state.name),
                (None, true) => format!("{} is not running", state.name),
            },
            hint: None,
        })
    }
}

fn state_name(manager: Manager, kind: ServiceKind) -> String {
    match manager {
        Manager::Systemd => kind.unit_name(),
        Manager::Launchd => kind.launchd_label(),
    }
}

fn logs_hint(manager: Manager, kind: ServiceKind) -> String {
    match manager {
        Manager::Systemd => format!("journalctl --user -u {} -f", kind.unit_name()),
        Manager::Launchd => format!("~/Library/Logs/clawlet/{}.log", kind.name()),
    }
}

/// Words joined for a shell: plain words as they are, others in single quotes.
fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._:@=+,-".contains(c));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn names(vars: &[(String, String)]) -> String {
    vars.iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Removes the environment file if it exists; whether it did.
fn remove_env_file(file: &Path) -> Result<bool, CliError> {
    match fs::remove_file(file) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(CliError::Other(
            anyhow::Error::new(e).context(format!("cannot remove {}", file.display())),
        )),
    }
}

fn write_unit(file: &Path, text: &str) -> Result<(), CliError> {
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = file.with_extension("tmp");
    fs::write(&tmp, text)
        .and_then(|()| fs::rename(&tmp, file))
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok(())
}

/// Writes `KEY='value'` lines to a 0600 file in a 0700 dir. Single quotes: systemd expands and
/// unescapes nothing inside them, so a value with `'` or a line break is refused.
fn write_env_file(file: &Path, vars: &[(String, String)]) -> Result<(), CliError> {
    let mut text =
        String::from("# Secrets for the clawlet service (mode 0600). Written by install.\n");
    for (key, value) in vars {
        if value.contains('\'') || value.contains('\n') || value.contains('\r') {
            return Err(CliError::usage(
                format!(
                    "{key} contains a quote or a line break and cannot go in an environment file"
                ),
                Some("Put the secret in the config file instead (gateway.auth.token)."),
            ));
        }
        text.push_str(&format!("{key}='{value}'\n"));
    }
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir)
            .and_then(|()| fs::set_permissions(dir, fs::Permissions::from_mode(0o700)))
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = file.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| fs::rename(&tmp, file))
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok(())
}

/// `clawlet gateway install|uninstall|start|stop|restart`.
pub fn gateway(ctx: &Context, command: crate::cli::GatewayCommand) -> Result<(), CliError> {
    use crate::cli::GatewayCommand as G;
    let command = match command {
        G::Install(args) => ServiceCommand::Install(args),
        G::Uninstall => ServiceCommand::Uninstall,
        G::Start => ServiceCommand::Control(ServiceAction::Start),
        G::Stop => ServiceCommand::Control(ServiceAction::Stop),
        G::Restart => ServiceCommand::Control(ServiceAction::Restart),
        _ => {
            return Err(CliError::usage("not a gateway service command", None));
        }
    };
    run(ctx, ServiceKind::Gateway, command)
}

/// `clawlet node install|uninstall|start|stop|restart|status`.
pub fn node(ctx: &Context, command: crate::cli::NodeCommand) -> Result<(), CliError> {
    use crate::cli::NodeCommand as N;
    let command = match command {
        N::Install(args) => ServiceCommand::Install(args),
        N::Uninstall => ServiceCommand::Uninstall,
        N::Start => ServiceCommand::Control(ServiceAction::Start),
        N::Stop => ServiceCommand::Control(ServiceAction::Stop),
        N::Restart => ServiceCommand::Control(ServiceAction::Restart),
        N::Status(args) => ServiceCommand::Status(args),
        N::Run(_) => {
            return Err(CliError::usage(
                "`clawlet node run` is not a service command",
                None,
            ));
        }
    };
    run(ctx, ServiceKind::Node, command)
}
