#!/bin/sh
# The curl commands of a typical Evolution API README, unchanged except for
# the base URL, against wamd over TCP: create an instance, fetch the QR,
# poll connectionState, send a text with the apikey header. Uses the
# TEST-ONLY fake session engine (wamd_fakesession) for the pairing.
set -u
DATA=$(mktemp -d /tmp/wamd-curl-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
APIKEY=readme-test-key-8c2f7e91a4
SERVER="http://127.0.0.1:$PORT"
WAMD_FAKE_DIR=$DATA WAMD_FAKE_AUTOPAIR_MS=1500 "$WAMD_FAKE_BIN" --data "$DATA" --listen "127.0.0.1:$PORT" \
	--api-key "$APIKEY" >"$DATA/log" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$DATA"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -20 "$DATA/log" >&2; exit 1; }
for i in $(seq 1 100); do curl -s "$SERVER/" >/dev/null 2>&1 && break; sleep 0.05; done

out=$(curl -s --request POST \
  --url "$SERVER/instance/create" \
  --header "Content-Type: application/json" \
  --header "apikey: $APIKEY" \
  --data '{
    "instanceName": "minha-instancia",
    "qrcode": true,
    "integration": "WHATSAPP-BAILEYS"
  }')
echo "$out" | grep -q '"instanceName":"minha-instancia"' || fail "create: $out"
echo "$out" | grep -q '"hash":"' || fail "create hash: $out"
echo "$out" | grep -q '"base64":"data:image/png;base64,' || fail "create qrcode: $out"

out=$(curl -s --request GET \
  --url "$SERVER/instance/connect/minha-instancia" \
  --header "apikey: $APIKEY")
echo "$out" | grep -q '"code":"2@' || echo "$out" | grep -q '"state":"open"' || fail "connect: $out"

state=""
for i in $(seq 1 60); do
  out=$(curl -s --request GET \
    --url "$SERVER/instance/connectionState/minha-instancia" \
    --header "apikey: $APIKEY")
  echo "$out" | grep -q '"state":"open"' && { state=open; break; }
  sleep 0.1
done
[ "$state" = open ] || fail "connectionState: $out"

out=$(curl -s -w '\n%{http_code}' --request POST \
  --url "$SERVER/message/sendText/minha-instancia" \
  --header "Content-Type: application/json" \
  --header "apikey: $APIKEY" \
  --data '{
    "number": "5511999999999",
    "text": "Olá, mundo!"
  }')
echo "$out" | tail -1 | grep -q '^201$' || fail "sendText status: $out"
echo "$out" | grep -q '"remoteJid":"5511999999999@s.whatsapp.net"' || fail "sendText record: $out"

out=$(curl -s -w '\n%{http_code}' "$SERVER/instance/fetchInstances")
echo "$out" | tail -1 | grep -q '^401$' || fail "no apikey must be 401: $out"
echo ok
