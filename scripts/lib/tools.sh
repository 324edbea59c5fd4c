# Sourced by scripts/bindings-test and scripts/shells-test: installs the test tools they lack, idempotently, into
# one shared place (same directory, same lock, same marker), so either script can run first and both reuse what
# the other installed. A tool that cannot be had fails the run; nothing is skipped. Installing needs root.
#   TOOLS         ${AIRLOCK_TOOLS:-$HOME/.cache/airlock-tools} (outside the repository: the chroot is ~2.7 GB)
#   KOTLIN_HOME   $TOOLS/kotlin/node_modules/kotlin-compiler   (npm package kotlin-compiler, pinned)
#   JNA_JAR       from Debian's libjna-java
#   SWIFT_ROOT    $TOOLS/swift-chroot                           (Debian 13 minbase + swiftlang 6.0.3)
# The caller defines `die MESSAGE`.

TOOLS=${AIRLOCK_TOOLS:-$HOME/.cache/airlock-tools}
KOTLIN_VERSION=2.4.20
KOTLIN_HOME=$TOOLS/kotlin/node_modules/kotlin-compiler
SWIFT_ROOT=$TOOLS/swift-chroot
# apt waits this long for another apt/dpkg run (an unattended upgrade, a second clone's CI) instead of failing.
APT_LOCK_WAIT=${AIRLOCK_APT_LOCK_WAIT:-900}
APT_OPTS=(-o "DPkg::Lock::Timeout=$APT_LOCK_WAIT" -o "Acquire::Retries=3")

APT_UPDATED=
apt_install() {
  [ "$(id -u)" = 0 ] || die "installing $* needs root (apt-get); install it by hand or run as root"
  command -v apt-get >/dev/null || die "cannot install $*: this is not a Debian-like system (no apt-get)"
  if [ -z "$APT_UPDATED" ]; then
    apt-get "${APT_OPTS[@]}" update -qq || die "apt-get update failed; cannot install $*"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "$@" >/dev/null ||
    die "apt-get install $* failed"
}

install_tools() {
  mkdir -p "$TOOLS"
  # One installer at a time across scripts and clones sharing the cache; swiftc is installed last and is the
  # marker, so a half-built chroot is never reused.
  exec 9>"$TOOLS/.install.lock"
  flock 9
  command -v python3 >/dev/null || apt_install python3
  command -v java >/dev/null || apt_install default-jre-headless
  command -v node >/dev/null || apt_install nodejs
  command -v npm >/dev/null || apt_install npm
  command -v unshare >/dev/null || apt_install util-linux
  dpkg -s libjna-java libjna-jni >/dev/null 2>&1 || apt_install libjna-java libjna-jni
  if ! grep -qs "^$KOTLIN_VERSION" "$KOTLIN_HOME/build.txt"; then
    npm install --prefix "$TOOLS/kotlin" --no-audit --no-fund --loglevel=error "kotlin-compiler@$KOTLIN_VERSION" ||
      die "npm install kotlin-compiler@$KOTLIN_VERSION failed"
  fi
  [ -x "$KOTLIN_HOME/bin/kotlinc" ] || die "kotlinc missing from $KOTLIN_HOME"
  # Swift: Debian 12 has no swiftlang and it needs trixie's libc, so it lives in a trixie chroot.
  if ! [ -x "$SWIFT_ROOT/usr/bin/swiftc" ]; then
    [ "$(id -u)" = 0 ] || die "the Swift chroot needs root (debootstrap, chroot)"
    command -v debootstrap >/dev/null || apt_install debootstrap
    if mountpoint -q "$SWIFT_ROOT/proc"; then umount "$SWIFT_ROOT/proc"; fi
    rm -rf --one-file-system "$SWIFT_ROOT"
    debootstrap --variant=minbase trixie "$SWIFT_ROOT" >/dev/null || die "debootstrap of Debian trixie failed"
    chroot "$SWIFT_ROOT" sh -c "apt-get -o DPkg::Lock::Timeout=$APT_LOCK_WAIT update -qq && \
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=$APT_LOCK_WAIT install -y -qq \
      --no-install-recommends swiftlang libc6-dev && apt-get clean" >"$TOOLS/swift-install.log" 2>&1 ||
      die "installing swiftlang in the trixie chroot failed; see $TOOLS/swift-install.log"
    [ -x "$SWIFT_ROOT/usr/bin/swiftc" ] || die "swiftlang installed no swiftc in $SWIFT_ROOT"
  fi
  flock -u 9
  exec 9>&-
  JNA_JAR=$(dpkg -L libjna-java | grep -m1 '/jna\.jar$') || die "jna.jar not found in libjna-java"
}
