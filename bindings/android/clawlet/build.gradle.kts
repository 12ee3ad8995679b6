// dev.clawlet.sdk as an Android library. The Kotlin sources are the generated bindings in
// bindings/kotlin/src/main/kotlin (bindings/generate.sh), the native libraries come from
// ../build-jnilibs.sh (src/main/jniLibs/<abi>/libclawlet_node.so), loaded by JNA.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "dev.clawlet.sdk"
    compileSdk = 35

    defaultConfig {
        minSdk = 21
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86", "x86_64")
        }
    }

    sourceSets {
        getByName("main") {
            java.srcDir("../../kotlin/src/main/kotlin")
            jniLibs.srcDir("src/main/jniLibs")
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
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
    // The generated code's public API mentions JNA types (Pointer), hence `api`. The @aar
    // artifact carries libjnidispatch.so for every Android ABI.
    api("net.java.dev.jna:jna:5.17.0@aar")
    // Async methods (sendEvent, wake) and the async CommandHandler are suspend functions.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
}

// Fail early with the fix instead of packaging an AAR without native code.
tasks.matching { it.name == "preBuild" }.configureEach {
    doFirst {
        val jni = file("src/main/jniLibs/arm64-v8a/libclawlet_node.so")
        if (!jni.exists()) {
            throw GradleException("missing ${jni.path}: run bindings/android/build-jnilibs.sh first")
        }
        val generated = file("../../kotlin/src/main/kotlin/dev/clawlet/sdk")
        if (!generated.exists()) {
            throw GradleException("missing ${generated.path}: run bindings/generate.sh first")
        }
    }
}
