// swift-tools-version:5.9
// The clawlet Swift SDK: the generated `Clawlet` module over the `ClawletFFI` static library.
// Laid out by build-xcframework.sh (macOS + Xcode), which creates build/ClawletFFI.xcframework
// and copies the generated Sources/Clawlet/Clawlet.swift from bindings/swift.
// To ship it as a remote package, zip the XCFramework and use
// `.binaryTarget(name: "ClawletFFI", url: "<zip url>", checksum: "<swift package compute-checksum>")`.
import PackageDescription

let package = Package(
    name: "Clawlet",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [
        .library(name: "Clawlet", targets: ["Clawlet"]),
    ],
    targets: [
        .binaryTarget(name: "ClawletFFI", path: "build/ClawletFFI.xcframework"),
        .target(
            name: "Clawlet",
            dependencies: ["ClawletFFI"],
            path: "Sources/Clawlet",
            linkerSettings: [
                // What the Rust staticlib needs beyond libSystem/libc/libm, which every app
                // links: `cargo rustc -p clawlet-node --lib --target aarch64-apple-ios
                // --crate-type staticlib -- --print native-static-libs` prints
                // "-liconv -lSystem -lc -lm".
                .linkedLibrary("iconv"),
            ]
        ),
        .testTarget(
            name: "ClawletTests",
            dependencies: ["Clawlet"],
            path: "Tests/ClawletTests"
        ),
    ]
)
