@file:Suppress("unused", "UNUSED_PARAMETER")

package androidx.core.content

import android.content.Context
import java.util.concurrent.Executor

object ContextCompat {
    @JvmStatic fun checkSelfPermission(context: Context, permission: String): Int = TODO()
    @JvmStatic fun getMainExecutor(context: Context): Executor = TODO()
}
