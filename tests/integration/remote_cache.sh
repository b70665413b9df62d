#!/usr/bin/env bash
# The shared output cache over HTTP (issue 16, item 3), against nginx (WebDAV) on loopback:
#  1. runner A builds and uploads: every entry on the server, each manifest PUT after its
#     wheels (nginx's access log); runner B (a copy of the project at another path, an empty
#     cache) builds nothing: every variant a remote hit, wheels byte-identical, no build log;
#     a collect with a third empty cache takes every entry from the server.
#  2. faults, each a warning naming the URL with its credentials redacted, the build going on
#     locally: the server down (refused), 500s, a stalled server (the timeout fires), a
#     corrupt wheel (refused, rebuilt, not entered), a half entry (wheels without manifest: a
#     miss), read-only mode (no PUT at all).
#  3. the config file: ptbuild.config.json names the cache, the environment wins over it, an
#     unknown key is an error at its file:line:col.
#  4. credentials (user:password in the URL, a bearer token, a netrc) reach the server and
#     appear in no output and no file.
# usage: remote_cache.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" remote
. "$SRC/tests/integration/fixtures/ext_project.sh"
. "$SRC/tests/integration/fixtures/nginx_lib.sh"
start_nginx "$work/nginx" || { echo "FAIL: nginx did not start" >&2; exit 1; }
SECRET=s3cr3t-pw
TOKEN=tok-9f8e7d
export PTBUILD_REMOTE_CACHE_TOKEN=$TOKEN
hostport=${NGINX_URL#http://}
url="http://ptuser:$SECRET@$hostport/out"
shown="http://***@$hostport/out"
all_out=$work/all-output.txt
: >"$all_out"
run() { # CACHE_DIR PROJECT ARGS...: ptbuild with that cache; the output is kept for step 4
	local cache=$1 proj=$2
	shift 2
	PTBUILD_CACHE=$cache "$PTBUILD" -C "$proj" "$@"
}
keep() { printf '%s\n' "$out" >>"$all_out"; }

# ---- fixtures: base, alpha (needs base), beta ----------------------------------------------
for r in base alpha beta; do make_repo $r; done
recipe base v1 '{ "EXT_NAME": "base" }'
recipe alpha v1 '{ "EXT_NAME": "alpha", "EXT_NEEDS": "base" }' '["base"]'
recipe beta v1 '{ "EXT_NAME": "beta" }'
set_file default '["alpha", "beta"]'
expect 0 "lock" -- pt lock
keys=$(pt plan --json | python3 -c 'import json,sys; print(" ".join(v["key"] for v in json.load(sys.stdin)["variants"]))')
key_of() { # RECIPE
	pt plan --json | python3 -c "import json,sys; print([v['key'] for v in json.load(sys.stdin)['variants'] if v['recipe'] == '$1'][0])"
}
kbeta=$(key_of beta)
kbase=$(key_of base)

# ---- 1. runner A uploads, runner B builds nothing ------------------------------------------
ta=$(date +%s.%N)
expect 0 "runner A builds" -- env PTBUILD_REMOTE_CACHE="$url" "$PTBUILD" -C "$p" build -j 2
keep
ta=$(python3 -c "import time; print(f'{time.time() - $ta:.1f}')")
contains "A built all" "3 built, 0 cached"
contains "A uploaded all" "0 remote hits, 3 uploads, 0 failures"
contains "A names the cache redacted" "remote cache $shown"
for k in $keys; do
	[ -f "$NGINX_ROOT/out/$k/manifest.json" ] || fail "no manifest on the server for $k"
	ls "$NGINX_ROOT/out/$k/"*.whl >/dev/null 2>&1 || fail "no wheel on the server for $k"
	# the manifest is the commit marker: its PUT comes after every wheel PUT of the key
	python3 - "$NGINX_LOG" "$k" <<'PY' || fail "manifest of $k not PUT last: $(grep "PUT /out/$k/" "$NGINX_LOG")"
import sys
puts = [l.split()[1] for l in open(sys.argv[1]) if l.startswith("PUT /out/" + sys.argv[2] + "/")]
ok = puts and puts[-1].endswith("/manifest.json") and sum(p.endswith(".whl") for p in puts) >= 1
sys.exit(0 if ok and all(p.endswith(".whl") for p in puts[:-1]) else 1)
PY
done

grep -q "^GET /out/.* \"Bearer $TOKEN\"\$" "$NGINX_LOG" || fail "the bearer token was not sent: $(head -3 "$NGINX_LOG")"

pB=$work/elsewhere/deeper/pB
mkdir -p "$(dirname "$pB")"
cp -a "$p" "$pB" && rm -rf "$pB/build"
tb=$(date +%s.%N)
expect 0 "runner B builds" -- run "$work/cacheB" "$pB" build -j 2 --remote-cache "$url"
keep
tb=$(python3 -c "import time; print(f'{time.time() - $tb:.1f}')")
echo "timing (not checked): runner A ${ta} s, runner B ${tb} s"
contains "B compiled nothing" "0 built, 3 cached"
contains "B: every variant a remote hit" "3 remote hits, 0 uploads, 0 failures"
contains "B's table says remote" "remote"
[ -z "$(ls "$pB/build/logs/"*/*.log 2>/dev/null)" ] || fail "runner B has build logs: $(ls -R "$pB/build/logs")"
for k in $keys; do
	for w in "$work/cache/out/$k/"*.whl; do
		cmp -s "$w" "$work/cacheB/out/$k/$(basename "$w")" || fail "B's $(basename "$w") differs from A's"
	done
done
[ -z "$(ls -d "$work/cacheB/out/"*.tmp-* 2>/dev/null)" ] || fail "temporary entries left in B's cache"
expect 0 "runner B again: its own entries now" -- run "$work/cacheB" "$pB" build --json --remote-cache "$url"
keep
contains "second B run: local hits, no remote lookups" '"status":"cached"'
lacks "second B run: nothing remote" '"remote_hit"'
expect 0 "collect from the remote only" -- run "$work/cacheC" "$pB" collect --out "$work/house" --remote-cache "$url"
keep
for k in $keys; do
	for w in "$work/cache/out/$k/"*.whl; do
		cmp -s "$w" "$work/house/$(basename "$w")" || fail "collect's $(basename "$w") differs from A's"
	done
done

# credentials from a netrc ($NETRC) when the URL has none
printf 'machine 127.0.0.1 login netuser password netpw-5a4b\n' >"$work/netrc"
expect 0 "netrc" -- env -u PTBUILD_REMOTE_CACHE_TOKEN NETRC="$work/netrc" PTBUILD_CACHE="$work/c-netrc" "$PTBUILD" -C "$p" build --remote-cache "$NGINX_URL/out" --remote-read-only
keep
contains "netrc: remote hits" "3 remote hits"
grep -q "^GET /out/.* netuser " "$NGINX_LOG" || fail "netrc: its login was not sent: $(tail -3 "$NGINX_LOG")"

# ---- 2. faults ------------------------------------------------------------------------------
# the server down: a port nobody listens on; one warning, not one per variant
dead=$(free_port)
expect 0 "server down" -- run "$work/c-down" "$p" build --remote-cache "http://ptuser:$SECRET@127.0.0.1:$dead/out"
keep
contains "down: built locally" "3 built, 0 cached"
contains "down: the warning names the URL" "remote cache: cannot read http://***@127.0.0.1:$dead/out/"
[ "$(grep -c "remote cache: cannot" <<<"$out")" = 1 ] || fail "down: not exactly one warning: $out"
contains "down: says it is not used further" "is not used for the rest of this run"

# 500s
expect 0 "server 500s" -- run "$work/c-500" "$p" build --remote-cache "http://ptuser:$SECRET@$hostport/fail500"
keep
contains "500: built locally" "3 built, 0 cached"
contains "500: the warning names the URL and the status" "http://***@$hostport/fail500/"
contains "500: retried" "HTTP 500 (3 attempts)"

# a stalled server: accepts, reads, never answers
python3 - "$work/stall-port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
PY
stall_pid=$!
trap "kill $stall_pid 2>/dev/null; $(trap -p EXIT | sed "s/^trap -- '\(.*\)' EXIT\$/\1/")" EXIT
for _ in $(seq 100); do [ -s "$work/stall-port" ] && break; sleep 0.05; done
sport=$(cat "$work/stall-port")
t0=$(date +%s)
expect 0 "stalled server" -- env PTBUILD_REMOTE_TIMEOUT=1 timeout 60 env PTBUILD_CACHE="$work/c-stall" "$PTBUILD" -C "$p" build --remote-cache "http://ptuser:$SECRET@127.0.0.1:$sport/out"
keep
t1=$(date +%s)
contains "stall: built locally" "3 built, 0 cached"
contains "stall: the warning names the URL" "http://***@127.0.0.1:$sport/out/"
contains "stall: it timed out" "timed out"
[ $((t1 - t0)) -lt 30 ] || fail "stall: the build took $((t1 - t0)) s: the timeout did not bound it"
kill $stall_pid 2>/dev/null

# a corrupt wheel on the server: same size, another byte
bad=$(ls "$NGINX_ROOT/out/$kbeta/"*.whl)
good_sha=$(sha256sum "$bad" | cut -d' ' -f1)
python3 - "$bad" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 0xff
open(sys.argv[1], "wb").write(b)
PY
bad_sha=$(sha256sum "$bad" | cut -d' ' -f1)
expect 0 "corrupt wheel" -- run "$work/c-bad" "$p" build --remote-cache "$url"
keep
contains "corrupt: refused" "remote cache: refused $shown/$kbeta/$(basename "$bad"): its sha256 is $bad_sha"
contains "corrupt: beta rebuilt, the others hit" "1 built, 2 cached"
local_w="$work/c-bad/out/$kbeta/$(basename "$bad")"
[ -f "$local_w" ] || fail "corrupt: no local entry for beta after its rebuild"
[ "$(sha256sum "$local_w" | cut -d' ' -f1)" != "$bad_sha" ] || fail "corrupt: the bad wheel was entered"
cmp -s "$bad" "$local_w" || fail "corrupt: the bad remote wheel was not replaced by the rebuilt one: $out"
contains "corrupt: the rebuilt entry uploaded" "2 remote hits, 1 upload, 1 failure"
[ "$good_sha" != "$bad_sha" ] || fail "corrupt: the byte flip changed nothing"

# a half entry: wheels without their manifest are a miss (and it is completed)
rm "$NGINX_ROOT/out/$kbase/manifest.json"
expect 0 "half entry" -- run "$work/c-half" "$p" build --remote-cache "$url"
keep
contains "half: base built, the others hit" "1 built, 2 cached"
lacks "half: a miss is no warning" "warning:"
[ -f "$NGINX_ROOT/out/$kbase/manifest.json" ] || fail "half: the entry was not completed"

# read-only: a miss is built, nothing is PUT
rm -rf "$NGINX_ROOT/out/$kbase"
puts_before=$(grep -c '^PUT ' "$NGINX_LOG")
expect 0 "read-only" -- env PTBUILD_REMOTE_READ_ONLY=1 PTBUILD_CACHE="$work/c-ro" "$PTBUILD" -C "$p" build --remote-cache "$url"
keep
contains "read-only: base built" "1 built, 2 cached"
contains "read-only: said" "(read-only): 2 remote hits, 0 uploads"
expect 0 "read-only flag" -- run "$work/c-ro2" "$p" build --remote-cache "$url" --remote-read-only
keep
[ "$(grep -c '^PUT ' "$NGINX_LOG")" = "$puts_before" ] || fail "read-only: PUTs: $(grep '^PUT ' "$NGINX_LOG" | tail -3)"
[ ! -e "$NGINX_ROOT/out/$kbase" ] || fail "read-only: base was uploaded"

# ---- 3. the config file -----------------------------------------------------------------------
cat >"$p/ptbuild.config.json" <<EOC
// the fleet's caches
{ "remote_cache": { "url": "$url", "read_only": true } }
EOC
expect 0 "config file" -- run "$work/c-cfg" "$p" build --json
keep
contains "config: its cache is used" '"remote_cache":{"url":"'"$shown"'","read_only":true,"hits":2'
expect 0 "environment over the file" -- env PTBUILD_REMOTE_CACHE="http://127.0.0.1:$dead/x" PTBUILD_CACHE="$work/c-cfg2" "$PTBUILD" -C "$p" build --json
keep
contains "env wins" "127.0.0.1:$dead/x"
printf '{ "remote_cache": { "url": "%s", "readonly": true } }\n' "$url" >"$p/ptbuild.config.json"
expect 2 "unknown key" -- run "$work/c-cfg3" "$p" build
keep
contains "unknown key at its place" "ptbuild.config.json:1:"
contains "unknown key named" 'unknown key "readonly"'
contains "unknown key hint" 'did you mean "read_only"'
rm "$p/ptbuild.config.json"
mkdir -p "$work/xdg/ptbuild"
echo '{ "remote_cache": { "url": "ftp://x/y" } }' >"$work/xdg/ptbuild/config.json"
expect 2 "user file: not http" -- env XDG_CONFIG_HOME="$work/xdg" PTBUILD_CACHE="$work/c-cfg4" "$PTBUILD" -C "$p" build
keep
contains "not http named" '"ftp://x/y" is not http:// or https://'

# ---- 4. no credentials anywhere ---------------------------------------------------------------
grep -q -e "$SECRET" -e "$TOKEN" -e netpw-5a4b "$all_out" &&
	fail "a credential in the output: $(grep -e "$SECRET" -e "$TOKEN" -e netpw-5a4b "$all_out" | head -3)"
leaks=$(grep -rl -e "$SECRET" -e "$TOKEN" -e netpw-5a4b "$work" --exclude-dir=nginx 2>/dev/null |
	grep -v -e "$all_out" -e "$work/netrc")
[ -z "$leaks" ] || fail "a credential in files: $leaks"
finish remote_cache
