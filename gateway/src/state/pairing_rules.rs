//! The decisions of device pairing as pure functions over records (SPEC §5.1–§5.3, §5.6).
//!
//! [`super::devices`] loads rows, asks these functions, and writes what they return; nothing
//! here touches SQLite, a clock or the RNG, so every rule is testable (and fuzzable) on its own:
//!
//! - [`upgrade_reason`]: does the paired record cover a connect, and if not, why not;
//! - [`plan_pending`]: does a retry keep its pending request or supersede it;
//! - [`pending_expiry_cutoff`]: the 5-minute TTL, counted from the device's last retry;
//! - [`admit_new_pending`]: the caps on how many requests may wait (total and per address);
//! - [`widen_or_replace`]: what an approval makes of the paired record;
//! - [`clamp_client_strings`]: the longest client-supplied label the store keeps.

use clawlet_node_core::wire::pairing::{DevicePairRequest, PairedDevice};

use super::codec::{dedup, is_subset, same_set, union};
use super::devices::{DEVICE_PAIRING_PENDING_TTL_MS, NewDeviceRequest, PairingReason};
use super::pinning::{device_family_matches, platform_matches};

/// Most device pairing requests that may wait at once from remote addresses. A flood of
/// throw-away device keys (each a valid, self-signed identity) would otherwise grow the table
/// and the operator's `devices list` without bound. Local requests are not counted against it,
/// so a remote flood cannot keep the owner's own machine from pairing.
pub const MAX_PENDING_DEVICE_REQUESTS: usize = 256;

/// Most device pairing requests that may wait at once from one remote address (local requests
/// share one bucket of this size). Well above any honest household; far below the total, so one
/// address cannot fill the table by itself. An IPv6 address counts with its whole `/64`, which
/// one host usually owns entirely.
pub const MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS: usize = 16;

/// Longest client-supplied label (`displayName`, `platform`, `clientId`, …) the store keeps, in
/// bytes; longer ones are cut at a character boundary. Admission refuses oversize strings
/// earlier; this is the store's own backstop, generous so that it never cuts what admission
/// lets through.
pub const MAX_STORED_CLIENT_STRING_BYTES: usize = 1024;

/// What a retry does with the device's existing pending request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PendingPlan {
    /// Same key, role and scopes: keep the `requestId` (and its creation time), refresh the rest.
    Refresh {
        /// The kept id.
        request_id: String,
        /// When the kept request was first made.
        created_at_ms: u64,
    },
    /// Something that decides the approval changed: the old request goes, a new one replaces it.
    Supersede(Box<DevicePairRequest>),
    /// No request was waiting.
    New,
}

/// How many requests already wait, not counting the connecting device's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PendingCounts {
    /// Every waiting request from a remote address.
    pub(crate) remote_total: usize,
    /// The waiting requests from the connecting device's address (or all local ones).
    pub(crate) same_address: usize,
}

/// A new pending request would exceed a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingCapExceeded {
    /// [`MAX_PENDING_DEVICE_REQUESTS`].
    Total,
    /// [`MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS`].
    PerAddress,
}

/// Everything an approval grants, whichever way it came (owner, silent, setup code).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grant<'a> {
    /// The request's device (role, key and client labels).
    pub(crate) request: &'a DevicePairRequest,
    /// Roles granted.
    pub(crate) roles: &'a [String],
    /// Scopes granted.
    pub(crate) scopes: &'a [String],
    /// `approvedVia`: `owner`, `silent`, `bootstrap`, …
    pub(crate) approved_via: &'a str,
    /// When.
    pub(crate) now_ms: u64,
}

/// What an approval makes of the paired record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Approval {
    /// The record to write.
    pub(crate) device: PairedDevice,
    /// A different key was paired before: that identity (its tokens, node surfaces) goes.
    pub(crate) replaces_identity: bool,
}

