#!/usr/bin/env bash
# Builds Airlock.xcframework: the agent as a static library for iOS devices (aarch64-apple-ios) and the iOS
# simulator (aarch64-apple-ios-sim + x86_64-apple-ios, merged with lipo), with the generated C header and module
# map, plus the generated airlock.swift to compile into the app or the plugin's Swift package.
#
# RUNS ONLY ON macOS WITH XCODE (xcodebuild, lipo). The project's test machines are Linux, so this script is not part
# of scripts/test; it stops with a message naming what is missing. Needs:
#   - Xcode 15 or newer with its command line tools (xcode-select --install)
#   - the Rust targets   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
#
# Output (git-ignored):
#   target/ios/Airlock.xcframework        static libairlock_ffi.a per platform + Headers/airlockFFI/{airlockFFI.h,module.modulemap}
#   target/ios/Sources/airlock.swift      the Swift API (`import airlockFFI` resolves through the xcframework)
set -euo pipefail
cd "$(dirname "$0")/../.."
die() {
  echo "build-xcframework.sh: $*" >&2
  exit 1
}

[ "$(uname -s)" = Darwin ] || die "an XCFramework can only be built on macOS with Xcode (this is $(uname -s))"
command -v xcodebuild >/dev/null && xcodebuild -version >/dev/null 2>&1 ||
  die "Xcode is required: install it and run xcode-select -s /Applications/Xcode.app"
command -v lipo >/dev/null || die "lipo is required (Xcode command line tools)"
TRIPLES="aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios"
for t in $TRIPLES; do
  rustup target list --installed 2>/dev/null | grep -qx "$t" || die "Rust target $t is missing: rustup target add $t"
done

OUT=target/ios
rm -rf "$OUT" && mkdir -p "$OUT/sim" "$OUT/Headers/airlockFFI" "$OUT/Sources"
for t in $TRIPLES; do
  cargo build --release --locked -p airlock-ffi --target "$t"
done
lipo -create target/aarch64-apple-ios-sim/release/libairlock_ffi.a target/x86_64-apple-ios/release/libairlock_ffi.a \
  -output "$OUT/sim/libairlock_ffi.a"

# Header, module map and Swift from the host library (library mode; the generated code is target-independent).
bindings/generate.sh
cp target/bindings/swift/airlockFFI.h "$OUT/Headers/airlockFFI/"
cp target/bindings/swift/airlockFFI.modulemap "$OUT/Headers/airlockFFI/module.modulemap"
cp target/bindings/swift/airlock.swift "$OUT/Sources/"

xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libairlock_ffi.a -headers "$OUT/Headers" \
  -library "$OUT/sim/libairlock_ffi.a" -headers "$OUT/Headers" \
  -output "$OUT/Airlock.xcframework"
echo "built $OUT/Airlock.xcframework and $OUT/Sources/airlock.swift"
