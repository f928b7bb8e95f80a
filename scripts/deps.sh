#!/bin/sh
# Install the Debian packages switchboard needs to build and test, if any is missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -e
PKGS="meson ninja-build pkg-config gcc clang libclang-rt-14-dev \
libevent-dev libsodium-dev libsqlite3-dev libssl-dev libinih-dev libcmocka-dev libreadline-dev libexpat1-dev libjansson-dev libunistring-dev \
python3 python3-pytest netcat-openbsd socat sqlite3 tmux nginx openssl php-cli python3-irc irssi weechat-headless"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "switchboard: missing build dependencies; run as root:" >&2
    echo "  apt-get update && $cmd" >&2
    exit 1
fi
echo "switchboard: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
$cmd
