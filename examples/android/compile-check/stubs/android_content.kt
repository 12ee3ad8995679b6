@file:Suppress("unused", "UNUSED_PARAMETER")

package android.content

import android.content.pm.PackageManager

abstract class Context {
    open fun getSharedPreferences(name: String, mode: Int): SharedPreferences = TODO()
    open fun getSystemService(name: String): Any = TODO()
    open fun <T> getSystemService(serviceClass: Class<T>): T = TODO()
    open val packageManager: PackageManager get() = TODO()
    open val packageName: String get() = TODO()
    open val applicationContext: Context get() = TODO()

    companion object {
        const val MODE_PRIVATE = 0
        const val LOCATION_SERVICE = "location"
    }
}

interface SharedPreferences {
    fun getString(key: String, defValue: String?): String?
    fun edit(): Editor

    interface Editor {
        fun putString(key: String, value: String?): Editor
        fun remove(key: String): Editor
        fun commit(): Boolean
        fun apply()
    }
}

interface DialogInterface {
    fun interface OnClickListener {
        fun onClick(dialog: DialogInterface, which: Int)
    }
}

open class Intent {
    open val data: android.net.Uri? get() = TODO()
}
