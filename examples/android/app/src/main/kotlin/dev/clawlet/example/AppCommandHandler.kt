package dev.clawlet.example

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Build
import android.os.CancellationSignal
import android.os.Looper
import androidx.core.content.ContextCompat
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.ProcessLifecycleOwner
import dev.clawlet.sdk.CommandException
import dev.clawlet.sdk.CommandHandler
import dev.clawlet.sdk.Invoke
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import org.json.JSONException
import org.json.JSONObject
import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale
import java.util.TimeZone
import kotlin.coroutines.resume

/**
 * What the gateway may ask this phone to do:
 *  - `device.info`: {model, manufacturer, modelIdentifier, osVersion, sdkInt, appVersion}
 *  - `location.get`: {lat, lon, accuracyMeters, altitudeMeters?, speedMps?, headingDeg?,
 *    timestamp, isPrecise, source}; params {desiredAccuracy?: coarse|balanced|precise,
 *    maxAgeMs?, timeoutMs?}, as OpenClaw's nodes take them.
 * A thrown CommandException becomes the invoke's error code (PERMISSION_DENIED,
 * NODE_BACKGROUND_UNAVAILABLE, ...). The coroutine is cancelled when the gateway cancels the
 * invoke.
 */
class AppCommandHandler(private val context: Context) : CommandHandler {
    override suspend fun handle(invoke: Invoke): String? = when (invoke.command) {
        "device.info" -> deviceInfo().toString()
        "location.get" -> location(LocationParams.parse(invoke.paramsJson, invoke.timeoutMs)).toString()
        else -> throw CommandException.Unavailable("${invoke.command} is not supported by this app")
    }

    private fun deviceInfo() = JSONObject()
        .put("model", Build.MODEL)
        .put("manufacturer", Build.MANUFACTURER)
        .put("modelIdentifier", Build.DEVICE)
        .put("osVersion", Build.VERSION.RELEASE)
        .put("sdkInt", Build.VERSION.SDK_INT)
        .put("appVersion", appVersion(context))

    private suspend fun location(params: LocationParams): JSONObject {
        val fine = granted(Manifest.permission.ACCESS_FINE_LOCATION)
        if (!fine && !granted(Manifest.permission.ACCESS_COARSE_LOCATION)) {
            throw CommandException.PermissionDenied("location permission not granted")
        }
        // Android 10+ gives apps in the background no location without
        // ACCESS_BACKGROUND_LOCATION; say so with the code operators know instead of timing out.
        val foreground = withContext(Dispatchers.Main) {
            ProcessLifecycleOwner.get().lifecycle.currentState.isAtLeast(Lifecycle.State.STARTED)
        }
        if (!foreground && Build.VERSION.SDK_INT >= 29 &&
            !granted(Manifest.permission.ACCESS_BACKGROUND_LOCATION)
        ) {
            throw CommandException.BackgroundUnavailable("location.get needs the app in the foreground")
        }
        val manager = context.getSystemService(Context.LOCATION_SERVICE) as LocationManager
        val provider = params.provider(manager, fine)
            ?: throw CommandException.Unavailable("location services are off")
        params.maxAgeMs?.let { maxAge ->
            lastKnown(manager, provider)
                ?.takeIf { System.currentTimeMillis() - it.time <= maxAge }
                ?.let { return encode(it, provider) }
        }
        val fix = try {
            withTimeout(params.timeoutMs) { currentLocation(manager, provider) }
        } catch (e: TimeoutCancellationException) {
            throw CommandException.Failed("LOCATION_TIMEOUT", "no fix in ${params.timeoutMs} ms")
        } ?: throw CommandException.Unavailable("no location from $provider")
        return encode(fix, provider)
    }

    @SuppressLint("MissingPermission") // checked in location()
    private fun lastKnown(manager: LocationManager, provider: String): Location? =
        manager.getLastKnownLocation(provider)

