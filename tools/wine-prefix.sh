#!/bin/sh
# Prepares a Wine prefix for running wspharness headless (CI, ssh sessions, containers):
#   tools/wine-prefix.sh [PREFIX]      (default: $WINEPREFIX, else build-win/wineprefix)
# - creates the prefix if it does not exist yet (6-9 s the first time);
# - selects Wine's null graphics driver, so a provider can create its hidden window (the one many
#   LSPs use for WSPAsyncSelect) without a display;
# - makes a crashing process end at once instead of starting winedbg, which would wait forever.
# It runs once per prefix (a marker file remembers it) and is safe to run again.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-${WINEPREFIX:-$root/build-win/wineprefix}}
marker=$prefix/.wspharness-headless
export WINEPREFIX="$prefix"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"

[ -f "$marker" ] && exit 0
command -v wine >/dev/null 2>&1 || { echo "wine-prefix: wine is not installed (make setup-win)" >&2; exit 1; }
mkdir -p "$prefix"
wine cmd /c exit >/dev/null 2>&1 || true
wine reg add 'HKCU\Software\Wine\Drivers' /v Graphics /d null /f >/dev/null 2>&1
wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Debugger \
    /d 'C:\windows\system32\cmd.exe /c exit' /f >/dev/null 2>&1
wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Auto /d 1 /f \
    >/dev/null 2>&1
# the registry is written when the server exits
wineserver -w
touch "$marker"
echo "wine-prefix: $prefix is ready (headless: null graphics driver, no debugger on crashes)"
