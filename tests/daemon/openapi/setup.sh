#!/bin/sh
# Installs the OpenAPI contract test's validators (package-lock.json here)
# into the build tree with `npm ci`, downloads cached in the build tree too:
# reproducible, and nothing in the source tree or $HOME.
# usage: setup.sh SOURCE_DIR DEST_DIR STAMP
set -eu
src=$1 dest=$2 stamp=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
mkdir -p "$dest"
if [ -f "$stamp" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dest/"
cd "$dest"
npm ci --no-audit --no-fund --loglevel=error --cache "$dest/.npm-cache" >npm-ci.log 2>&1 || {
  cat npm-ci.log >&2
  exit 1
}
touch "$stamp"
