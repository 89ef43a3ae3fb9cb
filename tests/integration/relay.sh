#!/bin/bash
# SPDX-License-Identifier: MIT
#
# relay.sh: the real meshrelay binary on the loopback of a namespace of its own, serving HTTPS with
# a certificate made here by openssl. Debian's `stun` client (RFC 3489, nobody here wrote it) gets
# its own address and port back from our STUN server; mesh_relay_tool clients prove forwarding by
# node key over TLS, the PeerGone notice for an unknown key, and that a client trusting another
# CA is refused with a clear error; SIGTERM tells connected clients the relay is restarting and
# exits 0. Needs root for the namespace (exit 77 otherwise).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_TEST_NAME=${NS_TEST_NAME:-relay}
# shellcheck source=../lib/netns.sh
. "${MESH_SOURCE_DIR:-$here/../..}/tests/lib/netns.sh"

BUILD=${MESH_BUILD_DIR:-$here/../../build}
RELAY=$BUILD/src/relay/meshrelay
TOOL=$BUILD/tests/integration/mesh_relay_tool
PORT=8443
SPORT=3478
SRCPORT=40000
URL=https://127.0.0.1:$PORT

ns_require_root
ns_require_cmd openssl stun ss socat curl
[[ -x $RELAY && -x $TOOL ]] || ns_fail "build meshrelay and mesh_relay_tool first ($BUILD)"

# --- certificates: a CA, the relay's certificate for relay.test, and an unrelated CA ---
cd "$NS_TMP"
mkcert()
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1" -keyout "$1.key" -out "$1.pem"
}
ns_assert "openssl makes a CA" mkcert test-ca
ns_assert "openssl makes an unrelated CA" mkcert other-ca
printf '%s\n' "subjectAltName=DNS:relay.test" "basicConstraints=CA:FALSE" \
	"keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" >relay.ext
ns_assert "openssl makes the relay's key and request" \
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=relay.test \
	-keyout relay.key -out relay.csr
ns_assert "the CA signs the relay certificate" \
	openssl x509 -req -in relay.csr -CA test-ca.pem -CAkey test-ca.key -CAcreateserial \
	-days 2 -extfile relay.ext -out relay.pem

# --- the relay ---
ns_host relay
ns_start relay "$NS_TMP/meshrelay.log" "$RELAY" --listen "127.0.0.1:$PORT" \
	--tls-cert relay.pem --tls-key relay.key --stun-listen "127.0.0.1:$SPORT" --verbose
RELAY_PID=$NS_PID
ns_wait 5 ns_listening relay tcp "$PORT"
ns_wait 5 ns_listening relay udp "$SPORT"
ns_pass "meshrelay listens on tcp/$PORT (TLS) and udp/$SPORT (STUN)"
ns_assert "meshrelay logs where it listens" grep -q "relay listening on 127.0.0.1:$PORT (https)" \
	meshrelay.log
ns_assert_fails "a certificate that does not exist is a configuration error" \
	ns_exec relay "$RELAY" --listen 127.0.0.1:0 --tls-cert nothere.pem --tls-key relay.key \
	--stun-listen 127.0.0.1:0
rc=0
ns_exec relay "$RELAY" --listen 127.0.0.1:0 --tls-cert nothere.pem --tls-key relay.key \
	--stun-listen 127.0.0.1:0 >/dev/null 2>&1 || rc=$?
ns_assert_eq "... with exit status 78" "$rc" 78
rc=0
ns_exec relay "$RELAY" --listen 127.0.0.1:0 >/dev/null 2>&1 || rc=$?
ns_assert_eq "missing --stun-listen is a usage error (2)" "$rc" 2

# --- STUN: Debian's classic client gets its own address back ---
stun_out=$(ns_exec relay stun "127.0.0.1:$SPORT" 1 -v -p "$SRCPORT" 2>&1 || true)
ns_assert_match "stun(1) reports the mapped address 127.0.0.1:$SRCPORT" "$stun_out" \
	"MappedAddress = 127\.0\.0\.1:$SRCPORT"

# --- forwarding over TLS ---
gone()
{
	! ns_alive "$1"
}

tool()
{
	ns_exec relay "$TOOL" "$@"
}
KEY_A=$(tool genkey)
KEY_B=$(tool genkey)
PUB_A=$(tool pubkey "$KEY_A")
PUB_B=$(tool pubkey "$KEY_B")
NOBODY=$(tool pubkey "$(tool genkey)")
ns_assert_match "keys are 64 hex digits" "$PUB_A" '^[0-9a-f]{64}$'
ns_assert_ne "two keys differ" "$PUB_A" "$PUB_B"
TLS=(--url "$URL" --ca test-ca.pem --server-name relay.test --timeout 10)

ns_start relay "$NS_TMP/b.out" "$TOOL" listen "${TLS[@]}" --key "$KEY_B" --count 2
B_PID=$NS_PID
ns_wait 5 grep -q '^connected$' b.out
ns_pass "B connects over TLS and proves its key"
ns_assert "A sends a message to B's key" \
	tool send "${TLS[@]}" --key "$KEY_A" --to "$PUB_B" --message "hello through the relay"
ns_assert "A sends a second one" \
	tool send "${TLS[@]}" --key "$KEY_A" --to "$PUB_B" --message "and a second"
