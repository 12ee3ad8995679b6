@file:Suppress("unused", "UNUSED_PARAMETER")

package android.util

object Base64 {
    const val NO_WRAP = 2
    @JvmStatic fun decode(str: String, flags: Int): ByteArray = TODO()
    @JvmStatic fun encodeToString(input: ByteArray, flags: Int): String = TODO()
}

object Log {
    const val VERBOSE = 2
    const val DEBUG = 3
    const val INFO = 4
    const val WARN = 5
    const val ERROR = 6
    @JvmStatic fun println(priority: Int, tag: String, msg: String): Int = TODO()
    @JvmStatic fun isLoggable(tag: String, level: Int): Boolean = TODO()
}
