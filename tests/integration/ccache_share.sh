#!/usr/bin/env bash
# The compile cache across checkouts and machines (issue 16, items 0 and 2): two checkouts of
# one project at different paths (and depths) share every compile, and give byte-identical
# wheels, also when compiled cold; the user's own ccache configuration and ptbuild's
# PTBUILD_CCACHE_REMOTE reach the builds (a real nginx as ccache's HTTP remote storage), with
# the credentials of its URL in no output or file; PTBUILD_REMOTE_READ_ONLY stores nothing.
# The fixture extension includes a header of its dependency by an absolute -I into the venv,
# as extensions include torch's, and compiles with -g (debug info holds paths).
# usage: ccache_share.sh PTBUILD SOURCE_DIR
set -uo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" ccache-share
. "$SRC/tests/integration/fixtures/ext_project.sh"
command -v ccache >/dev/null || { echo "ccache-share: skipped, no ccache"; exit 0; }
unset CCACHE_DIR CCACHE_REMOTE_STORAGE CCACHE_CONFIGPATH CCACHE_DISABLE

make_repo dep
make_repo ext
recipe dep v1 '{ "EXT_NAME": "dep" }'
recipe ext v1 '{ "EXT_NAME": "ext", "EXT_INCLUDE_FROM": "dep", "EXT_CFLAGS": "-g" }' '["dep"]'
set_file default '["ext"]'

# checkout DIR: a copy of the project (recipes, toolchains, set) at DIR
checkout() {
	mkdir -p "$1"
	cp -a "$p/recipes" "$p/toolchains" "$1/"
}
a=$work/a/p
b=$work/b/deeper/than/a/p
c=$work/c/p
for d in "$a" "$b" "$c"; do checkout "$d"; done
run() { # DIR CACHE ARGS...: ptbuild in checkout DIR with cache CACHE
	local dir=$1 cache=$2
	shift 2
	PTBUILD_CACHE=$cache "$PTBUILD" -C "$dir" "$@"
}
# counts JSON: "hits misses" of ccache over every built variant of a `build --json` output
counts() {
	python3 -c '
import json, sys
h = m = 0
for line in sys.argv[1].splitlines():
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if not isinstance(ev, dict) or ev.get("event") != "result":
        continue
    for v in ev["variants"]:
        if v.get("status") == "built":
            h += v.get("ccache_hits", 0); m += v.get("ccache_misses", 0)
print(h, m)' "$1"
}
wheels_of() { # CACHE: "name sha256" of every wheel in the output cache, sorted
	(cd "$1/out" && find . -name '*.whl' -printf '%f ' -exec sha256sum {} \; | awk '{print $1, $2}' | sort)
}

# ---- A builds; B, at another path and depth, with A's compile cache: every compile hits --
expect 0 "lock in A" -- run "$a" "$work/cache-a" lock
expect 0 "build in A" -- run "$a" "$work/cache-a" build --json
read -r hits misses <<<"$(counts "$out")"
[ "$misses" -ge 2 ] || fail "A's cold build compiled $misses calls, expected >= 2: $out"
cp "$a/ptbuild.lock" "$b/" && cp "$a/ptbuild.lock" "$c/"
mkdir -p "$work/cache-b" && cp -a "$work/cache-a/ccache" "$work/cache-b/"
expect 0 "build in B with A's ccache" -- run "$b" "$work/cache-b" build --json --locked
read -r hits misses <<<"$(counts "$out")"
[ "$misses" = 0 ] && [ "$hits" -ge 2 ] ||
	fail "B at another path missed the compile cache: $hits hits, $misses misses"
[ "$(wheels_of "$work/cache-a")" = "$(wheels_of "$work/cache-b")" ] ||
	fail "B's wheels differ from A's: $(wheels_of "$work/cache-a") / $(wheels_of "$work/cache-b")"
grep -q -- "-ffile-prefix-map=$b/build=. " "$b/build/logs/cpu-py3.11/ext.log" ||
	fail "the compile did not get the prefix map: $(grep 'fixture: \$' "$b/build/logs/cpu-py3.11/ext.log")"

# ---- C compiles everything cold, at a third path: the wheels still equal A's -------------
expect 0 "build in C, cold" -- run "$c" "$work/cache-c" build --json --locked
read -r hits misses <<<"$(counts "$out")"
[ "$hits" = 0 ] || fail "C's build was not cold: $hits hits"
[ "$(wheels_of "$work/cache-a")" = "$(wheels_of "$work/cache-c")" ] ||
	fail "a cold build at another path gives other wheels (paths in debug info?)"

