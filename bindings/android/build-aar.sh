#!/usr/bin/env bash
# Builds the Android AAR of the agent: libairlock_ffi.so for arm64-v8a, armeabi-v7a and x86_64 (cargo-ndk,
# release profile, 16 KB page alignment as Android 15+ requires) plus the generated Kotlin bindings.
#
# RUNS ONLY ON A MACHINE WITH THE ANDROID NDK (r26 or newer). The project's test machines have none, so this script
# is not part of scripts/test; it stops with a message naming what is missing. Needs:
#   - ANDROID_NDK_HOME (or ANDROID_NDK_ROOT) pointing at an installed NDK
#   - cargo-ndk            cargo install cargo-ndk --locked
#   - the Rust targets     rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
#   - kotlinc and JNA's jna.jar to compile classes.jar (KOTLINC, JNA_JAR; scripts/bindings-test installs both
#     under ${AIRLOCK_TOOLS:-$HOME/.cache/airlock-tools} and Debian's libjna-java)
#
# Output (git-ignored):
#   target/android/jniLibs/<abi>/libairlock_ffi.so    drop-in for a Gradle module's src/main/jniLibs
#   target/android/airlock-ffi.aar                     classes.jar + jni/<abi>/ + AndroidManifest.xml (minSdk 24)
# An app using the AAR also needs JNA for Android: implementation("net.java.dev.jna:jna:5.14.0@aar").
set -euo pipefail
cd "$(dirname "$0")/../.."
die() {
  echo "build-aar.sh: $*" >&2
  exit 1
}

NDK=${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}
[ -n "$NDK" ] && [ -d "$NDK" ] ||
  die "the Android NDK is required: install it (sdkmanager 'ndk;27.2.12479018') and set ANDROID_NDK_HOME"
cargo ndk --version >/dev/null 2>&1 || die "cargo-ndk is required: cargo install cargo-ndk --locked"
TRIPLES="aarch64-linux-android armv7-linux-androideabi x86_64-linux-android"
for t in $TRIPLES; do
  rustup target list --installed 2>/dev/null | grep -qx "$t" || die "Rust target $t is missing: rustup target add $t"
done
TOOLS=${AIRLOCK_TOOLS:-$HOME/.cache/airlock-tools}
KOTLINC=${KOTLINC:-$(command -v kotlinc || echo "$TOOLS/kotlin/node_modules/kotlin-compiler/bin/kotlinc")}
[ -x "$KOTLINC" ] || die "kotlinc is required to build classes.jar: set KOTLINC or run scripts/bindings-test tools"
JNA_JAR=${JNA_JAR:-$(dpkg -L libjna-java 2>/dev/null | grep -m1 '/jna\.jar$' || true)}
[ -f "$JNA_JAR" ] || die "jna.jar is required to compile the bindings: set JNA_JAR (Debian: apt-get install libjna-java)"

OUT=target/android
rm -rf "$OUT" && mkdir -p "$OUT/jniLibs"
# 16 KB pages: every LOAD segment aligned to 16384 (Google Play requires it for Android 15+ devices).
for t in $TRIPLES; do
  var=CARGO_TARGET_$(echo "$t" | tr 'a-z-' 'A-Z_')_RUSTFLAGS
  export "$var=-C link-arg=-Wl,-z,max-page-size=16384"
done
cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -P 24 -o "$OUT/jniLibs" build --release --locked -p airlock-ffi

READELF=$(find "$NDK/toolchains/llvm/prebuilt" -name llvm-readelf -type f 2>/dev/null | head -1)
for abi in arm64-v8a armeabi-v7a x86_64; do
  so=$OUT/jniLibs/$abi/libairlock_ffi.so
  [ -f "$so" ] || die "cargo-ndk produced no $so"
  if [ -n "$READELF" ] && "$READELF" -lW "$so" | awk '$1 == "LOAD" && $NF != "0x4000" { bad = 1 } END { exit !bad }'; then
    die "$so has a LOAD segment not aligned to 16 KB"
  fi
done

# Kotlin bindings from the host library (library mode needs an unstripped build; the Kotlin is target-independent).
bindings/generate.sh
STAGE=$OUT/aar
mkdir -p "$STAGE/jni" "$OUT/classes"
cp -r "$OUT/jniLibs/." "$STAGE/jni/"
"$KOTLINC" -cp "$JNA_JAR" target/bindings/kotlin/uniffi/airlock/airlock.kt -d "$OUT/classes"
(cd "$OUT/classes" && python3 -m zipfile -c ../aar/classes.jar uniffi META-INF)
cat >"$STAGE/AndroidManifest.xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="app.airlock.ffi">
    <uses-sdk android:minSdkVersion="24" />
    <uses-permission android:name="android.permission.INTERNET" />
</manifest>
XML
: >"$STAGE/R.txt"
(cd "$STAGE" && python3 -m zipfile -c ../airlock-ffi.aar AndroidManifest.xml R.txt classes.jar jni)
echo "built $OUT/airlock-ffi.aar and $OUT/jniLibs/{arm64-v8a,armeabi-v7a,x86_64}"
