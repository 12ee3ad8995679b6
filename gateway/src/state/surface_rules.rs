//! The decisions of node command-surface approval as pure functions over records (SPEC §5.2):
//! how a declared surface reconciles with the approved and the pending one.
//!
//! [`super::nodes`] loads the rows, asks these functions, and writes what they return.

use clawlet_node_core::wire::pairing::NodePairRequest;

use super::codec::{intersect, is_subset, same_set};
use super::nodes::EffectiveSurface;

/// Most node surface requests that may wait at once. Only paired devices can declare a surface,
/// so this is reached only by an owner's own fleet; it bounds the table all the same.
pub const MAX_PENDING_NODE_SURFACES: usize = 256;

/// A declaration (caps and commands, deduplicated) against the approved surface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reconciled {
    /// Everything declared is approved: the node may use all of it.
    Covered(EffectiveSurface),
    /// Something is new or wider: approval is needed; meanwhile the approved part is usable.
    NeedsApproval(EffectiveSurface),
}

/// What a reconnect does with the node's pending surface request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SurfacePlan {
    /// Same caps and commands: keep the request, its id and its `ts`.
    Keep {
        /// The kept id.
        request_id: String,
        /// When it was first asked.
        ts: u64,
    },
    /// The surface changed: the old request is resolved as rejected, a new one asked.
    Supersede(Box<NodePairRequest>),
    /// Nothing was waiting.
    New,
}

/// Declared vs approved: covered when both caps and commands are subsets of the approved ones;
/// otherwise the usable part is declared ∩ approved (nothing before a first approval).
pub(crate) fn reconcile(
    caps: &[String],
    commands: &[String],
    approved: Option<(&[String], &[String])>,
) -> Reconciled {
    match approved {
        Some((approved_caps, approved_commands))
            if is_subset(commands, approved_commands) && is_subset(caps, approved_caps) =>
        {
            Reconciled::Covered(EffectiveSurface {
                caps: caps.to_vec(),
                commands: commands.to_vec(),
            })
        }
        Some((approved_caps, approved_commands)) => Reconciled::NeedsApproval(EffectiveSurface {
            caps: intersect(caps, approved_caps),
            commands: intersect(commands, approved_commands),
        }),
        None => Reconciled::NeedsApproval(EffectiveSurface::default()),
    }
}

/// Declared vs pending: an unchanged surface keeps its request (so retries stay silent); a
/// changed one supersedes it. Node requests do not expire.
pub(crate) fn plan_pending_surface(
    existing: Option<NodePairRequest>,
    caps: &[String],
    commands: &[String],
) -> SurfacePlan {
    match existing {
        Some(old) if same_set(&old.caps, caps) && same_set(&old.commands, commands) => {
            SurfacePlan::Keep {
                request_id: old.request_id,
                ts: old.ts,
            }
        }
        Some(old) => SurfacePlan::Supersede(Box::new(old)),
        None => SurfacePlan::New,
    }
}

/// Whether one more surface request may wait, given how many other nodes' requests do.
pub(crate) fn admit_new_surface(others_waiting: usize) -> bool {
    others_waiting < MAX_PENDING_NODE_SURFACES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn declared_against_approved() {
        let (caps, cmds) = (v(&["camera"]), v(&["camera.snap", "system.run"]));
        let approved_caps = v(&["camera", "screen"]);
        let approved_cmds = v(&["camera.snap", "system.run", "x"]);
        assert_eq!(
            reconcile(&caps, &cmds, Some((&approved_caps, &approved_cmds))),
            Reconciled::Covered(EffectiveSurface {
                caps: caps.clone(),
                commands: cmds.clone()
            })
        );
        let narrow = v(&["camera.snap"]);
        assert_eq!(
            reconcile(&caps, &cmds, Some((&approved_caps, &narrow))),
            Reconciled::NeedsApproval(EffectiveSurface {
                caps: caps.clone(),
                commands: v(&["camera.snap"])
            })
        );
        assert_eq!(
            reconcile(&caps, &cmds, None),
            Reconciled::NeedsApproval(EffectiveSurface::default())
        );
        // An empty declaration is covered by any approval.
        assert!(matches!(
            reconcile(&[], &[], Some((&[], &[]))),
            Reconciled::Covered(_)
        ));
    }

    #[test]
    fn declared_against_pending() {
        let old = NodePairRequest {
            request_id: "r1".into(),
            caps: v(&["a"]),
            commands: v(&["x", "y"]),
            ts: 5,
            ..NodePairRequest::default()
        };
        assert_eq!(
            plan_pending_surface(Some(old.clone()), &v(&["a"]), &v(&["y", "x"])),
            SurfacePlan::Keep {
                request_id: "r1".into(),
                ts: 5
            }
        );
        assert_eq!(
            plan_pending_surface(Some(old.clone()), &v(&["a"]), &v(&["x"])),
            SurfacePlan::Supersede(Box::new(old))
        );
        assert_eq!(plan_pending_surface(None, &[], &[]), SurfacePlan::New);
    }

    #[test]
    fn surface_requests_are_capped() {
        assert!(admit_new_surface(0));
        assert!(admit_new_surface(MAX_PENDING_NODE_SURFACES - 1));
        assert!(!admit_new_surface(MAX_PENDING_NODE_SURFACES));
    }
}