/// `None` when the paired record covers the connect; otherwise the first reason that applies.
/// `public_key` and `scopes` are the connect's, already canonical and deduplicated.
pub(crate) fn upgrade_reason(
    paired: &PairedDevice,
    req: &NewDeviceRequest,
    public_key: &str,
    scopes: &[String],
) -> Option<PairingReason> {
    if paired.public_key != public_key {
        Some(PairingReason::MetadataUpgrade)
    } else if !paired.roles.contains(&req.role) {
        Some(PairingReason::RoleUpgrade)
    } else if !is_subset(scopes, &paired.scopes) {
        Some(PairingReason::ScopeUpgrade)
    } else if !platform_matches(paired.platform.as_deref(), req.platform.as_deref())
        || !device_family_matches(
            paired.device_family.as_deref(),
            req.device_family.as_deref(),
        )
    {
        Some(PairingReason::MetadataUpgrade)
    } else {
        None
    }
}

/// The roles a pending request lists: what the same key already holds plus the asked-for role;
/// a new key starts over with just that role.
pub(crate) fn requested_roles(
    paired: Option<&PairedDevice>,
    public_key: &str,
    role: &str,
) -> Vec<String> {
    match paired.filter(|p| p.public_key == public_key) {
        Some(p) => union(&p.roles, &[role.to_owned()]),
        None => vec![role.to_owned()],
    }
}

/// A retry with the same key, role and scope set keeps its request (and `requestId`); anything
/// else supersedes it, so an operator never approves something other than what is asked now.
pub(crate) fn plan_pending(
    existing: Option<(DevicePairRequest, u64)>,
    public_key: &str,
    role: &str,
    scopes: &[String],
) -> PendingPlan {
    match existing {
        Some((old, created_at_ms))
            if old.public_key == public_key
                && old.role == role
                && same_set(&old.scopes, scopes) =>
        {
            PendingPlan::Refresh {
                request_id: old.request_id,
                created_at_ms,
            }
        }
        Some((old, _)) => PendingPlan::Supersede(Box::new(old)),
        None => PendingPlan::New,
    }
}

/// The newest `refreshed_at_ms` that has expired at `now_ms`: a request lives a full TTL after
/// the device's last retry. `None` while nothing can have expired yet (the clock is early).
pub(crate) fn pending_expiry_cutoff(now_ms: u64) -> Option<u64> {
    now_ms.checked_sub(DEVICE_PAIRING_PENDING_TTL_MS)
}

/// The bucket an address is counted in for [`MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS`]: an
/// IPv4 address itself, an IPv6 address's `/64` (an IPv4-mapped one as IPv4), anything that does
/// not parse as itself; `None` (local) is its own bucket.
pub(crate) fn address_bucket(remote_ip: Option<&str>) -> Option<String> {
    use std::net::IpAddr;
    let ip = remote_ip?;
    Some(match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    })
}

/// Counts the other waiting requests (their remote addresses) the way the caps see them.
pub(crate) fn count_pending(others: &[Option<String>], remote_ip: Option<&str>) -> PendingCounts {
    let mine = address_bucket(remote_ip);
    PendingCounts {
        remote_total: others.iter().filter(|ip| ip.is_some()).count(),
        same_address: others
            .iter()
            .filter(|ip| address_bucket(ip.as_deref()) == mine)
            .count(),
    }
}

/// Whether one more request may wait, given the (unexpired) ones that already do. A refresh
/// never grows the table and is not asked about; a supersede is counted as new because its
/// address may differ from the old one's.
pub(crate) fn admit_new_pending(
    counts: PendingCounts,
    remote: bool,
) -> Result<(), PendingCapExceeded> {
    if counts.same_address >= MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS {
        Err(PendingCapExceeded::PerAddress)
    } else if remote && counts.remote_total >= MAX_PENDING_DEVICE_REQUESTS {
        Err(PendingCapExceeded::Total)
    } else {
        Ok(())
    }
}

