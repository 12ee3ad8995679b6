//! `clawlet completions <shell>`: the shell completion script for this build's command line,
//! generated from the same clap definition the parser uses, so it never drifts from the flags.
//!
//! The Debian package and the release tarballs ship the bash, zsh and fish scripts this prints.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CliError};

/// The name the completion scripts complete (the installed binary's name).
pub const BIN_NAME: &str = "clawlet";

/// `clawlet completions`
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script for `shell` to `out`.
pub fn write_completions(shell: Shell, out: &mut dyn Write) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, BIN_NAME, out);
}

/// Prints the completion script on stdout.
pub fn run(args: &CompletionsArgs) -> Result<(), CliError> {
    print_script(args.shell, &mut std::io::stdout().lock())
}

/// Renders the script in memory, then writes it: clap_complete panics on a failed write, and
/// `clawlet completions bash | head` must end quietly, as SIGPIPE would end it.
fn print_script(shell: Shell, out: &mut dyn Write) -> Result<(), CliError> {
    let mut script = Vec::new();
    write_completions(shell, &mut script);
    match out.write_all(&script).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Other(anyhow::anyhow!(
            "writing the completion script: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn script(shell: Shell) -> String {
        let mut out = Vec::new();
        write_completions(shell, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bash_zsh_and_fish_complete_the_subcommands_and_their_flags() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let text = script(shell);
            for word in [
                "gateway",
                "node",
                "nodes",
                "devices",
                "completions",
                "invoke",
            ] {
                assert!(text.contains(word), "{shell}: no {word}");
            }
            assert!(
                text.contains("tls-fingerprint"),
                "{shell}: no nested subcommand"
            );
            assert!(text.contains("display-name"), "{shell}: no node run flag");
        }
    }

    #[test]
    fn each_script_is_for_its_shell() {
        assert!(script(Shell::Bash).contains("complete -F"));
        assert!(script(Shell::Zsh).starts_with("#compdef clawlet"));
        assert!(script(Shell::Fish).contains("complete -c clawlet"));
    }

    /// A reader that went away (`| head`) ends the command quietly; other write errors are
    /// errors.
    #[test]
    fn a_closed_pipe_is_not_an_error_but_a_full_disk_is() {
        struct Failing(std::io::ErrorKind);
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(self.0.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        assert!(print_script(Shell::Bash, &mut Failing(std::io::ErrorKind::BrokenPipe)).is_ok());
        assert!(print_script(Shell::Bash, &mut Failing(std::io::ErrorKind::StorageFull)).is_err());
    }
}
