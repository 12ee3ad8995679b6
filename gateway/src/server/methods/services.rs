//! The narrow services a method handler takes instead of the whole [`Shared`] context.
//!
//! Each handler names what it reads or changes: a handler given only [`GatewayInfo`] cannot
//! reach the pairing state, one given a [`StateService`] cannot broadcast, and none of them
//! sees the auth secret, the rate limiter or the pre-auth budget. The connection cuts these
//! views out of [`Shared`] with [`Services::of`] for each request, and the dispatcher
//! (`methods/mod.rs`) hands each handler only the ones it uses; they are borrows, so building
//! them per request costs nothing. The live
//! sessions are the [`Hub`] itself, already a service of its own; [`GatewayInfo`] lives with
//! the presence and health builders (`live::snapshot`), which the connection uses as well.

use std::time::Duration;

use clawlet_node_core::wire::frame::ErrorShape;

use super::{state_error, worker_error};
use crate::server::admission::policy::CommandPolicy;
use crate::server::context::{Settings, Shared};
use crate::server::live::exec_runs::ExecRuns;
use crate::server::live::hub::Hub;
use crate::server::live::invoke::InvokeRouter;
pub(crate) use crate::server::live::snapshot::GatewayInfo;
use crate::server::state_worker::StateHandle;
use crate::server::transport::bind::ListenAddr;
use crate::state::{StateError, StateStore};

/// Every service a method handler may be given; the dispatcher sees this, never [`Shared`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Services<'a> {
    pub(crate) state: StateService<'a>,
    pub(crate) hub: &'a Hub,
    pub(crate) info: GatewayInfo<'a>,
    pub(crate) setup_code: SetupCodeSettings<'a>,
    pub(crate) invokes: Invokes<'a>,
}

impl<'a> Services<'a> {
    /// The services of this gateway.
    pub(crate) fn of(shared: &'a Shared) -> Self {
        Self {
            state: StateService::of(shared),
            hub: &shared.hub,
            info: GatewayInfo::of(shared),
            setup_code: SetupCodeSettings::of(&shared.settings),
            invokes: Invokes::of(shared),
        }
    }
}

/// The pairing state, with its failures already mapped to wire errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StateService<'a> {
    handle: &'a StateHandle,
}

impl<'a> StateService<'a> {
    /// The state of this gateway.
    pub(crate) fn of(shared: &'a Shared) -> Self {
        Self {
            handle: &shared.state,
        }
    }

    /// Runs `f` on the state thread; a gone worker and a store failure both come back as the
    /// `ErrorShape` the caller should answer with ([`worker_error`], [`state_error`]).
    pub(crate) async fn run<R, F>(&self, f: F) -> Result<R, ErrorShape>
    where
        R: Send + 'static,
        F: FnOnce(&mut StateStore) -> Result<R, StateError> + Send + 'static,
    {
        self.handle
            .call(f)
            .await
            .map_err(worker_error)?
            .map_err(state_error)
    }
}

/// What `node.invoke` works with: the live nodes to reach, the command policy that may refuse,
/// the router that pairs a request with the node's answer, and the shell runs it stamps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Invokes<'a> {
    pub(crate) router: &'a InvokeRouter,
    pub(crate) hub: &'a Hub,
    pub(crate) policy: &'a CommandPolicy,
    pub(crate) exec_runs: &'a ExecRuns,
}

impl<'a> Invokes<'a> {
    /// The invoke machinery of this gateway.
    pub(crate) fn of(shared: &'a Shared) -> Self {
        Self {
            router: &shared.invokes,
            hub: &shared.hub,
            policy: &shared.policy,
            exec_runs: &shared.exec_runs,
        }
    }
}

/// What a setup code is made from: where the gateway listens, how it authenticates (by mode
/// name only; the secret stays out) and how long a bootstrap token lives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SetupCodeSettings<'a> {
    /// `gateway.auth.mode` (`none`, `token`, `password`, `trusted-proxy`).
    pub(crate) auth_mode: &'static str,
    /// The bound listeners, for the URL a setup code carries.
    pub(crate) listen: &'a [ListenAddr],
    /// SHA-256 of the served certificate when TLS is on.
    pub(crate) tls_fingerprint: Option<&'a str>,
    /// Lifetime of a setup code's bootstrap token.
    pub(crate) ttl: Duration,
}

impl<'a> SetupCodeSettings<'a> {
    /// The setup-code settings of this gateway.
    pub(crate) fn of(settings: &'a Settings) -> Self {
        Self {
            auth_mode: settings.auth.mode_name(),
            listen: &settings.listen,
            tls_fingerprint: settings.tls_fingerprint.as_deref(),
            ttl: settings.setup_code_ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use clawlet_node_core::wire::codes::error_code;

    use super::*;

    #[tokio::test]
    async fn state_service_answers_with_the_value_or_the_wire_error() {
        let handle = StateHandle::spawn(StateStore::open_in_memory().unwrap()).unwrap();
        let state = StateService { handle: &handle };
        let version = state.run(|store| store.schema_version()).await.unwrap();
        assert!(version > 0);
        // The caller's mistake stays INVALID_REQUEST with the store's message...
        let unknown = state
            .run(|_| Err::<(), _>(StateError::UnknownDeviceId("dev-1".into())))
            .await
            .unwrap_err();
        assert_eq!(unknown.code, error_code::INVALID_REQUEST);
        let said = StateError::UnknownDeviceId("dev-1".into()).to_string();
        assert_eq!(unknown.message, said);
        // ...anything else is UNAVAILABLE without the internals.
        let io = state
            .run(|_| Err::<(), _>(StateError::Io(std::io::Error::other("disk on fire"))))
            .await
            .unwrap_err();
        assert_eq!(io.code, error_code::UNAVAILABLE);
        assert_eq!(io.message, "gateway state unavailable");
    }
}
