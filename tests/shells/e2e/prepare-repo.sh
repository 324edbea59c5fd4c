#!/usr/bin/env bash
# Host side of the device workflows (.github/workflows/android-emulator.yml, ios-simulator.yml): keys, the
# example app's three bundles, a signed repo with releases 1 (2.0.0) and 2 (3.0.0, broken), channel
# `production` on release 1. The app is configured for CATALOG_URL (the repo as the device sees it).
#   tests/shells/e2e/prepare-repo.sh http://10.0.2.2:8080     (Android emulator: 10.0.2.2 is the host)
#   tests/shells/e2e/prepare-repo.sh http://127.0.0.1:8080    (iOS simulator: shares the host's network)
# Then: airlock serve --repo target/e2e/repo --addr 0.0.0.0:8080
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$PWD
CATALOG_URL=${1:?usage: prepare-repo.sh CATALOG_URL}
E=$ROOT/target/e2e
AIRLOCK=${AIRLOCK:-$ROOT/target/release/airlock}
APP_ID=app.airlock.example
KEY=$E/keys/publisher.signing.key

rm -rf "$E" && mkdir -p "$E"
"$AIRLOCK" keys new --out "$E/keys"
(
  cd examples/capacitor-app
  npm install --no-audit --no-fund
  node configure.mjs "$E/keys" "$CATALOG_URL"
  E2E=1 node build.mjs                                   # www/: the builtin bundle, 1.0.0
  OUT="$E/dist-2" VERSION=2.0.0 E2E=1 node build.mjs
  OUT="$E/dist-3" VERSION=3.0.0 BROKEN=1 E2E=1 node build.mjs
)
"$AIRLOCK" release "$E/dist-2" --repo "$E/repo" --app-id "$APP_ID" --version 2.0.0 --key "$KEY" --native-min 1.0
"$AIRLOCK" release "$E/dist-3" --repo "$E/repo" --app-id "$APP_ID" --version 3.0.0 --key "$KEY" --native-min 1.0
"$AIRLOCK" channel set production --repo "$E/repo" --app-id "$APP_ID" --key "$KEY" --release 1
echo "prepare-repo: repo in $E/repo (production → release 1 = 2.0.0; release 2 = 3.0.0, broken)"
