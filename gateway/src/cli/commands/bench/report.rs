//! A scenario's result: rows for the human table and one JSON object (`--json`).

use serde_json::{Map, Value, json};

/// What a scenario measured.
#[derive(Debug, Default)]
pub struct Report {
    /// `handshake`, `idle`, ...
    pub scenario: &'static str,
    /// `(figure, value)` rows for the table.
    pub rows: Vec<(String, String)>,
    /// Machine-readable results.
    pub results: Map<String, Value>,
    /// Things that went wrong (drops, failed handshakes, failed invokes); 0 for a clean run.
    pub failures: u64,
    /// Remarks on how the figures were made.
    pub notes: Vec<String>,
    /// Where and how it ran (filled in by the runner).
    pub setup: Value,
}

impl Report {
    /// An empty report for `scenario`.
    pub fn new(scenario: &'static str) -> Self {
        Report {
            scenario,
            ..Report::default()
        }
    }

    /// Adds a table row.
    pub fn row(&mut self, figure: impl Into<String>, value: impl Into<String>) {
        self.rows.push((figure.into(), value.into()));
    }

    /// Adds a JSON result.
    pub fn set(&mut self, key: &str, value: Value) {
        self.results.insert(key.to_owned(), value);
    }

    /// Adds a note (shown under the table, in `notes` of the JSON).
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Whether anything failed.
    pub fn failed(&self) -> bool {
        self.failures > 0
    }

    /// The JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "setup": self.setup,
            "results": Value::Object(self.results.clone()),
            "failures": self.failures,
            "notes": self.notes,
        })
    }

    /// The table as text.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("clawlet bench {}\n", self.scenario));
        if let Value::Object(setup) = &self.setup {
            for (k, v) in setup {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.push_str(&format!("  {k}: {v}\n"));
            }
        }
        let width = self
            .rows
            .iter()
            .map(|(f, _)| f.chars().count())
            .max()
            .unwrap_or(6)
            .max(6);
        out.push('\n');
        out.push_str(&format!("  {:<width$}  value\n", "figure"));
        out.push_str(&format!("  {:-<width$}  {:-<5}\n", "", ""));
        for (figure, value) in &self.rows {
            out.push_str(&format!("  {figure:<width$}  {value}\n"));
        }
        out.push_str(&format!("\n  failures: {}\n", self.failures));
        for note in &self.notes {
            out.push_str(&format!("  note: {note}\n"));
        }
        out
    }

    /// Prints the table or the JSON on stdout.
    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.to_json());
        } else {
            print!("{}", self.to_table());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn json_and_table_carry_the_same_figures() {
        let mut r = Report::new("idle");
        r.row("held", "10");
        r.set("held", json!(10));
        r.note("n");
        r.setup = json!({"gateway": "clawlet"});
        let j = r.to_json();
        assert_eq!(j["scenario"], "idle");
        assert_eq!(j["results"]["held"], 10);
        assert_eq!(j["failures"], 0);
        let t = r.to_table();
        assert!(t.contains("held") && t.contains("gateway: clawlet") && t.contains("note: n"));
    }
}
