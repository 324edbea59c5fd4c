// swift-tools-version: 5.9
// Swift Package of the CapacitorUpdater plugin's iOS side (Capacitor 8: iOS 15+), as `npx cap sync` uses it.
//
// Native parts, produced by ios/prepare-native.sh (git-ignored, shipped in the npm package):
//   ios/Frameworks/Airlock.xcframework      the agent as a static library for device and simulator, with
//                                           Headers/airlockFFI/{airlockFFI.h,module.modulemap} (module `airlockFFI`)
//   ios/Sources/AirlockCapacitorUpdater/Generated/airlock.swift   the uniffi-generated Swift
// The shell is compiled in Swift 5 language mode: Capacitor's API carries no Swift 6 concurrency annotations.
// Its plain logic (Sources/AirlockCapacitorUpdater/Logic) is tested with Swift 6 by scripts/shells-test.
import PackageDescription

let package = Package(
    name: "AirlockCapacitorUpdater",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "AirlockCapacitorUpdater", targets: ["AirlockCapacitorUpdater"]),
    ],
    dependencies: [
        .package(url: "https://github.com/ionic-team/capacitor-swift-pm.git", from: "8.0.0"),
    ],
    targets: [
        .binaryTarget(name: "Airlock", path: "ios/Frameworks/Airlock.xcframework"),
        .target(
            name: "AirlockCapacitorUpdater",
            dependencies: [
                .product(name: "Capacitor", package: "capacitor-swift-pm"),
                .product(name: "Cordova", package: "capacitor-swift-pm"),
                "Airlock",
            ],
            path: "ios/Sources/AirlockCapacitorUpdater",
            linkerSettings: [
                // What the Rust static library calls into: TLS trust evaluation and the system resolver.
                .linkedFramework("Security"),
                .linkedFramework("SystemConfiguration"),
                .linkedLibrary("resolv"),
            ]
        ),
    ]
)
