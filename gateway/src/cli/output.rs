//! Printing: JSON for scripts, short aligned text for people, errors with a next step.

use serde_json::Value;

use super::context::CliError;

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot encode JSON output: {e}"),
    }
}

/// Prints an error and its hint on stderr.
pub fn print_error(error: &CliError) {
    eprintln!("error: {error}");
    if let Some(hint) = error.hint() {
        for line in hint.lines() {
            eprintln!("  {line}");
        }
    }
}

/// Prints rows as left-aligned columns with a header.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    print!("{}", table_text(header, rows));
}

/// Rows as left-aligned columns with a header, one line each (what [`print_table`] prints).
pub fn table_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.trim_end().to_string()
    };
    let mut text = line(header.iter().map(|h| (*h).to_string()).collect());
    text.push('\n');
    for row in rows {
        text.push_str(&line(row.clone()));
        text.push('\n');
    }
    text
}

/// A string field of a JSON object, or "".
pub fn str_field<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A list of strings joined with ", ".
pub fn str_list(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The first 12 characters of an id, enough to recognise it.
pub fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}

/// "3m ago"-style age of a millisecond timestamp.
pub fn age(ts_ms: Option<u64>, now_ms: u64) -> String {
    let Some(ts) = ts_ms else {
        return "-".into();
    };
    let secs = now_ms.saturating_sub(ts) / 1000;
    match secs {
        0..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(age(None, 10), "-");
        assert_eq!(age(Some(0), 5_000), "5s ago");
        assert_eq!(age(Some(0), 120_000), "2m ago");
        assert_eq!(age(Some(0), 7_200_000), "2h ago");
        assert_eq!(age(Some(10_000), 0), "0s ago");
    }
}
