@file:Suppress("unused", "UNUSED_PARAMETER")

package androidx.activity

import android.content.Context
import android.content.Intent
import android.os.Bundle
import android.view.View
import androidx.activity.result.ActivityResultLauncher
import androidx.activity.result.contract.ActivityResultContract
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ViewModel

open class ComponentActivity : Context(), LifecycleOwner {
    override val lifecycle: Lifecycle get() = TODO()
    open val intent: Intent? get() = TODO()
    protected open fun onCreate(savedInstanceState: Bundle?) {}
    fun setContentView(view: View) {}
    fun <I, O> registerForActivityResult(contract: ActivityResultContract<I, O>, callback: (O) -> Unit): ActivityResultLauncher<I> = TODO()
}

inline fun <reified VM : ViewModel> ComponentActivity.viewModels(): Lazy<VM> = TODO()
