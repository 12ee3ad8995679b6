//! Operator scope implications (SPEC §12): admin covers everything, write covers read.

/// Reads gateway state.
pub(crate) const READ: &str = "operator.read";
/// Changes state and invokes nodes.
pub(crate) const WRITE: &str = "operator.write";
/// Everything.
pub(crate) const ADMIN: &str = "operator.admin";
/// Device and node pairing.
pub(crate) const PAIRING: &str = "operator.pairing";

/// Whether `granted` satisfies `required`.
pub(crate) fn has_scope(granted: &[String], required: &str) -> bool {
    granted.iter().any(|g| {
        g == required
            || g == ADMIN
            || (g == WRITE
                && matches!(
                    required,
                    READ | "operator.talk" | "operator.sessions.read" | "operator.sessions.write"
                ))
            || (g == "operator.sessions.write" && required == "operator.sessions.read")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implications() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(has_scope(&s(&[ADMIN]), PAIRING));
        assert!(has_scope(&s(&[WRITE]), READ));
        assert!(!has_scope(&s(&[READ]), WRITE));
        assert!(!has_scope(&s(&[PAIRING]), READ));
        assert!(!has_scope(&[], READ));
    }
}
