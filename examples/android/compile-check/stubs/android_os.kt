@file:Suppress("unused", "UNUSED_PARAMETER")

package android.os

object Build {
    @JvmField val MODEL: String = ""
    @JvmField val MANUFACTURER: String = ""
    @JvmField val DEVICE: String = ""

    object VERSION {
        @JvmField val RELEASE: String = ""
        @JvmField val SDK_INT: Int = 0
    }
}

open class CancellationSignal {
    fun cancel() {}
}

open class Looper {
    companion object {
        @JvmStatic fun getMainLooper(): Looper = TODO()
    }
}

open class Bundle
