package dev.clawlet.example

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.OutOfQuotaPolicy
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import dev.clawlet.sdk.NodeException
import java.util.concurrent.TimeUnit

/**
 * The app lifecycle, the network and background wake-ups, forwarded to the NodeClient:
 *   ProcessLifecycleOwner onStart/onStop → resume() / suspend()
 *   ConnectivityManager default network  → networkChanged()  (retry now, not after the backoff)
 *   push message / periodic WorkManager   → WakeWorker → wake(leaseMs)
 */
class NodeLifecycle(private val context: Context, private val node: ClawletNode) : DefaultLifecycleObserver {
    private var sawFirstNetwork = false

    fun install() {
        ProcessLifecycleOwner.get().lifecycle.addObserver(this)
        val connectivity = context.getSystemService(ConnectivityManager::class.java)
        connectivity.registerDefaultNetworkCallback(object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: Network) {
                // The first callback reports the network we started on, not a change.
                if (sawFirstNetwork) node.client?.networkChanged()
                sawFirstNetwork = true
            }
        })
        WakeWorker.schedulePeriodic(context)
    }

    override fun onStart(owner: LifecycleOwner) {
        val client = node.client
        if (client == null) {
            node.restore()
        } else {
            try {
                client.resume()
            } catch (e: NodeException) {
                // Also reported to the listener, which shows it.
            }
        }
    }

    override fun onStop(owner: LifecycleOwner) {
        node.client?.suspend()
    }
}

/**
 * Comes online for a lease to serve what the gateway queued, then goes back to sleep. Enqueued
 * every ~15 minutes and, expedited, from a push message:
 *
 *     // FirebaseMessagingService.onMessageReceived (high-priority data message from the relay):
 *     WakeWorker.enqueueNow(applicationContext)
 *
 * Below Android 12 an expedited request runs as a foreground service: override
 * getForegroundInfo() with the app's notification before relying on enqueueNow there.
 */
class WakeWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val node = (applicationContext as ExampleApplication).node
        val client = node.clientForWake() ?: return Result.success()   // never paired
        return try {
            if (client.wake(LEASE_MS)) Result.success() else Result.retry()
        } catch (e: NodeException) {
            Result.failure()
        }
    }

    companion object {
        private const val LEASE_MS = 20_000uL
        private const val PERIODIC = "clawlet-wake-periodic"
        private const val NOW = "clawlet-wake-now"

        fun schedulePeriodic(context: Context) {
            val request = PeriodicWorkRequestBuilder<WakeWorker>(15, TimeUnit.MINUTES)
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .build()
            WorkManager.getInstance(context)
                .enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, request)
        }

        fun enqueueNow(context: Context) {
            val request = OneTimeWorkRequestBuilder<WakeWorker>()
                .setExpedited(OutOfQuotaPolicy.RUN_AS_NON_EXPEDITED_WORK_REQUEST)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(NOW, ExistingWorkPolicy.KEEP, request)
        }
    }
}
