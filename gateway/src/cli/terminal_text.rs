//! Client-supplied text made safe to print on an operator's terminal.
//!
//! A device chooses its own `displayName`, `platform`, `clientId`, … and `clawlet devices list`
//! / `clawlet nodes list` print them to the operator who decides whether to approve it. Escape
//! sequences there could clear the screen, recolour or rewrite earlier lines (hiding the real
//! request), set the window title, or — with bidi overrides — make `EVIL` read as something
//! else. Every such string goes through [`sanitize_for_terminal`] before it is printed.

/// `text` without terminal control: C0 controls (tab/newline/CR become a space), DEL, C1
/// controls, whole ANSI escape sequences (CSI `ESC [ … final`, OSC/DCS/APC/PM/SOS strings up to
/// BEL or `ESC \`, two-byte `ESC x`), and the bidi embedding/override/isolate/mark characters.
pub fn sanitize_for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // `ESC x`: the escape and its one following character go.
                Some(_) | None => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_terminal_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Every cell of a table through [`sanitize_for_terminal`].
pub fn sanitize_rows(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|row| row.iter().map(|cell| sanitize_for_terminal(cell)).collect())
        .collect()
}

/// C0, DEL, C1, and the Unicode bidi controls (LRM/RLM/ALM, LRE…RLO, LRI…PDI).
fn is_terminal_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Skips a CSI sequence's parameter and intermediate bytes and its final byte (0x40–0x7e).
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
        if !('\u{20}'..='\u{3f}').contains(&c) {
            // Not a well-formed CSI: stop here and drop the stray character with it.
            return;
        }
    }
}

/// Skips an OSC/DCS/… string up to its terminator (BEL, ST `ESC \`, or C1 ST).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_bidi_overrides_go() {
        assert_eq!(
            sanitize_for_terminal("\u{1b}[2J\u{1b}[31mEVIL\u{202e}"),
            "EVIL"
        );
        assert_eq!(
            sanitize_for_terminal("a\u{1b}]0;title\u{7}b\u{1b}]8;;http://x\u{1b}\\c"),
            "abc"
        );
        assert_eq!(sanitize_for_terminal("x\u{9b}1;2Hy\u{7f}z\u{85}"), "xyz");
        assert_eq!(sanitize_for_terminal("\u{1b}7saved\u{1b}8"), "saved");
        assert_eq!(
            sanitize_for_terminal("\u{2066}l\u{2069}\u{202a}m\u{202c}\u{200f}"),
            "lm"
        );
        assert_eq!(
            sanitize_for_terminal("two\nlines\there\u{0}"),
            "two lines here"
        );
        assert_eq!(sanitize_for_terminal("trailing\u{1b}"), "trailing");
    }

    #[test]
    fn ordinary_text_is_kept() {
        for text in [
            "Pixel 8",
            "Jörg's iPhone",
            "東京のMac",
            "linux x86_64",
            "🦀",
            "",
        ] {
            assert_eq!(sanitize_for_terminal(text), text);
        }
        assert_eq!(
            sanitize_rows(vec![vec!["a\u{1b}[1mb".into(), "c".into()]]),
            vec![vec!["ab".to_owned(), "c".to_owned()]]
        );
    }
}
