// swift-tools-version:5.9
// The clawlet Swift SDK: the generated `Clawlet` module over the `ClawletFFI` static library.
//
// Two ways to get ClawletFFI (the XCFramework), chosen by the two constants below:
// - local (the default, both nil/empty): build/ClawletFFI.xcframework, made by
//   build-xcframework.sh (macOS + Xcode), which also copies the generated Clawlet.swift into
//   Sources/Clawlet/;
// - released: the zipped XCFramework at `releaseURL`, verified by SwiftPM against
//   `releaseChecksum` (the SHA-256 of the zip, which is what `swift package compute-checksum`
//   prints). package-release.sh zips the XCFramework, computes the checksum and writes a copy of
//   this file with both constants filled in (see README.md, "Releasing the Swift package").
import PackageDescription

/// The released zip's URL, e.g. "https://…/ClawletFFI-0.1.0.xcframework.zip"; nil: local build.
let releaseURL: String? = nil
/// The SHA-256 (hex) of that zip.
let releaseChecksum = ""

let ffiTarget: Target
if let url = releaseURL {
    ffiTarget = .binaryTarget(name: "ClawletFFI", url: url, checksum: releaseChecksum)
} else {
    ffiTarget = .binaryTarget(name: "ClawletFFI", path: "build/ClawletFFI.xcframework")
}

let package = Package(
    name: "Clawlet",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [
        .library(name: "Clawlet", targets: ["Clawlet"]),
    ],
    targets: [
        ffiTarget,
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
