#!/usr/bin/env bash
# The release matrix, proven as far as this machine can go without GitHub's runners.
#
#   scripts/release-check.sh                every target this machine can build, and the
#                                           installer
#   scripts/release-check.sh --unoptimised  the same, built unoptimised: it proves that each
#                                           target builds, links and runs in a fraction of the
#                                           time (sizes are reported, not held to the budget)
#   scripts/release-check.sh --fast         what .ci/run checks, unoptimised: dist plan and
#                                           generate --check, the musl archive built by dist
#                                           and run, and the installer
#
# It installs what it needs (rustup targets, Debian packages, dist and cargo-zigbuild from
# PyPI), builds each target, runs every binary that can run here (natively, under
# qemu-aarch64 or under wine) on the same smoke test, serves dist's archive and shell
# installer from a loopback HTTP server and installs from them into a temporary home.
# It prints a table of target, built, ran, size and notes (docs/release.md holds the last
# one) and exits non-zero if anything that should work here did not.
#
# RELEASE_CHECK_PROFILE chooses the cargo profile (default: dist, what releases ship).
set -euo pipefail
cd "$(dirname "$0")/.."

fast=0
unoptimised=0
case "${1:-}" in
  --fast) fast=1 unoptimised=1 ;;
  --unoptimised) unoptimised=1 ;;
  "") ;;
  *) echo "usage: $0 [--fast | --unoptimised]" >&2; exit 2 ;;
esac

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gantry/target}"
profile="${RELEASE_CHECK_PROFILE:-dist}"
built_as="$profile profile"
max_bytes=$((40 * 1024 * 1024))
# A full build for another target costs a CI most of its time at release settings;
# unoptimised, it still proves the target builds, links (statically for musl) and runs.
unoptimised_profile=(CARGO_PROFILE_DIST_OPT_LEVEL=0 CARGO_PROFILE_DIST_LTO=false
  CARGO_PROFILE_DIST_CODEGEN_UNITS=256 CARGO_PROFILE_DIST_BUILD_OVERRIDE_OPT_LEVEL=0)
if [ "$unoptimised" = 1 ]; then
  export "${unoptimised_profile[@]}"
  built_as="dist profile, unoptimised"
  max_bytes=0
fi
work="$CARGO_TARGET_DIR/release-check"
rm -rf "$work"
mkdir -p "$work/logs"
rows=()
failed=0

say() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
row() { rows+=("| \`$1\` | $2 | $3 | $4 | $5 |"); }
fail() { failed=1; echo "FAILED: $*" >&2; }
size_of() { stat -c %s "$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
# The last meaningful line of a build log, for the table.
last_error() { grep -E '^(error|  = note|  *= note)|error:' "$1" | tail -1 | tr '|' '/' | cut -c1-160; }

say "tools"
targets=(x86_64-unknown-linux-musl)
packages=(musl-tools xz-utils curl file)
if [ "$fast" = 0 ]; then
  targets+=(aarch64-unknown-linux-gnu x86_64-pc-windows-gnu x86_64-apple-darwin aarch64-apple-darwin)
  packages+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user mingw-w64 wine)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
rustup target add "${targets[@]}" >/dev/null
python3 -m pip install --quiet --disable-pip-version-check astral-dev-toolchain-cargo-dist==0.33.0
if [ "$fast" = 0 ]; then
  python3 -m pip install --quiet --disable-pip-version-check cargo-zigbuild ziglang
fi
dist --version

say "dist plan and generate --check"
dist plan >"$work/logs/plan.log"
grep -c '\[bin\] gantry' "$work/logs/plan.log" | xargs -I{} echo "dist plans {} archives"
dist generate --check

# The smoke test every binary that runs here passes: version, completions, a sandboxed
# plugin, and a forecast by the embedded precompiled guest. "$@" runs gantry.
smoke() {
  local home
  home=$(mktemp -d)
  local status=0
  (
    export HOME="$home" XDG_CACHE_HOME="$home/cache" XDG_DATA_HOME="$home/data" \
      XDG_CONFIG_HOME="$home/config" WINEPREFIX="$home/wine" WINEDEBUG=-all
    set -e
    "$@" --version | grep -q '^gantry '
    "$@" version | grep -q '^target: '
    "$@" completions bash | grep -q 'complete'
    "$@" plugin run hello -- world | grep -q 'Hello, world!'
    "$@" forecast --metrics examples/metrics/requests.csv | grep -q 'p90'
  ) || status=$?
  rm -rf "$home"
  return $status
}

