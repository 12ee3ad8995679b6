#!/usr/bin/env bash
# Issue 12: the gateway behind a real nginx (Debian) that terminates TLS on gw-host and proxies
# the WebSocket upgrade to the gateway on 127.0.0.1, overwriting X-Forwarded-For: the shape of
# Tailscale Serve. gateway.trustedProxies is ["127.0.0.1"]. A node on pi pairs through nginx
# over wss:// pinned to nginx's certificate, is seen as 10.77.0.3 (not local: no silent
# approval) and answers an invoke; laptop locks itself out with wrong tokens through the proxy
# while pi, behind the same proxy, is not locked out; an X-Forwarded-For sent by the client
# (through nginx, or straight to the gateway's LAN listener) does not move it to another address.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PORT=18789
PROXY="wss://$NET_GW_ADDR:443"
DIRECT="ws://$NET_GW_ADDR:$PORT"

command -v nginx >/dev/null || net_fail "nginx is not installed (scripts/test-net.sh installs nginx-light)"
command -v openssl >/dev/null || net_fail "openssl is not installed"
command -v python3 >/dev/null || net_fail "python3 is not installed"

net_up

token="$(net_new_token)"
# --bind lan as well, only so a client can reach the gateway without the proxy (the spoofing
# check at the end); nginx reaches it on 127.0.0.1, the one trusted proxy address. Three wrong
# tokens lock an address out.
net_write_config gw-host "{\"gateway\":{\"bind\":\"lan\",\"port\":$PORT,
  \"auth\":{\"mode\":\"token\",\"token\":\"$token\",\"rateLimit\":{\"maxAttempts\":3}},
  \"trustedProxies\":[\"127.0.0.1\"]}}"
net_gateway_start gw gw-host

# --- nginx: TLS on 10.77.0.1:443, WebSocket upgrade to the loopback gateway ----------------------
ngx="$NET_DIR/nginx"
mkdir -p "$ngx/tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=gw-host" -addext "subjectAltName=IP:$NET_GW_ADDR" \
  -keyout "$ngx/key.pem" -out "$ngx/cert.pem" 2>/dev/null
pin="$(openssl x509 -in "$ngx/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)"
cat >"$ngx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $ngx/nginx.pid;
events { worker_connections 64; }
http {
  access_log $ngx/access.log;
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  server {
    listen $NET_GW_ADDR:443 ssl;
    ssl_certificate $ngx/cert.pem;
    ssl_certificate_key $ngx/key.pem;
    location / {
      proxy_pass http://127.0.0.1:$PORT;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header Host \$host;
      # Overwrite, never append: whatever the client sent is dropped.
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_read_timeout 3600s;
    }
  }
}
EOF
net_spawn nginx gw-host nginx -p "$ngx/" -c "$ngx/nginx.conf" -e stderr
net_wait_port pi "$NET_GW_ADDR" 443 10
net_say "nginx terminates TLS on $PROXY and proxies to 127.0.0.1:$PORT"

# --- a node on pi pairs through nginx -------------------------------------------------------------
# proxied_request_from_pi DEVICES: through the proxy the gateway saw pi's address (from
# X-Forwarded-For), not nginx's loopback one, so autoApproveLocal (on by default) did not approve
# the request silently.
proxied_request_from_pi() {
  local entry
  entry="$(jq -c '.pending[0]' <<<"$1")"
  net_expect_contains "$entry" "\"$NET_PI_ADDR\"" "the pending request of the proxied node"
  net_expect_not_contains "$entry" "127.0.0.1" "the pending request of the proxied node"
}

net_spawn_clawlet node pi node run --url "$PROXY" --token="$token" --tls-fingerprint "$pin" \
  --display-name proxied
net_pair_by_hand node proxied proxied_request_from_pi
nodes="$(net_clawlet_json gw-host nodes list)"
[ "$(jq -r '.nodes[] | select(.displayName == "proxied") | .remoteIp' <<<"$nodes")" = "$NET_PI_ADDR" ] ||
  net_fail "nodes list: the proxied node's address is not pi's: $nodes"
