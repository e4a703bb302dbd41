#!/bin/sh
# Install the Debian packages promo needs, only those missing (idempotent).
# apt-get update runs only when something must be installed.
set -e
PKGS="build-essential pkg-config libsqlite3-dev libxgboost-dev libopenblas-dev liblapacke-dev
libgsl-dev libmicrohttpd-dev libcjson-dev valgrind cppcheck clang-14 libclang-rt-14-dev
gnuplot-nox python3-pandas python3-sklearn python3-xgboost
wrk"
# The web page's build and browser test: Debian's chromium, and Debian's nodejs and npm unless
# a node and npm are already on the PATH (another Node.js install would conflict with them).
PKGS="$PKGS chromium"
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
echo "make deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
