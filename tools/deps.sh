#!/usr/bin/env bash
# Installs the Debian packages nnrun needs when any is missing (as root), or says what to install.
set -eu
pkgs="make gcc pkg-config libyaml-dev libopenblas-dev libcriterion-dev zlib1g-dev valgrind libpng-dev dataset-fashion-mnist"
need=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
command -v npm >/dev/null 2>&1 || need="$need npm"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "deps: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $need >/dev/null
else
    echo "deps: missing Debian packages:$need" >&2
    echo "deps: run: sudo apt-get install -y$need" >&2
    exit 1
fi
