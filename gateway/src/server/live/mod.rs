//! Live sessions: one task per admitted socket, its outbound queue, the hub of sessions and
//! broadcasts, the node invoke router, and the presence/health snapshots.

pub(crate) mod connection;
pub(crate) mod exec_runs;
pub(crate) mod hub;
pub(crate) mod invoke;
pub(crate) mod live_tasks;
pub(crate) mod outbound;
pub(crate) mod session;
pub(crate) mod session_limits;
pub(crate) mod snapshot;
