#!/bin/sh
# trunk's pre_build hook (Trunk.toml): is the pinned wasm-bindgen (and, for
# release builds, wasm-opt) where trunk looks? Without this, a missing tool
# makes trunk try a download from GitHub and fail with a message that does
# not say how this project installs it.
#
# usage: trunk-tools.sh <wasm-bindgen version> <wasm-opt version, e.g. version_132>
set -u
bindgen_version=$1
opt_version=$2

# trunk's cache folder (the `directories` crate's cache dir for trunk).
if [ "$(uname -s)" = Darwin ]; then
    cache="$HOME/Library/Caches/dev.trunkrs.trunk"
else
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/trunk"
fi

# trunk takes a tool from its cache, or from PATH if `--version` matches.
on_path() { # <tool> <version> <how to read the version from `--version`>
    command -v "$1" >/dev/null 2>&1 || return 1
    [ "$("$1" --version 2>/dev/null | awk "$3")" = "$2" ]
}

missing=""
if [ ! -x "$cache/wasm-bindgen-$bindgen_version/wasm-bindgen" ] &&
    ! on_path wasm-bindgen "$bindgen_version" '{print $2}'; then
    missing="wasm-bindgen $bindgen_version"
fi
if [ "${TRUNK_PROFILE:-debug}" = release ] &&
    [ ! -x "$cache/wasm-opt-$opt_version/bin/wasm-opt" ] &&
    ! on_path wasm-opt "$opt_version" '{print "version_" $3}'; then
    missing="${missing:+$missing and }wasm-opt $opt_version"
fi
if [ -n "$missing" ]; then
    echo "error: $missing not set up for trunk (looked in $cache and on PATH)." >&2
    echo "error: run \`cargo xtask setup\` once: it installs the project's pinned tools and links them into trunk's cache." >&2
    exit 1
fi