# `target`, `binary`, how it was built, then the command prefix that runs it here (none
# for a native binary).
check_binary() {
  local target=$1 binary=$2 how=$3
  shift 3
  local size notes=""
  size=$(size_of "$binary")
  if [ "$max_bytes" -gt 0 ] && [ "$size" -gt "$max_bytes" ]; then
    fail "$target: $(mib "$size") is over the 40 MiB budget"
    notes="over 40 MiB; "
  fi
  case "$target" in
    *-linux-musl)
      # `ldd` says "statically linked" (static-pie) or "not a dynamic executable".
      if file "$binary" | grep -Eq 'static(-pie)? linked' &&
        ldd "$binary" 2>&1 | grep -Eq 'statically linked|not a dynamic executable'; then
        notes+="static (\`file\`, \`ldd\`); "
      else
        fail "$target: not a static binary: $(file -b "$binary")"
        notes+="NOT static; "
      fi
      ;;
  esac
  local ran
  if smoke "$@" "$binary" >"$work/logs/$target.smoke.log" 2>&1; then
    ran="yes${1:+ (${1##*/})}"
  else
    fail "$target: the smoke test failed (log: $work/logs/$target.smoke.log)"
    ran="FAILED${1:+ (${1##*/})}"
  fi
  row "$target" "$how" "$ran" "$(mib "$size")" "${notes%; }"
}

say "x86_64-unknown-linux-musl: dist build (archive, installers, checksums)"
# dist builds the archive and the installers that point at it in one go, into the
# workspace's target/distrib whatever CARGO_TARGET_DIR says.
distrib="$PWD/target/distrib"
rm -rf "$distrib"
if dist build --artifacts=all --target x86_64-unknown-linux-musl >"$work/logs/dist-build.log" 2>&1; then
  archive="$distrib/gantry-x86_64-unknown-linux-musl.tar.xz"
  mkdir -p "$work/musl"
  tar -xJf "$archive" -C "$work/musl"
  root="$work/musl/gantry-x86_64-unknown-linux-musl"
  for entry in gantry README.md LICENSE completions/gantry.bash completions/_gantry completions/gantry.fish completions/_gantry.ps1 man/gantry.1; do
    [ -e "$root/$entry" ] || fail "the musl archive lacks $entry"
  done
  check_binary x86_64-unknown-linux-musl "$root/gantry" "dist build ($built_as)"
else
  fail "dist build for x86_64-unknown-linux-musl (log: $work/logs/dist-build.log)"
  tail -20 "$work/logs/dist-build.log" >&2
  row x86_64-unknown-linux-musl "FAILED" "no" "-" "$(last_error "$work/logs/dist-build.log")"
fi

say "shell installer against loopback-served artifacts"
installer_test() {
  local srv="$work/srv" port
  mkdir -p "$srv/good" "$srv/tampered"
  # The files dist would upload (not its staging folders).
  find "$distrib" -maxdepth 1 -type f -exec cp {} "$srv/good/" \; -exec cp {} "$srv/tampered/" \;
  # One byte more: the archive no longer matches the checksum the installer carries.
  printf 'x' >>"$srv/tampered/gantry-x86_64-unknown-linux-musl.tar.xz"
  python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$srv" >"$work/logs/http.log" 2>&1 &
  local server=$!
  # shellcheck disable=SC2064
  trap "kill $server 2>/dev/null || true" RETURN
  for _ in $(seq 50); do
    port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$work/logs/http.log" | head -1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { fail "the loopback HTTP server did not start"; return; }

  local home="$work/home"
  mkdir -p "$home"
  if ! HOME="$home" CARGO_HOME="$home/.cargo" GANTRY_NO_MODIFY_PATH=1 \
    GANTRY_DOWNLOAD_URL="http://127.0.0.1:$port/good" sh "$srv/good/gantry-installer.sh" \
    >"$work/logs/installer.log" 2>&1; then
    fail "the shell installer failed (log: $work/logs/installer.log)"
    return
  fi
  if grep -q 'no checksums to verify' "$work/logs/installer.log"; then
    fail "the shell installer verified no checksum"
  fi
  local installed="$home/.cargo/bin/gantry"
  [ -x "$installed" ] || { fail "the installer put no gantry in $home/.cargo/bin"; return; }
  # What the README's Install section tells a user to do next: completions, then use it.
  mkdir -p "$home/.local/share/bash-completion/completions"
  HOME="$home" "$installed" completions bash >"$home/.local/share/bash-completion/completions/gantry"
  if ! HOME="$home" bash -c "source '$home/.local/share/bash-completion/completions/gantry' && complete -p gantry" >/dev/null; then
    fail "the installed gantry's bash completions do not load"
  fi
  if ! smoke "$installed" >"$work/logs/installed.smoke.log" 2>&1; then
    fail "the installed gantry failed the smoke test (log: $work/logs/installed.smoke.log)"
  fi

  local bad="$work/home-tampered"
  mkdir -p "$bad"
  if HOME="$bad" CARGO_HOME="$bad/.cargo" GANTRY_NO_MODIFY_PATH=1 \
    GANTRY_DOWNLOAD_URL="http://127.0.0.1:$port/tampered" sh "$srv/tampered/gantry-installer.sh" \
    >"$work/logs/installer-tampered.log" 2>&1; then
    fail "the installer accepted an archive whose checksum does not match"
  fi
  [ ! -e "$bad/.cargo/bin/gantry" ] || fail "a tampered archive left a gantry installed"
  echo "installer: installed and ran from http://127.0.0.1:$port; a tampered archive was refused"
}
if [ -f "$distrib/gantry-installer.sh" ]; then
  installer_test
