#!/bin/sh
# Installs the pinned Baileys (tests/interop/package-lock.json) into the build
# tree with `npm ci`, caching downloads inside the build tree too, so interop
# runs are reproducible and never touch the source tree or $HOME.
# usage: setup-node.sh SOURCE_DIR DEST_DIR STAMP
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
node -e "const p=require('./node_modules/baileys/package.json'); if (p.version !== '7.0.0-rc14') { console.error('baileys version', p.version); process.exit(1) }"
touch "$stamp"
