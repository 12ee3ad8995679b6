//! `clawlet config get|set|unset|file`.

use serde_json::Value;

use crate::cli::ConfigCommand;
use crate::cli::context::{CliError, Context};
use crate::cli::output::print_json;
use crate::config::file::parse_cli_value;

/// Runs the command (no network).
pub fn run(ctx: &Context, command: ConfigCommand) -> Result<(), CliError> {
    match command {
        ConfigCommand::File => {
            println!("{}", ctx.paths.config_file.display());
            Ok(())
        }
        ConfigCommand::Get { key, json } => {
            let file = ctx.config_file()?;
            match file.get(&key)? {
                None => Err(CliError::usage(
                    format!("`{key}` is not set in {}", file.path().display()),
                    None,
                )),
                Some(Value::String(s)) if !json => {
                    println!("{s}");
                    Ok(())
                }
                Some(value) => {
                    print_json(value);
                    Ok(())
                }
            }
        }
        ConfigCommand::Set { key, value } => {
            let mut file = ctx.config_file()?;
            // Plain JSON is kept as it is; only JSON5 (comments, unquoted keys) is lost on save.
            // A `//` inside a string (a ws:// URL) is not a comment.
            let had_comments = file.existed()
                && std::fs::read_to_string(file.path())
                    .map(|t| serde_json::from_str::<serde_json::Value>(&t).is_err())
                    .unwrap_or(false);
            file.set(&key, parse_cli_value(&value))?;
            file.save()?;
            eprintln!("Set {key} in {}", file.path().display());
            if had_comments {
                eprintln!(
                    "  note: the file was rewritten as plain JSON; its comments and JSON5 formatting were not kept"
                );
            }
            if key.starts_with("gateway.") && !key.starts_with("gateway.remote.") {
                eprintln!("  restart the gateway for this to take effect");
            }
            Ok(())
        }
        ConfigCommand::Unset { key } => {
            let mut file = ctx.config_file()?;
            if file.unset(&key)? {
                file.save()?;
                eprintln!("Removed {key} from {}", file.path().display());
            } else {
                eprintln!("{key} was not set");
            }
            Ok(())
        }
    }
}
