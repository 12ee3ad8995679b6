//! `clawlet man <dir>`: writes the man pages (`clawlet.1`, `clawlet-gateway.1`,
//! `clawlet-gateway-run.1`, … one per command) from the clap definition the parser uses.
//!
//! Hidden from `--help`: packagers run it (`scripts/build-deb.sh`, `scripts/release.sh`); users
//! read the pages it wrote with `man clawlet`.

use std::path::PathBuf;

use clap::CommandFactory;

use crate::cli::{Cli, CliError};

/// `clawlet man`
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The directory to write the pages into (created if missing; existing pages replaced).
    pub out_dir: PathBuf,
}

/// Writes every page into `args.out_dir` and lists them on stdout.
pub fn run(args: &ManArgs) -> Result<(), CliError> {
    let written = write_man_pages(&args.out_dir)?;
    for page in written {
        println!("{}", page.display());
    }
    Ok(())
}

/// Writes the man pages into `out_dir`; returns their paths, sorted.
pub fn write_man_pages(out_dir: &std::path::Path) -> Result<Vec<PathBuf>, CliError> {
    let failed = |e: std::io::Error| {
        CliError::Other(anyhow::anyhow!(
            "writing man pages into {}: {e}",
            out_dir.display()
        ))
    };
    std::fs::create_dir_all(out_dir).map_err(failed)?;
    clap_mangen::generate_to(Cli::command(), out_dir).map_err(failed)?;
    let mut pages = std::fs::read_dir(out_dir)
        .map_err(failed)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "1"))
        .collect::<Vec<_>>();
    pages.sort();
    Ok(pages)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn one_page_per_command_with_its_flags_and_no_page_for_hidden_commands() {
        let dir = tempfile::tempdir().unwrap();
        let pages = write_man_pages(dir.path()).unwrap();
        let names: Vec<String> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for expected in [
            "clawlet.1",
            "clawlet-gateway.1",
            "clawlet-gateway-run.1",
            "clawlet-node-run.1",
            "clawlet-nodes-invoke.1",
            "clawlet-completions.1",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        assert!(!names.iter().any(|n| n == "clawlet-man.1"), "{names:?}");
        let top = std::fs::read_to_string(dir.path().join("clawlet.1")).unwrap();
        assert!(top.starts_with(".ie"), "roff: {}", &top[..40]);
        assert!(top.contains(".TH clawlet 1"), "{top}");
        let node_run = std::fs::read_to_string(dir.path().join("clawlet-node-run.1")).unwrap();
        assert!(node_run.contains("display\\-name"), "{node_run}");
    }
}
