@file:Suppress("unused", "UNUSED_PARAMETER")

package android.app

import android.content.Context
import android.content.DialogInterface

open class Application : Context() {
    open fun onCreate() {}
}

open class AlertDialog {
    fun dismiss() {}

    open class Builder(context: Context) {
        fun setTitle(title: CharSequence): Builder = this
        fun setMessage(message: CharSequence): Builder = this
        fun setCancelable(cancelable: Boolean): Builder = this
        fun setPositiveButton(text: CharSequence, listener: DialogInterface.OnClickListener): Builder = this
        fun setNegativeButton(text: CharSequence, listener: DialogInterface.OnClickListener): Builder = this
        fun show(): AlertDialog = TODO()
    }
}