ns_wait 5 grep -q "^from $PUB_A: and a second$" b.out
ns_assert "B got the first message, from A's key" \
	grep -qx "from $PUB_A: hello through the relay" b.out
ns_wait 5 gone "$B_PID"
rc=0
wait "$B_PID" || rc=$?
ns_assert_eq "B exits 0 after its two messages" "$rc" 0

out=$(tool send "${TLS[@]}" --key "$KEY_A" --to "$NOBODY" --message x --expect-gone)
ns_assert_match "sending to an unknown key brings PeerGone(not here)" "$out" \
	"peer gone: $NOBODY not here"

# --- a client that trusts another CA is refused, and says why ---
rc=0
err=$(tool send --url "$URL" --ca other-ca.pem --server-name relay.test --timeout 10 \
	--key "$KEY_A" --to "$PUB_B" --message x 2>&1) || rc=$?
ns_assert_eq "a client trusting another CA fails" "$rc" 1
ns_assert_match "... with a clear error" "$err" "^error: .*[Cc]ertificate"
ns_info "$err"
rc=0
err=$(tool send --url "$URL" --ca test-ca.pem --server-name wrong.test --timeout 10 \
	--key "$KEY_A" --to "$PUB_B" --message x 2>&1) || rc=$?
ns_assert_eq "a certificate for another name fails" "$rc" 1
ns_assert_match "... with a clear error" "$err" "^error: .*[Cc]ertificate"
ns_info "$err"

# --- /health ---
health=$(ns_exec relay curl -sS --cacert test-ca.pem \
	--resolve "relay.test:$PORT:127.0.0.1" "https://relay.test:$PORT/health")
ns_assert_match "/health answers" "$health" '^ok clients=[0-9]+ connections=[0-9]+$'

# --- --verify-url: a verifier (socat + bash) that admits A's key only; then none at all ---
cat >verifier.sh <<'VERIFIER'
#!/bin/bash
# One HTTP request on stdin: log its body, allow only the node key in $ALLOW.
len=0
while IFS= read -r line; do
	line=${line%$'\r'}
	[[ -z $line ]] && break
	if [[ ${line,,} =~ ^content-length:\ *([0-9]+)$ ]]; then
		len=${BASH_REMATCH[1]}
	fi
done
body=$(head -c "$len")
printf '%s\n' "$body" >>verify.log
ans='{"allow": false}'
[[ $body == *"\"nodekey:$ALLOW\""* ]] && ans='{"allow": true}'
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n' "${#ans}"
printf 'Connection: close\r\n\r\n%s' "$ans"
VERIFIER
ns_start relay "$NS_TMP/verifier.log" env ALLOW="$PUB_A" socat \
	TCP-LISTEN:9000,bind=127.0.0.1,fork,reuseaddr SYSTEM:"bash $NS_TMP/verifier.sh"
VERIFIER_PID=$NS_PID
ns_wait 5 ns_listening relay tcp 9000
ns_start relay "$NS_TMP/vrelay.log" "$RELAY" --listen 127.0.0.1:8081 \
	--stun-listen 127.0.0.1:3479 --verify-url http://127.0.0.1:9000/verify
ns_wait 5 ns_listening relay tcp 8081
PLAIN=(--url http://127.0.0.1:8081 --timeout 10)
ns_start relay "$NS_TMP/va.out" "$TOOL" listen "${PLAIN[@]}" --key "$KEY_A" --count 1
VA_PID=$NS_PID
ns_wait 5 grep -q '^connected$' va.out
ns_pass "the verifier admits A"
ns_assert "the relay asked about A's key and said where it came from" \
	grep -q "\"node_key\":\"nodekey:$PUB_A\",\"source\":\"127.0.0.1:[0-9]*\"" verify.log
rc=0
err=$(tool send "${PLAIN[@]}" --key "$KEY_B" --to "$PUB_A" --message x 2>&1) || rc=$?
ns_assert_eq "the verifier refuses B" "$rc" 1
ns_assert_match "... and B is told why" "$err" \
	"^error: refused by the relay: this relay does not serve this node key"
ns_stop "$VERIFIER_PID"
rc=0
err=$(tool send "${PLAIN[@]}" --key "$KEY_A" --to "$PUB_B" --message x 2>&1) || rc=$?
ns_assert_eq "with the verifier down even A is refused (fail closed)" "$rc" 1
ns_assert "... and the relay logged why" grep -q "verify request failed, refusing" vrelay.log
ns_assert "A's admitted connection stays up without the verifier" ns_alive "$VA_PID"
ns_stop "$VA_PID"

# --- SIGTERM: connected clients hear "restarting", the relay exits 0 ---
ns_start relay "$NS_TMP/c.out" "$TOOL" listen "${TLS[@]}" --key "$KEY_B"
C_PID=$NS_PID
ns_wait 5 grep -q '^connected$' c.out
kill -TERM "$RELAY_PID"
ns_wait 5 gone "$C_PID"
ns_assert "the client was told the relay is restarting" \
	grep -q "error: the relay is restarting" c.out
ns_wait 5 gone "$RELAY_PID"
rc=0
wait "$RELAY_PID" || rc=$?
ns_assert_eq "meshrelay exits 0 on SIGTERM" "$rc" 0
ns_assert "meshrelay logged its shutdown" grep -q "shutting down" meshrelay.log

ns_done
