#!/usr/bin/env bash
# Drives the example app's E2E story on a booted device and checks each step from the app's `AIRLOCK-E2E` lines:
# download → set → reload → relaunch → a broken release rolled back. Platform-specific verbs come from
# PLATFORM=android (adb; APK in APP_PATH) or PLATFORM=ios (xcrun simctl on the booted simulator; App.app in
# APP_PATH). Needs the repo of prepare-repo.sh served on the host. Exits non-zero with the log on a missed step.
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$PWD
PLATFORM=${PLATFORM:?PLATFORM=android or ios}
APP_PATH=${APP_PATH:?path of the built app}
APP_ID=app.airlock.example
E=$ROOT/target/e2e
AIRLOCK=${AIRLOCK:-$ROOT/target/release/airlock}
LOG=$E/device.log

case "$PLATFORM" in
android)
  install() { adb install -r "$APP_PATH"; }
  start() {
    adb logcat -c
    adb shell am start -W -n "$APP_ID/.MainActivity" >/dev/null
  }
  stop() { adb shell am force-stop "$APP_ID"; }
  snapshot() { adb logcat -d -s Capacitor/Console:* >"$LOG" 2>/dev/null || true; }
  ;;
ios)
  install() { xcrun simctl install booted "$APP_PATH"; }
  start() {
    : >"$LOG"
    xcrun simctl launch --terminate-running-process --console-pty booted "$APP_ID" >"$LOG" 2>&1 &
  }
  stop() { xcrun simctl terminate booted "$APP_ID" || true; }
  snapshot() { :; }
  ;;
*) echo "unknown PLATFORM $PLATFORM" >&2 && exit 2 ;;
esac

# wait_for TEXT SECONDS: the app printed TEXT since the last start.
wait_for() {
  local deadline=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$deadline" ]; do
    snapshot
    if grep -q "AIRLOCK-E2E $1" "$LOG"; then
      echo "ok: $1"
      return 0
    fi
    sleep 2
  done
  echo "missed within $2 s: AIRLOCK-E2E $1" >&2
  grep 'AIRLOCK-E2E' "$LOG" >&2 || cat "$LOG" >&2
  exit 1
}

install
echo "== first start: builtin 1.0.0 → reload → download 2.0.0 → set"
start
wait_for "running 1.0.0 ready (builtin" 120
wait_for "reload 1.0.0" 30
wait_for "downloaded 2.0.0" 120
wait_for "running 2.0.0 ready" 60
wait_for "reload 2.0.0" 30
wait_for "up to date at 2.0.0" 60

echo "== relaunch: 2.0.0 stays"
stop
start
wait_for "current 2.0.0" 60
wait_for "running 2.0.0 ready" 60

echo "== publish 3.0.0 (never ready) and relaunch: it is rolled back to 2.0.0"
"$AIRLOCK" channel set production --repo "$E/repo" --app-id "$APP_ID" --key "$E/keys/publisher.signing.key" --release 2
stop
start
wait_for "downloaded 3.0.0" 120
wait_for "running 3.0.0 (broken" 60
wait_for "rolled back from 3.0.0" 90
wait_for "up to date at 2.0.0" 60
echo "drive: download → set → reload → relaunch → rollback all seen on $PLATFORM"
