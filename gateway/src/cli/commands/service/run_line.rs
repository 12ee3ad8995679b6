//! The `… run` flags a service is installed with: checked by the real `run` parser, secrets
//! refused, file paths made absolute (a service does not start in the installer's directory).

use std::path::Path;

use clap::Parser;

use super::spec::{ServiceKind, absolute};
use crate::cli::commands::gateway_run::RunArgs;
use crate::cli::commands::node_run::NodeRunArgs;
use crate::cli::context::CliError;

/// Flags whose value would put a secret into the unit file (readable by anyone on the host).
const SECRET_FLAGS: &[(&str, &str)] = &[
    (
        "--token",
        "the gateway reads its token from gateway.auth.token in the config, OPENCLAW_GATEWAY_TOKEN \
         (set it when installing: it goes to a 0600 environment file) or the token it generated \
         in its state dir; a node uses --token-file, or its stored device token once paired",
    ),
    (
        "--password",
        "use gateway.auth.password in the config, --password-file (node), or \
         OPENCLAW_GATEWAY_PASSWORD set when installing (it goes to a 0600 environment file)",
    ),
    (
        "--setup-code",
        "pair once in the foreground (`clawlet node run --setup-code …`, stop it once it says \
         it is connected), then install: the service uses the stored device token",
    ),
];

/// Flags whose value is a file path.
const PATH_FLAGS: &[&str] = &[
    "--token-file",
    "--password-file",
    "--ssh-identity",
    "--ssh-known-hosts",
];

/// `clawlet gateway run` as a clap command, to check install flags with the real parser.
#[derive(Debug, Parser)]
#[command(name = "clawlet gateway run", disable_help_flag = true)]
struct GatewayLine {
    #[command(flatten)]
    run: RunArgs,
}

/// `clawlet node run` as a clap command.
#[derive(Debug, Parser)]
#[command(name = "clawlet node run", disable_help_flag = true)]
struct NodeLine {
    #[command(flatten)]
    run: NodeRunArgs,
}

/// The words after the program for `kind`: `gateway run <flags>` / `node run <flags>`.
pub fn run_line(kind: ServiceKind, flags: &[String], cwd: &Path) -> Result<Vec<String>, CliError> {
    for flag in flags {
        for (secret, hint) in SECRET_FLAGS {
            if flag == secret || flag.starts_with(&format!("{secret}=")) {
                return Err(CliError::usage(
                    format!(
                        "refusing {secret}: a service unit is readable by every user of this host, \
                         so no secret is written into it"
                    ),
                    Some(&format!("Instead: {hint}.")),
                ));
            }
        }
    }
    let argv0 = format!("clawlet {} run", kind.name());
    let words = std::iter::once(argv0.clone()).chain(flags.iter().cloned());
    let parsed = match kind {
        ServiceKind::Gateway => GatewayLine::try_parse_from(words).map(|_| ()),
        ServiceKind::Node => NodeLine::try_parse_from(words).map(|_| ()),
    };
    if let Err(e) = parsed {
        let text = e.to_string();
        let first = text
            .lines()
            .next()
            .unwrap_or("invalid flags")
            .trim_start_matches("error: ")
            .to_string();
        return Err(CliError::usage(
            format!("not a valid `{argv0}` command line: {first}"),
            Some(&format!(
                "install takes the flags of `{argv0}` (see `{argv0} --help`) plus --dry-run and --force."
            )),
        ));
    }
    let mut out = vec![kind.name().to_string(), "run".to_string()];
    let mut iter = flags.iter();
    while let Some(flag) = iter.next() {
        if let Some((name, value)) = flag.split_once('=')
            && PATH_FLAGS.contains(&name)
        {
            out.push(format!("{name}={}", absolute(value, cwd)));
        } else if PATH_FLAGS.contains(&flag.as_str()) {
            out.push(flag.clone());
            if let Some(value) = iter.next() {
                out.push(absolute(value, cwd));
            }
        } else {
            out.push(flag.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn gateway_flags_pass_through() {
        let line = run_line(
            ServiceKind::Gateway,
            &words(&["--port", "19001", "--bind", "lan", "--tls"]),
            Path::new("/w"),
        )
        .unwrap();
        assert_eq!(
            line,
            words(&[
                "gateway", "run", "--port", "19001", "--bind", "lan", "--tls"
            ])
        );
    }

    #[test]
    fn secrets_are_refused_in_every_spelling() {
        for flags in [
            vec!["--token", "abc"],
            vec!["--token=-abc"],
            vec!["--password", "pw"],
        ] {
            let e = run_line(ServiceKind::Gateway, &words(&flags), Path::new("/")).unwrap_err();
            assert!(e.to_string().starts_with("refusing --"), "{e}");
            assert!(e.hint().is_some());
        }
        let e = run_line(
            ServiceKind::Node,
            &words(&["--setup-code", "x"]),
            Path::new("/"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("--setup-code"), "{e}");
    }

    #[test]
    fn unknown_flags_are_usage_errors() {
        let e = run_line(
            ServiceKind::Gateway,
            &words(&["--prot", "1"]),
            Path::new("/"),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--prot"), "{e}");
    }

    #[test]
    fn file_flags_become_absolute() {
        let line = run_line(
            ServiceKind::Node,
            &words(&["--token-file", "tok", "--password-file=/abs/pw"]),
            Path::new("/home/u"),
        )
        .unwrap();
        assert_eq!(
            line,
            words(&[
                "node",
                "run",
                "--token-file",
                "/home/u/tok",
                "--password-file=/abs/pw"
            ])
        );
        let line = run_line(
            ServiceKind::Node,
            &words(&["--token-file=t", "--ssh", "u@gw", "--ssh-identity", "k"]),
            Path::new("/w"),
        )
        .unwrap();
        assert_eq!(
            line,
            words(&[
                "node",
                "run",
                "--token-file=/w/t",
                "--ssh",
                "u@gw",
                "--ssh-identity",
                "/w/k"
            ])
        );
    }

    #[test]
    fn node_flags_and_display_names() {
        let line = run_line(
            ServiceKind::Node,
            &words(&[
                "--url",
                "ws://10.0.0.1:18789",
                "--display-name",
                "Living room",
            ]),
            Path::new("/w"),
        )
        .unwrap();
        assert_eq!(
            line,
            words(&[
                "node",
                "run",
                "--url",
                "ws://10.0.0.1:18789",
                "--display-name",
                "Living room"
            ])
        );
    }
}
