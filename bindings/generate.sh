#!/usr/bin/env bash
# Builds the FFI library (debug, unstripped: uniffi reads its metadata from the symbol table) and generates the
# Kotlin, Swift and Python bindings into the git-ignored target/bindings/{kotlin,swift,python}.
# Runs anywhere the Rust toolchain does; the generated Swift also gets the C header and modulemap that an
# XCFramework needs (bindings/ios/build-xcframework.sh uses them).
#
#   bindings/generate.sh            cargo build --workspace, then generate from target/debug/libairlock_ffi.so
#   AIRLOCK_FFI_LIB=path bindings/generate.sh     generate from an already built (unstripped) library
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/bindings
if [ -z "${AIRLOCK_FFI_LIB:-}" ]; then
  # The whole workspace, every time: the same feature set as `cargo test --workspace`, so nothing recompiles twice.
  cargo build --workspace --locked
  case "$(uname -s)" in
  Darwin) AIRLOCK_FFI_LIB=target/debug/libairlock_ffi.dylib ;;
  *) AIRLOCK_FFI_LIB=target/debug/libairlock_ffi.so ;;
  esac
else
  cargo build -p uniffi-bindgen --locked
fi
[ -f "$AIRLOCK_FFI_LIB" ] || {
  echo "generate.sh: $AIRLOCK_FFI_LIB not found; build airlock-ffi first" >&2
  exit 1
}
rm -rf "$OUT"
for lang in kotlin swift python; do
  target/debug/uniffi-bindgen generate "$AIRLOCK_FFI_LIB" --language "$lang" --no-format --out-dir "$OUT/$lang"
done
echo "bindings in $OUT: $(cd "$OUT" && find . -type f | sort | tr '\n' ' ')"
