// dev.clawlet.sdk as an Android library. The Kotlin sources are the generated bindings in
// bindings/kotlin/src/main/kotlin (bindings/generate.sh), the native libraries come from
// ../build-jnilibs.sh (src/main/jniLibs/<abi>/libclawlet_node.so), loaded by JNA.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    `maven-publish`
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

    // One published variant (the release AAR) with a sources jar: see `publishing` below.
    publishing {
        singleVariant("release") {
            withSourcesJar()
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

// The AAR as a Maven artifact: dev.clawlet:clawlet-android:<VERSION_NAME> (gradle.properties), with
// a sources jar and a pom that lists JNA (@aar) and kotlinx-coroutines. Needs the Android SDK and
// NDK (build-jnilibs.sh first), so it is not built on the Linux CI machine:
//   ./gradlew :clawlet:publishReleasePublicationToLocalRepository   -> ../../target/maven-repo
//   ./gradlew :clawlet:publishToMavenLocal                          -> ~/.m2/repository
// See README.md ("Publishing the AAR").
publishing {
    publications {
        register<MavenPublication>("release") {
            groupId = providers.gradleProperty("GROUP").get()
            artifactId = providers.gradleProperty("POM_ARTIFACT_ID").get()
            version = providers.gradleProperty("VERSION_NAME").get()
            afterEvaluate {
                from(components["release"])
            }
            pom {
                name.set("clawlet node SDK for Android")
                description.set("A node of the OpenClaw Gateway protocol for Android apps: UniFFI bindings to the clawlet-node Rust library, with libclawlet_node.so for arm64-v8a, armeabi-v7a, x86 and x86_64.")
                url.set("https://github.com/clawlet/clawlet")
                licenses {
                    license {
                        name.set("MIT")
                        url.set("https://opensource.org/licenses/MIT")
                    }
                    license {
                        name.set("Apache-2.0")
                        url.set("https://www.apache.org/licenses/LICENSE-2.0")
                    }
                }
                developers {
                    developer {
                        name.set("the clawlet authors")
                    }
                }
            }
        }
    }
    repositories {
        maven {
            name = "local"
            url = uri(layout.projectDirectory.dir("../../../target/maven-repo"))
        }
    }
}
