#!/bin/bash
# test_node_tls.sh - RESP over TLS on --tls-port, as Redis does it.  Makes a
# throw-away TLS CA, a server certificate for 127.0.0.1, a client
# certificate from that CA and one from a foreign CA (openssl); starts
# groved with --tls-port, --tls-cert-file, --tls-key-file,
# --tls-ca-cert-file (client certificates required, Redis's default) and a
# password.  Checks: redis-cli --tls with the client certificate SETs and
# GETs (AUTH inside TLS); a Python client with ssl (Debian's python3) does
# too; without a client certificate, with the foreign one, and against an
# untrusted server the handshake is refused with a clear error on both
# sides (groved logs the reason); the plain port still works; the grove CLI
# with --tls and its file options; SIGHUP reloads the TLS certificate (new
# connections get it, an open one keeps its own; a bad file is refused and
# the running one stays); a config file
# with the tls-* keys works the same; a bad key file is refused at start
# naming the flag.
source "$(dirname "$0")/node_lib.sh"
command -v openssl >/dev/null || { fail "openssl missing: run make deps"; finish; }
PY=/usr/bin/python3

T=$SCRATCH/tls
mkdir -p "$T"
mk() { openssl "$@" >>"$T/openssl.log" 2>&1 || { fail "openssl $1"; finish; }; }
# ca NAME: a self-signed CA; leaf NAME CA SUBJ [EXT]: a key and a certificate signed by CA
ca() { mk req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.crt"; }
leaf() {
	mk req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$3" -keyout "$T/$1.key" -out "$T/$1.csr"
	printf '%s\n' "${4:-basicConstraints=CA:FALSE}" >"$T/$1.ext"
	mk x509 -req -in "$T/$1.csr" -CA "$T/$2.crt" -CAkey "$T/$2.key" -CAcreateserial -days 2 \
		-extfile "$T/$1.ext" -out "$T/$1.crt"
}
ca ca
ca evilca
leaf server ca 127.0.0.1 "subjectAltName=IP:127.0.0.1"
leaf client ca grove-client
leaf evil evilca evil-client

P=$PORT_BASE
TP=$((PORT_BASE + 2))
PASS='tls pass #1'
AUTH_ARGS=(--no-auth-warning -a "$PASS")
start_node a n1 "$P" --requirepass "$PASS" --tls-port "$TP" --tls-cert-file "$T/server.crt" \
	--tls-key-file "$T/server.key" --tls-ca-cert-file "$T/ca.crt" || finish
LOG=$SCRATCH/a.log
grep -q "(TLS on port $TP)" "$LOG" && pass "ready line names the TLS port" || fail "no TLS port in: $(grep ready "$LOG")"

tcli() { timeout 10 redis-cli -p "$TP" --tls --cacert "$T/ca.crt" --no-auth-warning -a "$PASS" "$@" 2>&1; }
expect_eq "redis-cli --tls SET" "$(tcli --cert "$T/client.crt" --key "$T/client.key" SET tls:k 'secret value')" OK
expect_eq "redis-cli --tls GET" "$(tcli --cert "$T/client.crt" --key "$T/client.key" GET tls:k)" "secret value"
expect_eq "plain port still serves" "$(redis-cli -p "$P" "${AUTH_ARGS[@]}" GET tls:k)" "secret value"

out=$(tcli GET tls:k)
expect_match "no client certificate: redis-cli refused" "$out" "(certificate required|alert|handshake|SSL|I/O error|Connection reset)"
out=$(tcli --cert "$T/evil.crt" --key "$T/evil.key" GET tls:k)
expect_match "foreign client certificate: redis-cli refused" "$out" "(unknown ca|alert|SSL|I/O error|Connection reset)"
[[ $out != *"secret value"* ]] && pass "foreign certificate read nothing" || fail "foreign certificate read the value"
out=$(timeout 10 redis-cli -p "$TP" --tls --cacert "$T/evilca.crt" --cert "$T/client.crt" --key "$T/client.key" \
	--no-auth-warning -a "$PASS" GET tls:k 2>&1)
expect_match "untrusted server: redis-cli refuses it" "$out" "certificate verify failed"
deadline=$((SECONDS + 10))
until grep -q "TLS handshake refused: .*certificate" "$LOG" || ((SECONDS > deadline)); do sleep 0.05; done
expect_match "groved logs the refused handshake with its reason" \
	"$(grep -m1 'TLS handshake refused' "$LOG")" "WARN n1 client 127\.0\.0\.1:[0-9]+ \(TLS port\): TLS handshake refused: .*certificate"

# Python with ssl (Debian's interpreter: its ssl module and python3-redis)
cat >"$T/client.py" <<'PY'
import socket, ssl, sys
port, ca, cert, key, pw = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
if cert != "-":
    ctx.load_cert_chain(cert, key)
def cmd(*a):
    return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in (s.encode() for s in a))
