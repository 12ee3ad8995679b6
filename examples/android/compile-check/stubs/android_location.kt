@file:Suppress("unused", "UNUSED_PARAMETER")

package android.location

import android.os.CancellationSignal
import android.os.Looper
import java.util.concurrent.Executor
import java.util.function.Consumer

open class Location {
    open val latitude: Double get() = TODO()
    open val longitude: Double get() = TODO()
    open val altitude: Double get() = TODO()
    open val accuracy: Float get() = TODO()
    open val speed: Float get() = TODO()
    open val bearing: Float get() = TODO()
    open val time: Long get() = TODO()
    open fun hasAltitude(): Boolean = TODO()
    open fun hasSpeed(): Boolean = TODO()
    open fun hasBearing(): Boolean = TODO()
}

interface LocationListener {
    fun onLocationChanged(location: Location)
}

open class LocationManager {
    open fun getLastKnownLocation(provider: String): Location? = TODO()
    open fun getCurrentLocation(provider: String, cancellationSignal: CancellationSignal?, executor: Executor, consumer: Consumer<Location?>) {}
    open fun requestLocationUpdates(provider: String, minTimeMs: Long, minDistanceM: Float, listener: LocationListener, looper: Looper?) {}
    open fun removeUpdates(listener: LocationListener) {}
    open fun isProviderEnabled(provider: String): Boolean = TODO()

    companion object {
        const val GPS_PROVIDER = "gps"
        const val NETWORK_PROVIDER = "network"
        const val FUSED_PROVIDER = "fused"
    }
}