/// Approval widens the record of the same key (roles and scopes only grow; labels the client
/// left out keep their old values) and replaces the record of a different key (a new key is a
/// new identity). Either way platform/deviceFamily are pinned to exactly what was approved, or
/// a device that dropped a field would ask for a metadata upgrade forever.
pub(crate) fn widen_or_replace(old: Option<PairedDevice>, grant: Grant<'_>) -> Approval {
    let req = grant.request;
    match old {
        Some(old) if old.public_key == req.public_key => Approval {
            device: PairedDevice {
                display_name: req.display_name.clone().or(old.display_name),
                client_id: req.client_id.clone().or(old.client_id),
                client_mode: req.client_mode.clone().or(old.client_mode),
                roles: union(&old.roles, grant.roles),
                scopes: union(&old.scopes, grant.scopes),
                approved_via: Some(grant.approved_via.to_owned()),
                approved_at_ms: grant.now_ms,
                platform: req.platform.clone(),
                device_family: req.device_family.clone(),
                ..old
            },
            replaces_identity: false,
        },
        old => Approval {
            device: PairedDevice {
                device_id: req.device_id.clone(),
                public_key: req.public_key.clone(),
                display_name: req.display_name.clone(),
                platform: req.platform.clone(),
                device_family: req.device_family.clone(),
                client_id: req.client_id.clone(),
                client_mode: req.client_mode.clone(),
                role: req.role.clone(),
                roles: dedup(grant.roles),
                scopes: dedup(grant.scopes),
                approved_via: Some(grant.approved_via.to_owned()),
                created_at_ms: grant.now_ms,
                approved_at_ms: grant.now_ms,
                last_seen_at_ms: None,
                last_seen_reason: None,
                connected: None,
                tokens: Vec::new(),
            },
            replaces_identity: old.is_some(),
        },
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
pub(crate) fn clamp_str(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An optional label cut to [`MAX_STORED_CLIENT_STRING_BYTES`].
pub(crate) fn clamp_label(label: Option<&String>) -> Option<String> {
    label.map(|l| clamp_str(l, MAX_STORED_CLIENT_STRING_BYTES).to_owned())
}

/// The request with every client-supplied label cut to what the store keeps. Applied before any
/// comparison too, so a stored (cut) pin compares equal to the same oversize claim next time.
pub(crate) fn clamp_client_strings(req: &NewDeviceRequest) -> NewDeviceRequest {
    NewDeviceRequest {
        display_name: clamp_label(req.display_name.as_ref()),
        platform: clamp_label(req.platform.as_ref()),
        device_family: clamp_label(req.device_family.as_ref()),
        client_id: clamp_label(req.client_id.as_ref()),
        client_mode: clamp_label(req.client_mode.as_ref()),
        remote_ip: clamp_label(req.remote_ip.as_ref()),
        browser_origin: clamp_label(req.browser_origin.as_ref()),
        ..req.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn paired(key: &str, roles: &[&str], scopes: &[&str]) -> PairedDevice {
        PairedDevice {
            device_id: "dev".into(),
            public_key: key.into(),
            display_name: Some("old name".into()),
            platform: Some("linux".into()),
            device_family: None,
            client_id: Some("cli".into()),
            client_mode: Some("cli".into()),
            role: roles.first().map(|r| (*r).to_owned()).unwrap_or_default(),
            roles: v(roles),
            scopes: v(scopes),
            approved_via: Some("owner".into()),
            created_at_ms: 1,
            approved_at_ms: 1,
            last_seen_at_ms: Some(5),
            last_seen_reason: Some("connect".into()),
            connected: None,
            tokens: Vec::new(),
        }
    }

    fn connect(role: &str, platform: &str) -> NewDeviceRequest {
        NewDeviceRequest {
            device_id: "dev".into(),
            public_key: "k1".into(),
            platform: Some(platform.into()),
            role: role.into(),
            ..NewDeviceRequest::default()
        }
    }

    fn pending(id: &str, key: &str, role: &str, scopes: &[&str]) -> DevicePairRequest {
        DevicePairRequest {
            request_id: id.into(),
            device_id: "dev".into(),
            public_key: key.into(),
            role: role.into(),
            roles: vec![role.into()],
            scopes: v(scopes),
            ts: 10,
            ..DevicePairRequest::default()
        }
    }

    #[test]
    fn upgrade_reasons_in_order() {
        let p = paired("k1", &["operator"], &["operator.read"]);
        let read = v(&["operator.read"]);
        assert_eq!(
            upgrade_reason(&p, &connect("operator", "linux"), "k1", &read),
            None
        );
        assert_eq!(
            upgrade_reason(&p, &connect("operator", "linux"), "k2", &read),
            Some(PairingReason::MetadataUpgrade)
        );
        assert_eq!(
            upgrade_reason(&p, &connect("node", "linux"), "k1", &[]),
            Some(PairingReason::RoleUpgrade)
        );
        assert_eq!(
            upgrade_reason(
                &p,
                &connect("operator", "linux"),
                "k1",
                &v(&["operator.admin"])
            ),
            Some(PairingReason::ScopeUpgrade)
        );
        assert_eq!(
            upgrade_reason(&p, &connect("operator", "macos"), "k1", &read),
            Some(PairingReason::MetadataUpgrade)
        );
    }

    #[test]
    fn requested_roles_widen_only_for_the_same_key() {
        let p = paired("k1", &["operator"], &[]);
        assert_eq!(
            requested_roles(Some(&p), "k1", "node"),
            v(&["operator", "node"])
        );
        assert_eq!(requested_roles(Some(&p), "k2", "node"), v(&["node"]));
        assert_eq!(requested_roles(None, "k1", "node"), v(&["node"]));
    }

    #[test]
    fn same_ask_refreshes_a_changed_one_supersedes() {
        let old = pending("r1", "k1", "operator", &["a", "b"]);
        assert_eq!(
            plan_pending(Some((old.clone(), 7)), "k1", "operator", &v(&["b", "a"])),
            PendingPlan::Refresh {
                request_id: "r1".into(),
                created_at_ms: 7
            }
        );
        for (key, role, scopes) in [
            ("k2", "operator", v(&["a", "b"])),
            ("k1", "node", v(&["a", "b"])),
            ("k1", "operator", v(&["a"])),
        ] {
            assert_eq!(
                plan_pending(Some((old.clone(), 7)), key, role, &scopes),
                PendingPlan::Supersede(Box::new(old.clone())),
                "{key} {role} {scopes:?}"
            );
        }
        assert_eq!(plan_pending(None, "k1", "operator", &[]), PendingPlan::New);
    }

    #[test]
    fn ttl_counts_from_the_last_retry() {
        let ttl = DEVICE_PAIRING_PENDING_TTL_MS;
        let expired =
            |refreshed: u64, now| pending_expiry_cutoff(now).is_some_and(|c| refreshed <= c);
        assert!(!expired(1_000, 1_000 + ttl - 1));
        assert!(expired(1_000, 1_000 + ttl));
        assert!(!expired(0, 10), "an early clock expires nothing");
        assert_eq!(pending_expiry_cutoff(ttl - 1), None);
    }

    #[test]
    fn caps_on_waiting_requests() {
        let at = |remote_total, same_address| PendingCounts {
            remote_total,
            same_address,
        };
        assert_eq!(admit_new_pending(at(0, 0), true), Ok(()));
        assert_eq!(
            admit_new_pending(at(20, MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS), true),
            Err(PendingCapExceeded::PerAddress)
        );
        assert_eq!(
            admit_new_pending(at(MAX_PENDING_DEVICE_REQUESTS, 0), true),
            Err(PendingCapExceeded::Total)
        );
        // A remote flood does not lock out a local request; the local bucket still has a cap.
        assert_eq!(
            admit_new_pending(at(MAX_PENDING_DEVICE_REQUESTS, 0), false),
            Ok(())
        );
        assert_eq!(
            admit_new_pending(at(0, MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS), false),
            Err(PendingCapExceeded::PerAddress)
        );
    }

    #[test]
    fn addresses_are_counted_per_ipv4_address_and_per_ipv6_64() {
        let ips = |items: &[Option<&str>]| {
            items
                .iter()
                .map(|i| i.map(str::to_owned))
                .collect::<Vec<_>>()
        };
        let others = ips(&[
            Some("203.0.113.7"),
            Some("203.0.113.8"),
            Some("2001:db8:1:2::1"),
            Some("2001:db8:1:2:ffff::9"),
            Some("2001:db8:1:3::1"),
            Some("::ffff:203.0.113.7"),
            None,
            None,
        ]);
        let at = |ip| count_pending(&others, ip);
        assert_eq!(at(Some("203.0.113.7")).same_address, 2, "v4 and v4-mapped");
        assert_eq!(at(Some("2001:db8:1:2::abcd")).same_address, 2, "same /64");
        assert_eq!(at(Some("2001:db8:1:3::2")).same_address, 1);
        assert_eq!(at(None).same_address, 2, "the local bucket");
        assert_eq!(at(None).remote_total, 6);
        assert_eq!(
            address_bucket(Some("2001:DB8:1:2:3:4:5:6")).as_deref(),
            Some("2001:db8:1:2::/64")
        );
        assert_eq!(
            address_bucket(Some("not an ip")).as_deref(),
            Some("not an ip")
        );
    }

    #[test]
    fn approval_widens_the_same_key_and_replaces_a_new_one() {
        let mut req = pending("r1", "k1", "node", &["operator.write"]);
        req.platform = Some("macos".into());
        req.display_name = None;
        let roles = v(&["node"]);
        let scopes = v(&["operator.write"]);
        let grant = |req| Grant {
            request: req,
            roles: &roles,
            scopes: &scopes,
            approved_via: "owner",
            now_ms: 99,
        };
        let old = paired("k1", &["operator"], &["operator.read"]);
        let widened = widen_or_replace(Some(old.clone()), grant(&req));
        assert!(!widened.replaces_identity);
        let d = widened.device;
        assert_eq!(d.roles, v(&["operator", "node"]));
        assert_eq!(d.scopes, v(&["operator.read", "operator.write"]));
        assert_eq!(d.display_name.as_deref(), Some("old name"), "kept");
        assert_eq!(d.platform.as_deref(), Some("macos"), "re-pinned");
        assert_eq!(d.role, "operator", "primary role kept");
        assert_eq!((d.created_at_ms, d.approved_at_ms), (1, 99));
        assert_eq!(d.last_seen_at_ms, Some(5));

        let mut req = req.clone();
        req.public_key = "k2".into();
        let replaced = widen_or_replace(Some(old), grant(&req));
        assert!(replaced.replaces_identity);
        let d = replaced.device;
        assert_eq!(d.roles, v(&["node"]));
        assert_eq!(d.scopes, v(&["operator.write"]));
        assert_eq!(d.display_name, None);
        assert_eq!((d.created_at_ms, d.last_seen_at_ms), (99, None));

        let fresh = widen_or_replace(None, grant(&req));
        assert!(!fresh.replaces_identity);
        assert_eq!(fresh.device.public_key, "k2");
    }

    #[test]
    fn labels_are_cut_at_a_character_boundary() {
        assert_eq!(clamp_str("abc", 5), "abc");
        assert_eq!(clamp_str("héllo", 2), "h");
        assert_eq!(clamp_str("héllo", 3), "hé");
        let long = "é".repeat(MAX_STORED_CLIENT_STRING_BYTES);
        let req = NewDeviceRequest {
            display_name: Some(long.clone()),
            platform: Some(long),
            client_id: Some("ok".into()),
            ..NewDeviceRequest::default()
        };
        let cut = clamp_client_strings(&req);
        let name = cut.display_name.unwrap_or_default();
        assert_eq!(name.len(), MAX_STORED_CLIENT_STRING_BYTES);
        assert!(name.chars().all(|c| c == 'é'));
        assert_eq!(cut.client_id.as_deref(), Some("ok"));
        assert_eq!(
            cut.platform.map(|p| p.len()),
            Some(MAX_STORED_CLIENT_STRING_BYTES)
        );
    }
}