try:
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(cmd("AUTH", pw) + cmd("SET", "py:k", "from python") + cmd("GET", "py:k"))
            buf = b""
            while buf.count(b"\r\n") < 4:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
            print(s.version(), buf.decode().replace("\r\n", " ").strip())
except (ssl.SSLError, ConnectionError, OSError) as e:
    print("refused:", e)
PY
expect_match "python ssl client" "$($PY "$T/client.py" "$TP" "$T/ca.crt" "$T/client.crt" "$T/client.key" "$PASS")" \
	"^TLSv1\.[23] \+OK \+OK \\\$11 from python$"
expect_match "python without a client certificate is refused" \
	"$($PY "$T/client.py" "$TP" "$T/ca.crt" - - "$PASS")" "refused: .*(CERTIFICATE_REQUIRED|certificate required|EOF|reset)"
cat >"$T/redispy.py" <<'PY'
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), password=sys.argv[5], ssl=True,
                ssl_ca_certs=sys.argv[2], ssl_certfile=sys.argv[3], ssl_keyfile=sys.argv[4])
r.set("py:redis", "via redis-py")
print(r.get("py:redis").decode())
PY
expect_eq "redis-py with ssl=True" "$($PY "$T/redispy.py" "$TP" "$T/ca.crt" "$T/client.crt" "$T/client.key" "$PASS" 2>&1)" "via redis-py"

# The grove CLI over TLS (groved's --tls-* option names).
gcli() { GROVE_PASSWORD=$PASS timeout 10 "$GROVE" --node "127.0.0.1:$TP" "$@" 2>&1; }
gtls=(--tls --tls-ca-cert-file "$T/ca.crt" --tls-cert-file "$T/client.crt" --tls-key-file "$T/client.key")
expect_eq "grove --tls set" "$(gcli "${gtls[@]}" set cli:k 'over tls')" OK
expect_eq "grove --tls get (options after the command)" "$(gcli get cli:k "${gtls[@]}")" "over tls"
expect_match "grove --tls members" "$(gcli "${gtls[@]}" members)" "n1 +127\.0\.0\.1:$((P + 1000)) +alive"
expect_eq "grove --tls-ca short form" "$(gcli --tls-ca "$T/ca.crt" --tls-cert "$T/client.crt" --tls-key "$T/client.key" get cli:k)" "over tls"
out=$(gcli --tls --tls-ca-cert-file "$T/ca.crt" get cli:k)
expect_match "grove without a client certificate: refused, saying why" "$out" "certificate required"
out=$(gcli --tls --tls-ca-cert-file "$T/evilca.crt" --tls-cert-file "$T/client.crt" --tls-key-file "$T/client.key" get cli:k)
expect_match "grove against an untrusted server: refused, saying why" "$out" "certificate verify failed"
out=$(GROVE_PASSWORD=$PASS timeout 10 "$GROVE" --node "127.0.0.1:$P" "${gtls[@]}" get cli:k 2>&1)
expect_match "grove --tls on the plain port: refused" "$out" "TLS handshake with 127\.0\.0\.1 refused"

# SIGHUP reloads the TLS certificate: new connections get the new one, an
# open connection keeps its own and goes on working.
cat >"$T/hold.py" <<'PY'
import hashlib, os, socket, ssl, sys, time
port, ca, cert, key, pw, go = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
def fp(s):
    return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()[:16]
