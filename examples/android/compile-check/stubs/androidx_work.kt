@file:Suppress("unused", "UNUSED_PARAMETER")

package androidx.work

import android.content.Context
import java.util.concurrent.TimeUnit

class WorkerParameters

abstract class ListenableWorker(context: Context, params: WorkerParameters) {
    val applicationContext: Context get() = TODO()

    abstract class Result {
        companion object {
            @JvmStatic fun success(): Result = TODO()
            @JvmStatic fun retry(): Result = TODO()
            @JvmStatic fun failure(): Result = TODO()
        }
    }
}

abstract class CoroutineWorker(context: Context, params: WorkerParameters) : ListenableWorker(context, params) {
    abstract suspend fun doWork(): Result
}

enum class NetworkType { CONNECTED }
enum class ExistingPeriodicWorkPolicy { KEEP }
enum class ExistingWorkPolicy { KEEP }
enum class OutOfQuotaPolicy { RUN_AS_NON_EXPEDITED_WORK_REQUEST }

class Constraints {
    class Builder {
        fun setRequiredNetworkType(type: NetworkType): Builder = this
        fun build(): Constraints = TODO()
    }
}

open class WorkRequest
class OneTimeWorkRequest : WorkRequest()
class PeriodicWorkRequest : WorkRequest()

class OneTimeWorkRequestBuilderImpl {
    fun setExpedited(policy: OutOfQuotaPolicy): OneTimeWorkRequestBuilderImpl = this
    fun build(): OneTimeWorkRequest = TODO()
}

class PeriodicWorkRequestBuilderImpl {
    fun setConstraints(constraints: Constraints): PeriodicWorkRequestBuilderImpl = this
    fun build(): PeriodicWorkRequest = TODO()
}

inline fun <reified W : ListenableWorker> OneTimeWorkRequestBuilder(): OneTimeWorkRequestBuilderImpl = TODO()

inline fun <reified W : ListenableWorker> PeriodicWorkRequestBuilder(repeatInterval: Long, repeatIntervalTimeUnit: TimeUnit): PeriodicWorkRequestBuilderImpl = TODO()

abstract class WorkManager {
    abstract fun enqueueUniquePeriodicWork(name: String, policy: ExistingPeriodicWorkPolicy, request: PeriodicWorkRequest)
    abstract fun enqueueUniqueWork(name: String, policy: ExistingWorkPolicy, request: OneTimeWorkRequest)

    companion object {
        @JvmStatic fun getInstance(context: Context): WorkManager = TODO()
    }
}
