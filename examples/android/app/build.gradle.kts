// The example app module. Include it beside the SDK module, e.g. in
// bindings/android/settings.gradle.kts:  include(":app"); project(":app").projectDir = file("../../examples/android/app")
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "dev.clawlet.example"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.clawlet.example"
        minSdk = 24          // Keystore AES keys (23) and registerDefaultNetworkCallback (24)
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions {
        jvmTarget = "17"
    }
}

dependencies {
    implementation(project(":clawlet"))                        // dev.clawlet.sdk + libclawlet_node.so
    implementation("androidx.core:core-ktx:1.15.0")
    implementation("androidx.activity:activity-ktx:1.9.3")
    implementation("androidx.lifecycle:lifecycle-viewmodel-ktx:2.8.7")
    implementation("androidx.lifecycle:lifecycle-runtime-ktx:2.8.7")
    implementation("androidx.lifecycle:lifecycle-process:2.8.7")  // ProcessLifecycleOwner
    implementation("androidx.work:work-runtime-ktx:2.10.0")       // WakeWorker
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
}
