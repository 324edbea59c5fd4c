#!/usr/bin/env bash
# Copies the agent's native parts into this Gradle module (git-ignored; `npm pack` ships them):
#   target/bindings/kotlin/uniffi/airlock/airlock.kt  ->  src/main/generated/kotlin/uniffi/airlock/airlock.kt
#   $AIRLOCK_JNILIBS/<abi>/libairlock_ffi.so          ->  src/main/jniLibs/<abi>/libairlock_ffi.so
# Run after bindings/android/build-aar.sh (on a machine with the Android NDK), which leaves one directory per ABI
# in target/android/jniLibs and the Kotlin in target/bindings/kotlin. Needs nothing Android-specific itself.
set -euo pipefail
MODULE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$MODULE/.." && pwd)
KOTLIN=${AIRLOCK_KOTLIN_BINDINGS:-$ROOT/target/bindings/kotlin}
JNILIBS=${AIRLOCK_JNILIBS:-$ROOT/target/android/jniLibs}

[ -f "$KOTLIN/uniffi/airlock/airlock.kt" ] || {
  echo "prepare-native: $KOTLIN/uniffi/airlock/airlock.kt is missing; run bindings/generate.sh" >&2
  exit 1
}
rm -rf "$MODULE/src/main/generated/kotlin"
mkdir -p "$MODULE/src/main/generated/kotlin/uniffi/airlock"
cp "$KOTLIN/uniffi/airlock/airlock.kt" "$MODULE/src/main/generated/kotlin/uniffi/airlock/"

found=0
rm -rf "$MODULE/src/main/jniLibs"
for abi in arm64-v8a armeabi-v7a x86_64 x86; do
  if [ -f "$JNILIBS/$abi/libairlock_ffi.so" ]; then
    mkdir -p "$MODULE/src/main/jniLibs/$abi"
    cp "$JNILIBS/$abi/libairlock_ffi.so" "$MODULE/src/main/jniLibs/$abi/"
    found=$((found + 1))
  fi
done
[ "$found" -gt 0 ] || {
  echo "prepare-native: no libairlock_ffi.so under $JNILIBS/<abi>/; build the Android libraries first" >&2
  exit 1
}
echo "prepare-native: Kotlin bindings and $found ABI(s) in $MODULE/src/main"
