@file:Suppress("unused", "UNUSED_PARAMETER")

package android.content.pm

open class PackageInfo {
    @JvmField var versionName: String? = null
}

abstract class PackageManager {
    open fun getPackageInfo(packageName: String, flags: Int): PackageInfo = TODO()

    open class NameNotFoundException : Exception()

    companion object {
        const val PERMISSION_GRANTED = 0
    }
}