# ---- a real HTTP remote storage for ccache (nginx with WebDAV) ---------------------------
. "$SRC/tests/integration/fixtures/nginx_lib.sh"
if ! command -v nginx >/dev/null; then
	echo "ccache-share: remote part skipped, no nginx"
	finish ccache-share
fi
start_nginx "$work/nginx" || { fail "nginx did not start"; finish ccache-share; }
secret=s3cr3t-token
remote="http://ptb:$secret@${NGINX_URL#http://}/ccache/"
puts() { awk '$1 == "PUT" && $3 ~ /^20/' "$NGINX_LOG" 2>/dev/null | wc -l; }

# PTBUILD_CCACHE_REMOTE: a fresh runner stores its compiles remotely.
rm -rf "$a/build"
expect 0 "build with PTBUILD_CCACHE_REMOTE" -- \
	env PTBUILD_CCACHE_REMOTE="$remote" PTBUILD_CACHE="$work/cache-r1" "$PTBUILD" -C "$a" build --json
lacks "the remote's credentials stay out of the output" "$secret"
[ "$(puts)" -ge 2 ] || fail "nothing was stored remotely: $(cat "$NGINX_LOG")"
# The user's own CCACHE_REMOTE_STORAGE: a fresh runner at another path hits remotely.
rm -rf "$b/build"
expect 0 "build with the user's CCACHE_REMOTE_STORAGE" -- \
	env CCACHE_REMOTE_STORAGE="$remote" PTBUILD_CACHE="$work/cache-r2" "$PTBUILD" -C "$b" build --json
read -r hits misses <<<"$(counts "$out")"
[ "$misses" = 0 ] && [ "$hits" -ge 2 ] ||
	fail "a fresh cache did not hit the remote storage: $hits hits, $misses misses"
awk '$1 == "GET" && $3 == 200' "$NGINX_LOG" | grep -q . || fail "no remote hits in nginx's log"
# The user's ccache.conf applies too (here: it disables the cache for builds).
mkdir -p "$work/home/.config/ccache"
echo "disable = true" >"$work/home/.config/ccache/ccache.conf"
rm -rf "$c/build"
expect 0 "build with the user's ccache.conf" -- run "$c" "$work/cache-r3" build --json
read -r hits misses <<<"$(counts "$out")"
[ "$hits" = 0 ] && [ "$misses" = 0 ] || fail "the user's ccache.conf (disable) was not read: $hits/$misses"
rm -rf "$work/home/.config/ccache"
# PTBUILD_REMOTE_READ_ONLY: lookups only; a changed source stores nothing.
recipe ext v2 '{ "EXT_NAME": "ext", "EXT_INCLUDE_FROM": "dep", "EXT_CFLAGS": "-g" }' '["dep"]'
cp "$p/recipes/ext.json" "$c/recipes/"
before=$(puts)
expect 0 "read-only build" -- env PTBUILD_CCACHE_REMOTE="$remote" PTBUILD_REMOTE_READ_ONLY=1 \
	PTBUILD_CACHE="$work/cache-r4" "$PTBUILD" -C "$c" build --json
[ "$(puts)" = "$before" ] || fail "read-only mode stored compiles remotely"
# Redis as the remote storage (ccache's redis:// backend), when Debian's redis-server is here.
if command -v redis-server >/dev/null; then
	rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no >"$work/redis.log" 2>&1 &
	redis_pid=$!
	trap "kill $redis_pid 2>/dev/null; $(trap -p EXIT | sed "s/^trap -- '\\(.*\\)' EXIT\$/\\1/")" EXIT
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$rport") 2>/dev/null && break; sleep 0.05; done
	for d in "$a" "$b"; do rm -rf "$d/build"; done
	expect 0 "build storing into redis" -- env PTBUILD_CCACHE_REMOTE="redis://127.0.0.1:$rport" \
		PTBUILD_CACHE="$work/cache-redis1" "$PTBUILD" -C "$a" build --json --locked
	expect 0 "build from redis at another path" -- env PTBUILD_CCACHE_REMOTE="redis://127.0.0.1:$rport" \
		PTBUILD_CACHE="$work/cache-redis2" "$PTBUILD" -C "$b" build --json --locked
	read -r hits misses <<<"$(counts "$out")"
	[ "$misses" = 0 ] && [ "$hits" -ge 2 ] ||
		fail "a fresh cache did not hit redis: $hits hits, $misses misses"
else
	echo "ccache-share: redis part skipped, no redis-server"
fi
for d in "$a" "$b" "$c" "$work"/cache-r*; do
	if grep -rqa "$secret" "$d" 2>/dev/null; then
		fail "the remote's credentials were written under $d: $(grep -rla "$secret" "$d" | head -3)"
	fi
done
finish ccache-share
