@file:Suppress("unused", "UNUSED_PARAMETER")

package androidx.lifecycle

import android.app.Application
import kotlinx.coroutines.CoroutineScope

abstract class Lifecycle {
    abstract val currentState: State
    abstract fun addObserver(observer: LifecycleObserver)

    enum class State {
        DESTROYED, INITIALIZED, CREATED, STARTED, RESUMED;

        fun isAtLeast(state: State): Boolean = compareTo(state) >= 0
    }
}

interface LifecycleObserver

interface LifecycleOwner {
    val lifecycle: Lifecycle
}

interface DefaultLifecycleObserver : LifecycleObserver {
    fun onStart(owner: LifecycleOwner) {}
    fun onStop(owner: LifecycleOwner) {}
}

class ProcessLifecycleOwner private constructor() : LifecycleOwner {
    override val lifecycle: Lifecycle get() = TODO()

    companion object {
        @JvmStatic fun get(): LifecycleOwner = TODO()
    }
}

abstract class ViewModel

open class AndroidViewModel(application: Application) : ViewModel()

val LifecycleOwner.lifecycleScope: CoroutineScope get() = TODO()

suspend fun LifecycleOwner.repeatOnLifecycle(state: Lifecycle.State, block: suspend CoroutineScope.() -> Unit) {}
