// The clawlet Android library (AAR): the generated Kotlin bindings (bindings/kotlin) plus
// libclawlet_node.so for four ABIs (build-jnilibs.sh). Build: `gradle :clawlet:assembleRelease`.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "clawlet-android"
include(":clawlet")
