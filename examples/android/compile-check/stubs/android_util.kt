@file:Suppress("unused", "UNUSED_PARAMETER")

package android.util

object Base64 {
    const val NO_WRAP = 2
    @JvmStatic fun decode(str: String, flags: Int): ByteArray = TODO()
    @JvmStatic fun encodeToString(input: ByteArray, flags: Int): String = TODO()
}
