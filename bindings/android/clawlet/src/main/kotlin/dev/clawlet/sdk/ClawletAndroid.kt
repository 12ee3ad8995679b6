// Hand-written, Android only (not part of the JVM jar): the one-line init that lets
// PinPolicy.SystemTrust use Android's trust store.
package dev.clawlet.sdk

import android.content.Context

/**
 * Call `ClawletAndroid.init(context)` once, in `Application.onCreate`, before the first
 * NodeClient: it hands rustls-platform-verifier the app's context so `PinPolicy.SystemTrust`
 * verifies gateway certificates with Android's TrustManager (system CAs plus user- and
 * MDM-installed ones, per the app's network security config). Without it the SDK falls back to
 * its bundled CA roots and logs a warning once. Returns whether the trust store is in use.
 *
 * The verifier's Kotlin half (`org.rustls:rustls-platform-verifier`, shipped inside the
 * rustls-platform-verifier crate as a local Maven repository) must be on the app's classpath:
 * see docs/sdk-api.md, "System trust".
 */
object ClawletAndroid {
    @Volatile private var ready = false

    @JvmStatic
    private external fun nativeInitTrustStore(context: Context): Boolean

    @Synchronized
    fun init(context: Context): Boolean {
        if (ready) return true
        // JNI resolves `external` functions in libraries loaded through System.loadLibrary
        // (JNA's own load of the same library does not register them).
        System.loadLibrary("clawlet_node")
        ready = nativeInitTrustStore(context.applicationContext)
        return ready
    }
}
