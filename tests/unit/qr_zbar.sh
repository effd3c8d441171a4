#!/bin/sh
# Our QR PNGs decoded by ZBar (zbarimg), an implementation we did not write:
# every image must decode to exactly the string it encodes.
# usage: qr_zbar.sh QR_PNG_GEN ZBARIMG COUNT
set -eu
gen=$1 zbar=$2 count=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$gen" "$dir" "$count"
fail=0 i=0
while [ "$i" -lt "$count" ]; do
  got=$("$zbar" -q --raw "$dir/$i.png" 2>/dev/null || true)
  if [ "$got" != "$(cat "$dir/$i.txt")" ]; then
    echo "case $i: zbarimg read '$got'" >&2
    fail=$((fail + 1))
  fi
  i=$((i + 1))
done
echo "qr_zbar: $count images, $fail failures"
[ "$fail" -eq 0 ]
