// Compile-check stubs: only the signatures of the Android SDK that the example uses, so kotlinc
// can type-check the example against the real generated bindings without the Android SDK.
// Never packaged; bodies throw.
@file:Suppress("unused", "UNUSED_PARAMETER", "ClassName")

package android

class Manifest {
    object permission {
        const val ACCESS_FINE_LOCATION = "android.permission.ACCESS_FINE_LOCATION"
        const val ACCESS_COARSE_LOCATION = "android.permission.ACCESS_COARSE_LOCATION"
        const val ACCESS_BACKGROUND_LOCATION = "android.permission.ACCESS_BACKGROUND_LOCATION"
    }
}
