#!/usr/bin/env bash
# Copies the agent's native parts into the iOS package (git-ignored; `npm pack` ships them):
#   target/bindings/swift/airlock.swift   ->  Sources/AirlockCapacitorUpdater/Generated/airlock.swift
#   $AIRLOCK_XCFRAMEWORK                  ->  Frameworks/airlockFFI.xcframework
# Run after bindings/generate.sh (the Swift) and the XCFramework build (static libraries for device and
# simulator with airlockFFI.h and its module map; default target/ios/airlockFFI.xcframework), on a Mac.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SWIFT=${AIRLOCK_SWIFT_BINDINGS:-$ROOT/target/bindings/swift}
XCFRAMEWORK=${AIRLOCK_XCFRAMEWORK:-$ROOT/target/ios/airlockFFI.xcframework}

[ -f "$SWIFT/airlock.swift" ] || {
  echo "prepare-native: $SWIFT/airlock.swift is missing; run bindings/generate.sh" >&2
  exit 1
}
[ -d "$XCFRAMEWORK" ] || {
  echo "prepare-native: $XCFRAMEWORK is missing; build the XCFramework first (needs Xcode)" >&2
  exit 1
}
rm -rf "$HERE/Sources/AirlockCapacitorUpdater/Generated" "$HERE/Frameworks/airlockFFI.xcframework"
mkdir -p "$HERE/Sources/AirlockCapacitorUpdater/Generated" "$HERE/Frameworks"
cp "$SWIFT/airlock.swift" "$HERE/Sources/AirlockCapacitorUpdater/Generated/"
cp -R "$XCFRAMEWORK" "$HERE/Frameworks/"
echo "prepare-native: Swift bindings and airlockFFI.xcframework in $HERE"