net_say "pi paired through nginx ($PROXY, pinned), seen as $NET_PI_ADDR, approved by hand; invoke answers"

# --- two clients behind the proxy: lockouts are per client address -------------------------------
# A device-less operator connect with a token; prints the connect response (or the HTTP status).
cat >"$NET_DIR/connect.py" <<'EOF'
import base64, json, os, socket, ssl, struct, sys
url, token, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
scheme, rest = url.split("://", 1)
hostport = rest.split("/", 1)[0]
host, port = hostport.rsplit(":", 1)
sock = socket.create_connection((host, int(port)), timeout=10)
if scheme == "wss":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = ctx.wrap_socket(sock)
key = base64.b64encode(os.urandom(16)).decode()
head = (f"GET / HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
        + "".join(h + "\r\n" for h in extra) + "\r\n")
sock.sendall(head.encode())
f = sock.makefile("rb")
status = f.readline().decode().strip()
if " 101 " not in status + " ":
    print(json.dumps({"http": status}))
    sys.exit(0)
while f.readline() not in (b"\r\n", b""):
    pass
def recv():
    b0, b1 = f.read(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", f.read(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", f.read(8))[0]
    return b0 & 0x0F, f.read(n)
def send(text):
    data, mask = text.encode(), os.urandom(4)
    n = len(data)
    size = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
    sock.sendall(bytes([0x81]) + size + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
recv()  # connect.challenge
send(json.dumps({"type": "req", "id": "c1", "method": "connect", "params": {
    "minProtocol": 4, "maxProtocol": 4, "role": "operator", "scopes": [], "caps": [],
    "client": {"id": "cli", "version": "2026.9.6", "platform": "linux", "mode": "cli"},
    "auth": {"token": token}}}))
while True:
    op, payload = recv()
    if op == 8:
        print(json.dumps({"close": struct.unpack(">H", payload[:2])[0] if payload else None}))
        break
    if op == 1:
        msg = json.loads(payload)
        if msg.get("type") == "res" and msg.get("id") == "c1":
            print(json.dumps(msg))
            break
EOF
# connect HOST URL TOKEN [HEADER...]: prints ok, or the error's details.code.
connect() {
  local out
  out="$(net_run "$1" python3 "$NET_DIR/connect.py" "${@:2}")" || net_fail "connect.py on $1: $out"
  jq -r 'if .ok == true then "ok" else (.error.details.code // tostring) end' <<<"$out"
}

for i in 1 2 3; do
  got="$(connect laptop "$PROXY" wrong-token)"
  [ "$got" = AUTH_TOKEN_MISMATCH ] || net_fail "laptop wrong token #$i through the proxy: $got"
done
got="$(connect laptop "$PROXY" "$token")"
[ "$got" = AUTH_RATE_LIMITED ] || net_fail "laptop is not locked out after 3 wrong tokens: $got"
got="$(connect pi "$PROXY" "$token")"
[ "$got" = ok ] || net_fail "pi, behind the same proxy, is locked out with laptop: $got"
net_say "behind one proxy: laptop locked out after 3 wrong tokens, pi still connects"

# --- forwarding headers from clients do not move them -----------------------------------------------
# Through nginx: it overwrites X-Forwarded-For, so laptop stays laptop (locked).
got="$(connect laptop "$PROXY" "$token" "X-Forwarded-For: 10.77.0.9")"
[ "$got" = AUTH_RATE_LIMITED ] || net_fail "a client X-Forwarded-For through nginx moved laptop: $got"
# Straight to the gateway: laptop is no trusted proxy, so its headers are ignored for addressing.
got="$(connect laptop "$DIRECT" "$token" "X-Forwarded-For: 10.77.0.9" "X-Real-IP: 10.77.0.9")"
[ "$got" = AUTH_RATE_LIMITED ] || net_fail "X-Forwarded-For from an untrusted peer moved laptop: $got"
got="$(connect pi "$DIRECT" "$token")"
[ "$got" = ok ] || net_fail "pi straight to the gateway: $got"
net_say "a client's own X-Forwarded-For (via nginx or direct) does not change its address"
