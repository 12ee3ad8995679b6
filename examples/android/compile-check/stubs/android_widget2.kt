@file:Suppress("unused", "UNUSED_PARAMETER")

package android.widget

import android.content.Context
import android.view.View
import android.view.ViewGroup

open class TextView(context: Context) : View(context) {
    open var text: CharSequence = ""
    open var hint: CharSequence = ""
    fun setTextColor(color: Int) {}
}

open class EditText(context: Context) : TextView(context)

open class Button(context: Context) : TextView(context)

open class LinearLayout(context: Context) : ViewGroup(context) {
    open var orientation: Int = 0

    companion object {
        const val VERTICAL = 1
    }
}
