@file:Suppress("unused", "UNUSED_PARAMETER")

package android.view

import android.content.Context

open class View(context: Context) {
    open var visibility: Int = VISIBLE
    fun setPadding(left: Int, top: Int, right: Int, bottom: Int) {}
    fun setOnClickListener(listener: (View) -> Unit) {}

    companion object {
        const val VISIBLE = 0
        const val GONE = 8
    }
}

open class ViewGroup(context: Context) : View(context) {
    fun addView(child: View) {}
}
