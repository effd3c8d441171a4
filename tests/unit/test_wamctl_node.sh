#!/bin/sh
# End-to-end check of `wamctl node`: JSON -> encode -> decode round-trips,
# the Baileys vector comes out byte-exact, and bad input fails with exit 1
# and a message naming the error code.
# usage: test_wamctl_node.sh PATH/TO/wamctl
set -u
wamctl=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# 1. Worked example A of the protocol notes, byte-exact
ping='{"tag":"iq","attrs":{"id":"59012.31415-1","to":"@s.whatsapp.net","type":"get","xmlns":"w:p"},"content":[{"tag":"ping"}]}'
got=$(printf '%s' "$ping" | "$wamctl" node encode --hex) || fail "encode --hex exited $?"
[ "$got" = "00f80a1908ff8759012b31415a1f11fa000304291657f801f80156" ] || fail "ping encodes as $got"

# 2. raw bytes through a pipe, back to the same JSON (compact form, same order)
msg='{"tag":"message","attrs":{"id":"3EB0C0FFEE","to":"15551234567@s.whatsapp.net","type":"text","participant":"123456789012345:7@lid"},"content":[{"tag":"enc","attrs":{"v":"2","type":"pkmsg"},"content":{"base64":"AQIDBAUGBwgJ"}},{"tag":"body","content":"12.5"},{"tag":"list","content":[]}]}'
got=$(printf '%s' "$msg" | "$wamctl" node encode | "$wamctl" node decode) || fail "encode | decode exited $?"
[ "$got" = "$msg" ] || fail "round trip gave $got"

# 3. decode --hex accepts whitespace and compressed frames
got=$(printf '02 789cfbc13cb7e07f53603c00143e043a\n' | "$wamctl" node decode --hex) || fail "decode compressed exited $?"
[ "$got" = '{"tag":"stream:error","attrs":{"code":"515"}}' ] || fail "compressed frame gave $got"

# 4. errors: exit 1 and the error's name on stderr
printf '{"tag":"iq","attrs":{"id":1}}' | "$wamctl" node encode >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "non-string attribute: exit $rc"
grep -q WA_ETYPE "$tmp/err" || fail "non-string attribute: stderr: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && fail "non-string attribute: wrote to stdout"

printf '{"tag":"iq"' | "$wamctl" node encode >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "truncated JSON: exit $rc"
grep -q WA_EMALFORMED "$tmp/err" || fail "truncated JSON: stderr: $(cat "$tmp/err")"

printf '00f80100' | "$wamctl" node decode --hex >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "F8 01 00: exit $rc"
grep -q WA_ETYPE "$tmp/err" || fail "F8 01 00: stderr: $(cat "$tmp/err")"

printf '00f8011900' | "$wamctl" node decode --hex >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q WA_ETRAILING "$tmp/err" || fail "trailing byte: $(cat "$tmp/err")"

printf 'zz' | "$wamctl" node decode --hex >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] || fail "non-hex input accepted"

# 5. command line
"$wamctl" --help >/dev/null || fail "--help exited $?"
"$wamctl" node --help | grep -q 'wamctl node encode' || fail "node --help"
"$wamctl" node frobnicate >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown subcommand did not exit 2"

if [ $failures -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "wamctl node: all checks passed"
