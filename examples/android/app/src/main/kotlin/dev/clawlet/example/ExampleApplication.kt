package dev.clawlet.example

import android.app.Application
import dev.clawlet.sdk.ClawletAndroid

/** Owns the app-scoped node and installs the lifecycle hooks once per process. */
class ExampleApplication : Application() {
    lateinit var node: ClawletNode
        private set

    override fun onCreate() {
        super.onCreate()
        // First, so the SDK's log (connection attempts, errors) reaches logcat from the start.
        AndroidLogSink.install()
        // PinPolicy.SystemTrust then uses Android's trust store (user/MDM CAs included).
        ClawletAndroid.init(this)
        node = ClawletNode(this)
        // Connects on the first onStart (app in the foreground); a process started by WorkManager
        // in the background only builds the client in WakeWorker.
        NodeLifecycle(this, node).install()
    }
}
