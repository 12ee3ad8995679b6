//! Column encodings: JSON lists and maps, booleans, and the set arithmetic on role/scope lists.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{StateError, StateResult};

/// Encodes a value for a `*_json` column.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StateResult<String> {
    serde_json::to_string(value).map_err(|e| StateError::Corrupt(format!("encoding JSON: {e}")))
}

/// Decodes a `*_json` column; bad JSON is reported as corruption with the column's name.
pub(crate) fn from_json<T: DeserializeOwned>(text: &str, column: &str) -> StateResult<T> {
    serde_json::from_str(text).map_err(|e| StateError::Corrupt(format!("{column}: {e}")))
}

/// Decodes a nullable `*_json` column.
pub(crate) fn from_json_opt<T: DeserializeOwned>(
    text: Option<&str>,
    column: &str,
) -> StateResult<Option<T>> {
    text.map(|t| from_json(t, column)).transpose()
}

/// SQLite has no boolean: 0/1 with a CHECK constraint.
pub(crate) fn bool_to_int(value: bool) -> i64 {
    i64::from(value)
}

/// Drops duplicates, keeping first-seen order (what the client sent is what operators see).
pub(crate) fn dedup(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

/// `base` followed by whatever `extra` adds: approvals only ever widen.
pub(crate) fn union(base: &[String], extra: &[String]) -> Vec<String> {
    let mut out = dedup(base);
    for item in extra {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

/// The items of `list` that `allowed` also has, in `list`'s order.
pub(crate) fn intersect(list: &[String], allowed: &[String]) -> Vec<String> {
    dedup(list)
        .into_iter()
        .filter(|item| allowed.contains(item))
        .collect()
}

/// Whether every item of `small` is in `big`.
pub(crate) fn is_subset(small: &[String], big: &[String]) -> bool {
    small.iter().all(|item| big.contains(item))
}

/// Set equality, ignoring order and duplicates.
pub(crate) fn same_set(a: &[String], b: &[String]) -> bool {
    is_subset(a, b) && is_subset(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn set_helpers() {
        assert_eq!(dedup(&v(&["a", "b", "a"])), v(&["a", "b"]));
        assert_eq!(union(&v(&["b", "a"]), &v(&["a", "c"])), v(&["b", "a", "c"]));
        assert_eq!(
            intersect(&v(&["c", "a", "x"]), &v(&["a", "c"])),
            v(&["c", "a"])
        );
        assert!(is_subset(&v(&[]), &v(&["a"])));
        assert!(!is_subset(&v(&["b"]), &v(&["a"])));
        assert!(same_set(&v(&["a", "b", "a"]), &v(&["b", "a"])));
    }

    #[test]
    fn bad_json_is_corrupt() {
        let r: StateResult<Vec<String>> = from_json("[1,", "scopes_json");
        assert!(matches!(r, Err(StateError::Corrupt(m)) if m.starts_with("scopes_json")));
    }
}
