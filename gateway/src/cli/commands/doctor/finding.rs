//! One doctor finding (level, check, what was found, what to do) and the report's two forms.

use serde_json::{Value, json};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Fine (or not applicable, said so).
    Ok,
    /// Works now but likely to bite.
    Warn,
    /// Broken: the doctor exits non-zero.
    Error,
}

impl Level {
    /// `ok` / `warn` / `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// One thing the doctor looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Severity.
    pub level: Level,
    /// The check's short name, e.g. `config`, `port`, `tls`.
    pub check: &'static str,
    /// What was found.
    pub message: String,
    /// What to do about it (none for `ok`).
    pub fix: Option<String>,
}

impl Finding {
    /// A passing finding.
    pub fn ok(check: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            level: Level::Ok,
            check,
            message: message.into(),
            fix: None,
        }
    }

    /// A warning with its fix.
    pub fn warn(
        check: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            level: Level::Warn,
            check,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    /// An error with its fix.
    pub fn error(
        check: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            level: Level::Error,
            check,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        json!({
            "level": self.level.as_str(),
            "check": self.check,
            "message": self.message,
            "fix": self.fix,
        })
    }
}

/// The whole report as JSON: `{ok, errors, warnings, findings:[…]}`.
pub fn report_json(findings: &[Finding]) -> Value {
    let count = |l: Level| findings.iter().filter(|f| f.level == l).count();
    json!({
        "ok": count(Level::Error) == 0,
        "errors": count(Level::Error),
        "warnings": count(Level::Warn),
        "findings": findings.iter().map(Finding::to_json).collect::<Vec<_>>(),
    })
}

/// The report as a table for people: level, check, finding, then the fix under it.
pub fn report_text(findings: &[Finding]) -> String {
    let check_width = findings
        .iter()
        .map(|f| f.check.len())
        .max()
        .unwrap_or(0)
        .max("CHECK".len());
    let mut out = format!("{:<5}  {:<check_width$}  FINDING\n", "LEVEL", "CHECK");
    for f in findings {
        out.push_str(&format!(
            "{:<5}  {:<check_width$}  {}\n",
            f.level.as_str(),
            f.check,
            f.message
        ));
        if let Some(fix) = &f.fix {
            for (i, line) in fix.lines().enumerate() {
                let lead = if i == 0 { "fix: " } else { "     " };
                out.push_str(&format!("{:<5}  {:<check_width$}  {lead}{line}\n", "", ""));
            }
        }
    }
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    let warnings = findings.iter().filter(|f| f.level == Level::Warn).count();
    out.push_str(&format!("\n{errors} error(s), {warnings} warning(s)\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_json() {
        let findings = vec![
            Finding::ok("config", "parses"),
            Finding::error("port", "in use", "stop it"),
        ];
        let text = report_text(&findings);
        assert_eq!(
            text,
            "LEVEL  CHECK   FINDING\nok     config  parses\nerror  port    in use\n               fix: stop it\n\n1 error(s), 0 warning(s)\n"
        );
        let json = report_json(&findings);
        assert_eq!(json["ok"], false);
        assert_eq!(json["findings"][1]["fix"], "stop it");
    }
}
