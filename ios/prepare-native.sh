#!/usr/bin/env bash
# Copies the agent's native parts into the iOS package (git-ignored; `npm pack` ships them):
#   target/bindings/swift/airlock.swift   ->  Sources/AirlockCapacitorUpdater/Generated/airlock.swift
#   $AIRLOCK_XCFRAMEWORK                  ->  Frameworks/Airlock.xcframework
# Run after bindings/ios/build-xcframework.sh (on a Mac with Xcode), which leaves the static libraries for device
# and simulator with Headers/airlockFFI/{airlockFFI.h,module.modulemap} in target/ios/Airlock.xcframework and
# the Swift in target/bindings/swift.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SWIFT=${AIRLOCK_SWIFT_BINDINGS:-$ROOT/target/bindings/swift}
XCFRAMEWORK=${AIRLOCK_XCFRAMEWORK:-$ROOT/target/ios/Airlock.xcframework}

[ -f "$SWIFT/airlock.swift" ] || {
  echo "prepare-native: $SWIFT/airlock.swift is missing; run bindings/generate.sh" >&2
  exit 1
}
[ -d "$XCFRAMEWORK" ] || {
  echo "prepare-native: $XCFRAMEWORK is missing; run bindings/ios/build-xcframework.sh first (needs Xcode)" >&2
  exit 1
}
rm -rf "$HERE/Sources/AirlockCapacitorUpdater/Generated" "$HERE/Frameworks/Airlock.xcframework"
mkdir -p "$HERE/Sources/AirlockCapacitorUpdater/Generated" "$HERE/Frameworks"
cp "$SWIFT/airlock.swift" "$HERE/Sources/AirlockCapacitorUpdater/Generated/"
cp -R "$XCFRAMEWORK" "$HERE/Frameworks/Airlock.xcframework"
echo "prepare-native: Swift bindings and Airlock.xcframework in $HERE"