else
  fail "dist built no shell installer"
fi

if [ "$fast" = 0 ]; then
  # Cross builds: cargo with the Debian cross linkers, or cargo-zigbuild for macOS.
  cross_build() {
    local target=$1 log="$work/logs/$1.log"
    shift
    say "$target"
    if "$@" --profile "$profile" --target "$target" -p gantry --features precompile-any-target >"$log" 2>&1; then
      return 0
    fi
    tail -20 "$log" >&2
    return 1
  }
  binary_for() { echo "$CARGO_TARGET_DIR/$1/$profile/gantry${2:-}"; }

  host=$(rustc -vV | sed -n 's/^host: //p')
  say "$host"
  if cargo build --profile "$profile" -p gantry --features precompile-any-target >"$work/logs/$host.log" 2>&1; then
    check_binary "$host" "$CARGO_TARGET_DIR/$profile/gantry" "cargo ($built_as)"
  else
    fail "$host did not build"
    row "$host" FAILED no - "$(last_error "$work/logs/$host.log")"
  fi

  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
  export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
  if cross_build aarch64-unknown-linux-gnu cargo build; then
    check_binary aarch64-unknown-linux-gnu "$(binary_for aarch64-unknown-linux-gnu)" "cargo, gcc-aarch64-linux-gnu ($built_as)" \
      qemu-aarch64 -L /usr/aarch64-linux-gnu
  else
    fail "aarch64-unknown-linux-gnu did not build"
    row aarch64-unknown-linux-gnu FAILED no - "$(last_error "$work/logs/aarch64-unknown-linux-gnu.log")"
  fi

  export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
  export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc
  if cross_build x86_64-pc-windows-gnu cargo build; then
    # Debian's wine 8 has no bcryptprimitives.dll, which Rust's standard library loads
    # for random bytes; a stand-in (scripts/wine/) beside a copy of the binary lets it
    # start there. The archive is the binary alone.
    windows="$work/windows"
    mkdir -p "$windows"
    cp "$(binary_for x86_64-pc-windows-gnu .exe)" "$windows/gantry.exe"
    x86_64-w64-mingw32-gcc -shared -O2 -o "$windows/bcryptprimitives.dll" \
      scripts/wine/bcryptprimitives.c -ladvapi32
    check_binary x86_64-pc-windows-gnu "$windows/gantry.exe" "cargo, mingw-w64 ($built_as)" wine
  else
    fail "x86_64-pc-windows-gnu did not build"
    row x86_64-pc-windows-gnu FAILED no - "$(last_error "$work/logs/x86_64-pc-windows-gnu.log")"
  fi

  # Linking for macOS needs Apple's SDK (libobjc and the Foundation, Security and
  # CoreFoundation frameworks), which no Debian or PyPI package provides: everything
  # compiles, and the link stops. Without the SDK, the build is unoptimised: optimising
  # every crate for a link that cannot happen would cost an hour and prove nothing more.
  macos_build=(cargo zigbuild) macos_built_as=$built_as
  if [ -z "${SDKROOT:-}" ] && ! xcrun --sdk macosx --show-sdk-path >/dev/null 2>&1; then
    macos_build=(env "${unoptimised_profile[@]}" cargo zigbuild)
    macos_built_as="dist profile, unoptimised: no SDK here"
  fi
  for target in x86_64-apple-darwin aarch64-apple-darwin; do
    if cross_build "$target" "${macos_build[@]}"; then
      row "$target" "cargo-zigbuild ($macos_built_as)" "no (macOS only)" "$(mib "$(size_of "$(binary_for "$target")")")" ""
    else
      row "$target" "stopped, see notes ($macos_built_as)" "no" "-" \
        "$(grep -m1 -o 'unable to find [^.]*' "$work/logs/$target.log" || last_error "$work/logs/$target.log")"
    fi
  done
fi

say "results"
{
  echo "| target | built | ran here | size (stripped) | notes |"
  echo "| --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
} | tee "$work/table.md"
if [ "$failed" != 0 ]; then
  echo "release check FAILED; logs in $work/logs" >&2
  exit 1
fi
echo "release check passed; logs in $work/logs"