with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        print("before", fp(s), flush=True)
        deadline = time.time() + 20
        while not os.path.exists(go) and time.time() < deadline:
            time.sleep(0.05)
        s.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(pw), pw.encode()))
        buf = b""
        while buf.count(b"\r\n") < 2:
            d = s.recv(100)
            if not d:
                break
            buf += d
        print("after", fp(s), buf.decode().replace("\r\n", " ").strip(), flush=True)
PY
peer_fp() {
	timeout 10 openssl s_client -connect "127.0.0.1:$TP" -CAfile "$T/ca.crt" -cert "$T/client.crt" -key "$T/client.key" \
		</dev/null 2>/dev/null | openssl x509 -outform DER 2>/dev/null | sha256sum | cut -c1-16
}
old_fp=$(openssl x509 -in "$T/server.crt" -outform DER | sha256sum | cut -c1-16)
expect_eq "a new connection gets the first certificate" "$(peer_fp)" "$old_fp"
$PY "$T/hold.py" "$TP" "$T/ca.crt" "$T/client.crt" "$T/client.key" "$PASS" "$T/go" >"$T/hold.out" 2>&1 &
HOLD=$!
wait_for 10 grep -q before "$T/hold.out"
leaf server2 ca 127.0.0.1 "subjectAltName=IP:127.0.0.1"
new_fp=$(openssl x509 -in "$T/server2.crt" -outform DER | sha256sum | cut -c1-16)
cp "$T/server2.crt" "$T/server.crt" && cp "$T/server2.key" "$T/server.key"
kill -HUP "$NODE_PID"
wait_for 10 grep -q "TLS certificate reloaded" "$LOG"
expect_match "SIGHUP: groved logs the TLS reload" "$(grep 'TLS certificate' "$LOG")" "INFO n1 SIGHUP: TLS certificate reloaded"
expect_eq "after SIGHUP a new connection gets the new certificate" "$(peer_fp)" "$new_fp"
touch "$T/go"
wait "$HOLD"
expect_eq "the connection opened before SIGHUP still works, on the old certificate" "$(cat "$T/hold.out" | paste -sd' ')" \
	"before $old_fp after $old_fp +OK +PONG"
expect_eq "grove --tls after the reload" "$(gcli "${gtls[@]}" get cli:k)" "over tls"
printf 'not a key\n' >"$T/server.key"
kill -HUP "$NODE_PID"
wait_for 10 grep -q "TLS certificate not reloaded" "$LOG"
expect_match "a bad key on SIGHUP: ERROR, the running certificate stays" "$(grep 'TLS certificate not' "$LOG")" \
	"ERROR n1 SIGHUP: TLS certificate not reloaded: --tls-cert-file|--tls-key-file"
expect_eq "still serving the reloaded certificate" "$(peer_fp)" "$new_fp"
cp "$T/server2.key" "$T/server.key"

stop_node "$NODE_PID"
expect_eq "clean stop with TLS clients served" "$STOP_RC" 0

# the same from a config file, client certificates optional
cat >"$SCRATCH/tls.conf" <<EOF2
requirepass = "$PASS"
tls-port = $TP
tls-cert-file = $T/server.crt
tls-key-file = $T/server.key
tls-ca-cert-file = $T/ca.crt
tls-auth-clients = optional
EOF2
start_node a n1 "$P" --config "$SCRATCH/tls.conf" || finish
expect_eq "config file: TLS without a client certificate (optional)" "$(tcli GET tls:k)" "secret value"
stop_node "$NODE_PID"

"$GROVED" --id n1 --data "$SCRATCH/a" --client "127.0.0.1:$P" --gossip "127.0.0.1:$((P + 1000))" \
	--tls-port "$TP" --tls-cert-file "$T/server.crt" --tls-key-file "$T/evil.key" --tls-auth-clients no \
	>"$SCRATCH/bad.out" 2>&1
rc=$?
expect_eq "mismatched key: exit status" "$rc" 1
expect_match "mismatched key: the message names the flags" "$(cat "$SCRATCH/bad.out")" \
	"--tls-key-file .*evil.key does not match --tls-cert-file"
finish
