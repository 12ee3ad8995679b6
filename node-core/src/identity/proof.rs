//! The signed `connect` proof from both sides: the one builder of the signed payload from
//! `connect` params ([`DeviceAuthPayload::for_connect`]), the signer a client uses
//! ([`DeviceProof::sign`]) and the payload a gateway verifies ([`DeviceAuthPayload::from_connect`]).
//! The node, the CLI and the gateway all go through these, so they cannot sign or check
//! different strings.

use alloc::string::String;

use super::key::DeviceIdentity;
use super::payload::DeviceAuthPayload;
use crate::wire::connect::{ConnectAuth, ConnectParams, DeviceProof};

impl<'a> DeviceAuthPayload<'a> {
    /// The payload a `connect` with `params` signs for `device_id` at `signed_at_ms` with
    /// `nonce`: role and scopes as sent (`operator`/`[]` when absent), the token
    /// [`ConnectAuth::signed_token`] picks, the client's platform and device family.
    pub fn for_connect(
        params: &'a ConnectParams,
        device_id: &'a str,
        signed_at_ms: u64,
        nonce: &'a str,
    ) -> Self {
        Self {
            device_id,
            client_id: &params.client.id,
            client_mode: &params.client.mode,
            role: params.role(),
            scopes: params.scopes(),
            signed_at_ms,
            token: params.auth.as_ref().and_then(ConnectAuth::signed_token),
            nonce,
            platform: Some(&params.client.platform),
            device_family: params.client.device_family.as_deref(),
        }
    }

    /// The payload a gateway checks `device`'s signature against: `device.id`,
    /// `device.signedAt` and the trimmed `device.nonce` (the gateway compares that nonce with
    /// its challenge separately).
    pub fn from_connect(params: &'a ConnectParams, device: &'a DeviceProof) -> Self {
        Self::for_connect(params, &device.id, device.signed_at, device.nonce.trim())
    }
}

impl DeviceProof {
    /// Signs `params` (everything but `device`, which is not part of the payload) for the
    /// challenge `nonce` / `signed_at` (the challenge `ts`), over the v3 payload.
    pub fn sign(
        identity: &DeviceIdentity,
        params: &ConnectParams,
        nonce: &str,
        signed_at: u64,
    ) -> Self {
        let payload =
            DeviceAuthPayload::for_connect(params, identity.device_id(), signed_at, nonce);
        Self {
            id: String::from(identity.device_id()),
            public_key: String::from(identity.public_key_b64url()),
            signature: identity.sign(&payload.v3()),
            signed_at,
            nonce: String::from(nonce),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::identity::{PayloadVersion, VerifyError, verify_device_signature};
    use crate::wire::connect::ClientInfo;
    use alloc::vec;

    fn params() -> ConnectParams {
        ConnectParams {
            min_protocol: 4,
            max_protocol: 4,
            client: ClientInfo::node_host("1.0", "linux"),
            role: Some("node".into()),
            scopes: Some(vec![]),
            caps: None,
            commands: None,
            permissions: None,
            path_env: None,
            computer_use: None,
            worker_runs: None,
            model_catalog: None,
            device: None,
            auth: Some(ConnectAuth {
                bootstrap_token: Some("boot".into()),
                ..ConnectAuth::default()
            }),
            locale: None,
            user_agent: None,
        }
    }

    #[test]
    fn what_a_client_signs_the_gateway_verifies() {
        let identity = DeviceIdentity::from_seed(&[3; 32]);
        let mut p = params();
        let proof = DeviceProof::sign(&identity, &p, "n-1", 77);
        assert_eq!(proof.id, identity.device_id());
        assert_eq!((proof.signed_at, proof.nonce.as_str()), (77, "n-1"));
        p.device = Some(proof);
        let device = p.device.as_ref().unwrap();
        let payload = DeviceAuthPayload::from_connect(&p, device);
        assert_eq!(payload.token, Some("boot"));
        assert_eq!(
            verify_device_signature(&device.public_key, &device.signature, &payload),
            Ok(PayloadVersion::V3)
        );
        // Any signed field changed after signing breaks the proof.
        let mut changed = p.clone();
        changed.scopes = Some(vec!["operator.admin".into()]);
        let device = changed.device.as_ref().unwrap();
        assert_eq!(
            verify_device_signature(
                &device.public_key,
                &device.signature,
                &DeviceAuthPayload::from_connect(&changed, device)
            ),
            Err(VerifyError::SignatureMismatch)
        );
    }
}
