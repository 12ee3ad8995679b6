//! Caps on the client strings and lists of `connect` (issue 12, "pending pairing growth"): they
//! end up in pending pairing requests and on every operator's screen, so a hostile client must
//! not be able to make them large. All caps live here; lengths count Unicode scalar values,
//! like the JSON-schema `maxLength` whose message style the errors follow.

use clawlet_node_core::wire::connect::ConnectParams;

/// `client.displayName`, `platform`, `deviceFamily`, `modelIdentifier`, `version`,
/// `instanceId`: at most this many characters.
pub const MAX_CLIENT_STRING_CHARS: usize = 128;
/// `caps`, `commands`, `scopes` and `permissions`: at most this many entries.
pub const MAX_LIST_ENTRIES: usize = 256;
/// Each entry of those lists (and each `permissions` key): at most this many characters.
pub const MAX_ENTRY_CHARS: usize = 128;

fn too_long(value: &str, max: usize) -> bool {
    // `len()` bounds the character count from above, so short strings skip the count.
    value.len() > max && value.chars().count() > max
}

fn string_problem(path: &str, value: Option<&str>) -> Option<String> {
    value
        .filter(|v| too_long(v, MAX_CLIENT_STRING_CHARS))
        .map(|_| format!("at {path}: must NOT have more than {MAX_CLIENT_STRING_CHARS} characters"))
}

fn list_problem<'a>(path: &str, list: impl ExactSizeIterator<Item = &'a String>) -> Option<String> {
    if list.len() > MAX_LIST_ENTRIES {
        return Some(format!(
            "at {path}: must NOT have more than {MAX_LIST_ENTRIES} items"
        ));
    }
    list.enumerate()
        .find(|(_, entry)| too_long(entry, MAX_ENTRY_CHARS))
        .map(|(i, _)| {
            format!("at {path}/{i}: must NOT have more than {MAX_ENTRY_CHARS} characters")
        })
}

/// The first cap `params` exceeds, as the `invalid connect params: …` problem text.
pub(crate) fn client_limits_problem(params: &ConnectParams) -> Option<String> {
    let c = &params.client;
    let strings = [
        ("/client/displayName", c.display_name.as_deref()),
        ("/client/version", Some(c.version.as_str())),
        ("/client/platform", Some(c.platform.as_str())),
        ("/client/deviceFamily", c.device_family.as_deref()),
        ("/client/modelIdentifier", c.model_identifier.as_deref()),
        ("/client/instanceId", c.instance_id.as_deref()),
    ];
    if let Some(problem) = strings
        .into_iter()
        .find_map(|(path, value)| string_problem(path, value))
    {
        return Some(problem);
    }
    let lists = [
        ("/scopes", params.scopes.as_ref()),
        ("/caps", params.caps.as_ref()),
        ("/commands", params.commands.as_ref()),
    ];
    if let Some(problem) = lists
        .into_iter()
        .find_map(|(path, list)| list.and_then(|l| list_problem(path, l.iter())))
    {
        return Some(problem);
    }
    params
        .permissions
        .as_ref()
        .and_then(|p| list_problem("/permissions", p.keys()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ConnectParams {
        serde_json::from_value(serde_json::json!({
            "minProtocol": 4, "maxProtocol": 4,
            "client": {"id": "cli", "version": "1.0", "platform": "linux", "mode": "cli"},
        }))
        .unwrap()
    }

    #[test]
    fn within_the_caps_is_fine_and_each_cap_names_its_field() {
        let mut p = params();
        p.client.display_name = Some("é".repeat(MAX_CLIENT_STRING_CHARS));
        p.caps = Some(vec!["x".repeat(MAX_ENTRY_CHARS); MAX_LIST_ENTRIES]);
        assert_eq!(client_limits_problem(&p), None);

        p.client.display_name = Some("x".repeat(MAX_CLIENT_STRING_CHARS + 1));
        assert_eq!(
            client_limits_problem(&p).unwrap(),
            "at /client/displayName: must NOT have more than 128 characters"
        );
        let mut p = params();
        p.client.platform = "p".repeat(129);
        assert!(
            client_limits_problem(&p)
                .unwrap()
                .starts_with("at /client/platform:")
        );
        let mut p = params();
        p.commands = Some(vec!["c".into(); MAX_LIST_ENTRIES + 1]);
        assert_eq!(
            client_limits_problem(&p).unwrap(),
            "at /commands: must NOT have more than 256 items"
        );
        let mut p = params();
        p.scopes = Some(vec!["operator.read".into(), "s".repeat(129)]);
        assert_eq!(
            client_limits_problem(&p).unwrap(),
            "at /scopes/1: must NOT have more than 128 characters"
        );
        let mut p = params();
        p.permissions = Some([("k".repeat(200), true)].into_iter().collect());
        assert!(
            client_limits_problem(&p)
                .unwrap()
                .starts_with("at /permissions/0:")
        );
    }
}
