//! The JNI entry point of `dev.clawlet.sdk.ClawletAndroid.nativeInitTrustStore(context)`: hands
//! rustls-platform-verifier the app's context so it can reach Android's TrustManager, and
//! remembers that it did. A crate of its own because the workspace forbids unsafe code and a JNI
//! export needs `#[unsafe(no_mangle)]`; clawlet-node depends on it on Android only and asks
//! [`is_initialised`] before using the platform verifier (which would fail on every connect
//! without this init).

use std::sync::atomic::{AtomicBool, Ordering};

static READY: AtomicBool = AtomicBool::new(false);

/// Whether the app called `ClawletAndroid.init(context)` and the verifier accepted it.
pub fn is_initialised() -> bool {
    READY.load(Ordering::Acquire)
}

/// The JNI export `ClawletAndroid.nativeInitTrustStore` binds to.
#[cfg(target_os = "android")]
#[allow(unsafe_code)] // only the symbol name is fixed; the body is safe Rust
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_clawlet_sdk_ClawletAndroid_nativeInitTrustStore(
    mut env: jni::JNIEnv<'_>,
    _class: jni::objects::JClass<'_>,
    context: jni::objects::JObject<'_>,
) -> jni::sys::jboolean {
    match rustls_platform_verifier::android::init_hosted(&mut env, context) {
        Ok(()) => {
            READY.store(true, Ordering::Release);
            jni::sys::JNI_TRUE
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not initialise the Android trust store");
            jni::sys::JNI_FALSE
        }
    }
}