    @SuppressLint("MissingPermission") // checked in location()
    private suspend fun currentLocation(manager: LocationManager, provider: String): Location? =
        withContext(Dispatchers.Main) {
            suspendCancellableCoroutine { cont ->
                if (Build.VERSION.SDK_INT >= 30) {
                    val signal = CancellationSignal()
                    cont.invokeOnCancellation { signal.cancel() }
                    manager.getCurrentLocation(provider, signal, ContextCompat.getMainExecutor(context)) { location ->
                        if (cont.isActive) cont.resume(location)
                    }
                } else {
                    val listener = object : LocationListener {
                        override fun onLocationChanged(location: Location) {
                            manager.removeUpdates(this)
                            if (cont.isActive) cont.resume(location)
                        }
                    }
                    cont.invokeOnCancellation { manager.removeUpdates(listener) }
                    manager.requestLocationUpdates(provider, 0L, 0f, listener, Looper.getMainLooper())
                }
            }
        }

    private fun encode(location: Location, provider: String): JSONObject = JSONObject()
        .put("lat", location.latitude)
        .put("lon", location.longitude)
        .put("accuracyMeters", location.accuracy.toDouble())
        .put("isPrecise", location.accuracy <= 100f)
        .put("timestamp", iso8601(location.time))
        .put("source", if (provider == LocationManager.GPS_PROVIDER) "gps" else provider)
        .apply {
            if (location.hasAltitude()) put("altitudeMeters", location.altitude)
            if (location.hasSpeed()) put("speedMps", location.speed.toDouble())
            if (location.hasBearing()) put("headingDeg", location.bearing.toDouble())
        }

    private fun granted(permission: String) =
        ContextCompat.checkSelfPermission(context, permission) == PackageManager.PERMISSION_GRANTED

    companion object {
        fun appVersion(context: Context): String = try {
            context.packageManager.getPackageInfo(context.packageName, 0).versionName ?: "0"
        } catch (e: PackageManager.NameNotFoundException) {
            "0"
        }

        private fun iso8601(ms: Long): String =
            SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.US)
                .apply { timeZone = TimeZone.getTimeZone("UTC") }
                .format(Date(ms))
    }
}

/** `location.get` params; bad input is INVALID_PARAMS. */
data class LocationParams(
    val desiredAccuracy: String = "balanced",
    val maxAgeMs: Long? = null,
    val timeoutMs: Long = 10_000,
) {
    /** The provider for the accuracy asked for and the permission held; null if all are off. */
    fun provider(manager: LocationManager, fine: Boolean): String? {
        val wanted = buildList {
            if (Build.VERSION.SDK_INT >= 31 && desiredAccuracy != "coarse") add(LocationManager.FUSED_PROVIDER)
            if (fine && desiredAccuracy == "precise") add(LocationManager.GPS_PROVIDER)
            add(LocationManager.NETWORK_PROVIDER)
            if (fine) add(LocationManager.GPS_PROVIDER)
        }
        return wanted.firstOrNull { runCatching { manager.isProviderEnabled(it) }.getOrDefault(false) }
    }

    companion object {
        fun parse(json: String?, invokeTimeoutMs: ULong?): LocationParams {
            val budget = invokeTimeoutMs?.toLong() ?: Long.MAX_VALUE
            if (json.isNullOrBlank()) return LocationParams(timeoutMs = minOf(10_000L, budget))
            val obj = try {
                JSONObject(json)
            } catch (e: JSONException) {
                throw CommandException.InvalidParams("params must be a JSON object")
            }
            val accuracy = obj.optString("desiredAccuracy", "balanced")
            if (accuracy !in setOf("coarse", "balanced", "precise")) {
                throw CommandException.InvalidParams("desiredAccuracy must be coarse, balanced or precise, not $accuracy")
            }
            val maxAge = if (obj.has("maxAgeMs")) obj.optLong("maxAgeMs", -1L).takeIf { it >= 0 } else null
            val timeout = if (obj.has("timeoutMs")) obj.optLong("timeoutMs", 10_000L).coerceIn(1_000L, 60_000L) else 10_000L
            return LocationParams(accuracy, maxAge, minOf(timeout, budget))
        }
    }
}
