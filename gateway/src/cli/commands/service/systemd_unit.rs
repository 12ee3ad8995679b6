//! Rendering a systemd user unit for a [`ServiceSpec`], with systemd's quoting rules.

use super::spec::ServiceSpec;

/// The unit file text.
pub fn render_unit(spec: &ServiceSpec) -> String {
    let kind = spec.kind;
    let mut out = String::new();
    out.push_str(&format!(
        "# Written by `clawlet {0} install` (clawlet {1}). Remove with `clawlet {0} uninstall`.\n",
        kind.name(),
        crate::VERSION
    ));
    out.push_str("[Unit]\n");
    out.push_str(&format!("Description={}\n", kind.description()));
    out.push_str("StartLimitIntervalSec=300\nStartLimitBurst=10\n\n");
    out.push_str("[Service]\nType=simple\n");
    let exec: Vec<String> = spec.argv().iter().map(|a| quote_word(a)).collect();
    out.push_str(&format!("ExecStart={}\n", exec.join(" ")));
    out.push_str(&format!(
        "Restart=on-failure\nRestartSec={}\n",
        spec.restart_sec
    ));
    for (key, value) in &spec.env {
        out.push_str(&format!(
            "Environment={}\n",
            quote_assignment(&format!("{key}={value}"))
        ));
    }
    out.push_str(&format!(
        "# Secrets (OPENCLAW_GATEWAY_TOKEN=…) go in this file, mode 0600; it may be absent.\n\
         EnvironmentFile=-{}\n",
        escape_specifiers(&spec.env_file.display().to_string())
    ));
    out.push_str("KillSignal=SIGTERM\nTimeoutStopSec=15\n\n");
    out.push_str("[Install]\nWantedBy=default.target\n");
    out
}

/// One word of an `ExecStart=` command line, quoted for systemd when needed: `%` is doubled
/// (specifiers), `$` doubled (variable expansion), and anything outside a safe set is put in
/// double quotes with `\` and `"` escaped. `Environment=` values use [`quote_assignment`].
pub fn quote_word(word: &str) -> String {
    quote(word, true)
}

/// One `KEY=value` of an `Environment=` line. Unlike a command line, systemd does not expand
/// `$` there (it is taken literally), so only `%` (specifiers) is doubled and `\\` and `"`
/// escaped inside double quotes. The inverse is [`split_assignment`].
pub fn quote_assignment(assignment: &str) -> String {
    quote(assignment, false)
}

/// The quoting both [`quote_word`] and [`quote_assignment`] share; `$` is doubled only where
/// systemd would expand it (`double_dollar`).
fn quote(text: &str, double_dollar: bool) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._:@=+,-".contains(c));
    if safe {
        return text.to_string();
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '%' => out.push_str("%%"),
            '$' if double_dollar => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads an `Environment=` value back (the inverse of [`quote_assignment`]): one word, `%%`
/// is `%`, `$` is literal.
pub fn split_assignment(value: &str) -> Result<String, String> {
    let value = value.trim();
    let inner = match value.strip_prefix('"') {
        Some(rest) => rest
            .strip_suffix('"')
            .ok_or_else(|| "unterminated quote".to_string())?,
        None => value,
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(c) => out.push(c),
                None => return Err("dangling backslash".into()),
            },
            '%' => {
                if chars.next() != Some('%') {
                    return Err("a lone % (a specifier)".into());
                }
                out.push('%');
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn escape_specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

/// Splits an `ExecStart=` value back into words (the inverse of [`quote_word`]), for tests and
/// for showing what a unit runs.
pub fn split_exec(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        let mut word = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err("unterminated quote".into()),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('n') => word.push('\n'),
                        Some('t') => word.push('\t'),
                        Some(c) => word.push(c),
                        None => return Err("dangling backslash".into()),
                    },
                    Some(c) => push_unescaped(&mut word, c, &mut chars),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                push_unescaped(&mut word, c, &mut chars);
            }
        }
        words.push(word);
    }
}

fn push_unescaped(word: &mut String, c: char, chars: &mut std::iter::Peekable<std::str::Chars>) {
    if (c == '%' || c == '$') && chars.peek() == Some(&c) {
        chars.next();
    }
    word.push(c);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cli::commands::service::spec::ServiceKind;
    use std::path::PathBuf;

    fn spec() -> ServiceSpec {
        ServiceSpec {
            kind: ServiceKind::Gateway,
            program: PathBuf::from("/opt/claw let/clawlet"),
            args: vec![
                "gateway".into(),
                "run".into(),
                "--port".into(),
                "18789".into(),
            ],
            env: vec![("CLAWLET_CONFIG".into(), "/home/u/100%/c.json".into())],
            env_file: PathBuf::from("/home/u/.clawlet/service/clawlet-gateway.env"),
            restart_sec: 5,
            log_file: PathBuf::from("/unused"),
        }
    }

    #[test]
    fn renders_a_complete_unit() {
        let unit = render_unit(&spec());
        let expected = format!(
            "# Written by `clawlet gateway install` (clawlet {}). Remove with `clawlet gateway uninstall`.
[Unit]
Description=clawlet gateway (OpenClaw-compatible)
StartLimitIntervalSec=300
StartLimitBurst=10

[Service]
Type=simple
ExecStart=\"/opt/claw let/clawlet\" gateway run --port 18789
Restart=on-failure
RestartSec=5
Environment=\"CLAWLET_CONFIG=/home/u/100%%/c.json\"
# Secrets (OPENCLAW_GATEWAY_TOKEN=…) go in this file, mode 0600; it may be absent.
EnvironmentFile=-/home/u/.clawlet/service/clawlet-gateway.env
KillSignal=SIGTERM
TimeoutStopSec=15

[Install]
WantedBy=default.target
",
            crate::VERSION
        );
        assert_eq!(unit, expected);
    }

    #[test]
    fn quoting_round_trips() {
        for word in [
            "plain",
            "with space",
            "q\"uote",
            "back\\slash",
            "100%",
            "$HOME",
            "",
            "--name=Living room",
        ] {
            let quoted = quote_word(word);
            assert_eq!(
                split_exec(&quoted).unwrap(),
                vec![word.to_string()],
                "{quoted}"
            );
        }
        assert_eq!(
            split_exec("/bin/clawlet node run --display-name \"a b\"").unwrap(),
            vec!["/bin/clawlet", "node", "run", "--display-name", "a b"]
        );
        assert!(split_exec("\"open").is_err());
    }

    #[test]
    fn environment_values_keep_dollars_and_escape_percent() {
        // systemd does not expand `$` in Environment=: it must not be doubled there.
        let quoted = quote_assignment("RUST_LOG=a$HOME b%c\\d\"e");
        assert_eq!(quoted, "\"RUST_LOG=a$HOME b%%c\\\\d\\\"e\"");
        assert_eq!(
            split_assignment(&quoted).unwrap(),
            "RUST_LOG=a$HOME b%c\\d\"e"
        );
        assert_eq!(quote_assignment("K=plain"), "K=plain");
        assert_eq!(split_assignment("K=plain").unwrap(), "K=plain");
        let mut s = spec();
        s.env = vec![("RUST_LOG".into(), "x=$y%".into())];
        assert!(
            render_unit(&s).contains("\nEnvironment=\"RUST_LOG=x=$y%%\"\n"),
            "{}",
            render_unit(&s)
        );
    }
}
