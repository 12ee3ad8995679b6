@file:Suppress("unused", "UNUSED_PARAMETER")

package android.net

open class Network

open class Uri {
    open val scheme: String? get() = TODO()
}

open class ConnectivityManager {
    open fun registerDefaultNetworkCallback(callback: NetworkCallback) {}

    open class NetworkCallback {
        open fun onAvailable(network: Network) {}
        open fun onLost(network: Network) {}
    }
}
