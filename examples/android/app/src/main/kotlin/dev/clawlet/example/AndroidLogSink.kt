package dev.clawlet.example

import android.util.Log
import dev.clawlet.sdk.LogLevel
import dev.clawlet.sdk.LogSink
import dev.clawlet.sdk.setLogSink

/**
 * The SDK's log records in logcat (`adb logcat -s clawlet`): installed once per process, before
 * the first NodeClient (records written earlier are kept and delivered when it is installed).
 * The SDK calls it on its own threads; Log.println is thread-safe and quick.
 */
object AndroidLogSink : LogSink {
    private const val TAG = "clawlet"

    override fun log(level: LogLevel, target: String, message: String) {
        val priority = when (level) {
            LogLevel.ERROR -> Log.ERROR
            LogLevel.WARN -> Log.WARN
            LogLevel.INFO -> Log.INFO
            LogLevel.DEBUG -> Log.DEBUG
            LogLevel.TRACE -> Log.VERBOSE
        }
        Log.println(priority, TAG, "$target: $message")
    }

    /** `LogLevel.DEBUG` shows every connection attempt; `INFO` is enough for a release. */
    fun install(maxLevel: LogLevel = LogLevel.INFO) {
        setLogSink(this, maxLevel)
    }
}
