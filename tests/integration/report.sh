#!/usr/bin/env bash
# ptbuild report on fixture extensions (tests/integration/fixtures/ext_project.sh): one
# variant built, one failed, one never built; the matrix and detail tables in Markdown,
# JSON and HTML agree with the records and the output cache; --out, bad formats and
# targets; a changed flag or a lost cache entry makes a built variant stale.
# usage: report.sh PTBUILD SOURCE_DIR
set -euo pipefail
PTBUILD=$1
SRC=$2
. "$SRC/tests/integration/fixtures/lib.sh" report
. "$SRC/tests/integration/fixtures/ext_project.sh"

# run CODE DESCRIPTION -- CMD...: lib.sh's expect, safe under set -e, stdout in $out and
# stderr in $err kept apart (the reports are parsed)
run() {
	local want=$1 what=$2 got=0
	shift 3
	out=$("$@" 2>"$work/stderr") || got=$?
	err=$(cat "$work/stderr")
	[ "$got" = "$want" ] || fail "$what: exit $got, expected $want; stdout:
$out
stderr:
$err"
}
in_err() { # DESCRIPTION NEEDLE: $err contains NEEDLE
	case $err in *"$2"*) ;; *) fail "$1: stderr lacks \"$2\":
$err" ;; esac
}

# ---- fixtures: good builds, broken fails, idle is never built ------------------------------
for r in good broken idle; do make_repo $r; done
recipe good v1 '{ "EXT_NAME": "good", "EXT_FLAG": "a", "EXT_SLEEP": "0.3" }'
recipe broken v1 '{ "EXT_NAME": "broken", "EXT_FAIL": "1" }'
recipe idle v1 '{ "EXT_NAME": "idle" }'
set_file default '["good", "broken", "idle"]'
run 0 "lock" -- pt lock

run 0 "nothing built yet" -- pt report
contains "all not built" "3 variants: 3 not built."
run 0 "build good" -- pt build good
run 1 "build broken" -- pt build broken
state=$p/build/state
failed=$state/broken/cpu-py3.11.failed.json
key_of() { # RECIPE: its variant's build key now
	pt plan --json | python3 -c '
import json, sys
print(next(v["key"] for v in json.load(sys.stdin)["variants"] if v["recipe"] == sys.argv[1]))' "$1"
}
write_failure() { # KEY FINISHED: broken's failure record, in the format of failure_record.h
	mkdir -p "$state/broken"
	cat >"$failed" <<EOF
{
  "finished": $2,
  "format": 1,
  "key": "$1",
  "log": "$p/build/logs/cpu-py3.11/broken.log",
  "message": "ext.c:1:1: error: fixture compile error",
  "phase": "build",
  "recipe": "broken",
  "variant": "cpu-py3.11"
}
EOF
}
[ -f "$failed" ] || fail "the failed build wrote no failure record ($failed)"
good_key=$(key_of good)
[ -f "$work/cache/out/$good_key/manifest.json" ] || fail "good did not enter the output cache"

# ---- Markdown --------------------------------------------------------------------------------
run 0 "md" -- pt report
md=$out
contains "heading" "# Build matrix: set default"
contains "summary" "3 variants: 1 up to date, 1 failed, 1 not built."
contains "matrix header" "| target | cpu-py3.11 |"
contains "matrix good" "| good | ✅ up to date |"
contains "matrix broken" "| broken | ❌ failed |"
contains "matrix idle" "| idle | ⬜ not built |"
contains "detail header" "| target | toolchain | python | status | last build (UTC) | duration | wheel size | ccache hits |"
row=$(grep '^| good | cpu | 3.11 |' <<<"$md" || true)
grep -Eq '^\| good \| cpu \| 3\.11 \| up to date \| [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} \| [0-9]+(\.[0-9]s|m[0-9]{2}s) \| [0-9.]+ (B|KiB|MiB) \| (-|[0-9]{1,3}% \([0-9]+/[0-9]+\)) \|$' <<<"$row" ||
	fail "good's detail row is malformed: '$row'"
case $row in *" 0.0s "* | *" 0 B "*) fail "good's duration or wheel size is zero: $row" ;; esac
# ccache is in front of the fixture's compiler: one call, one miss in a fresh cache
if command -v ccache >/dev/null; then
	grep -Eq '\| [0-9]{1,3}% \([0-9]+/[1-9][0-9]*\) \|$' <<<"$row" ||
		fail "good's ccache column has no counts: $row"
fi
grep -Eq '^\| broken \| cpu \| 3\.11 \| failed \| [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5} \| - \| - \| - \|$' <<<"$md" ||
	fail "broken's detail row: $md"
grep -q '^| idle | cpu | 3.11 | not built | - | - | - | - |$' <<<"$md" || fail "idle's detail row: $md"
contains "failures section" "## Failures"
contains "failure line" "- **broken** (cpu-py3.11) failed in build at "
contains "failure message" "failed in build at "
contains "failure says what" "build exited with status 1"

# ---- JSON ------------------------------------------------------------------------------------
run 0 "json" -- pt report --format json
json=$out
printf '%s' "$json" >"$work/report-stdout.json"
python3 - "$work/report-stdout.json" "$work/cache/out/$good_key" "$good_key" <<'EOF' ||
import json, os, sys
entry, good_key = sys.argv[2], sys.argv[3]
r = json.load(open(sys.argv[1]))
assert r["ok"] is True and r["set"] == "default", r
v = {x["recipe"]: x for x in r["variants"]}
assert list(v) == ["good", "broken", "idle"], list(v)
assert {x["status"] for x in r["variants"]} == {"up to date", "failed", "not built"}, r
g = v["good"]
assert (g["status"], g["toolchain"], g["python"], g["variant"], g["key"]) == \
    ("up to date", "cpu", "3.11", "cpu-py3.11", good_key), g
assert isinstance(g["finished"], int) and g["finished"] > 1600000000, g
assert g["seconds"] >= 0.3, g  # EXT_SLEEP
wheels = sum(os.path.getsize(os.path.join(entry, f)) for f in os.listdir(entry) if f.endswith(".whl"))
assert wheels > 0 and g["wheel_bytes"] == wheels, (g, wheels)
assert isinstance(g["ccache_hits"], int) and isinstance(g["ccache_misses"], int), g
assert g["failure"] is None, g
b = v["broken"]
assert b["status"] == "failed" and b["finished"] is None and b["seconds"] is None, b
f = b["failure"]
assert f["phase"] == "build" and f["key"] == b["key"] and f["finished"] > 1600000000, f
assert "broken" in f["log"], f
i = v["idle"]
assert i["status"] == "not built" and i["failure"] is None and i["wheel_bytes"] is None, i
EOF
	fail "json report: $json"
run 0 "--json" -- pt --json report
[ "$out" = "$json" ] || fail "--json differs from --format json: $out"
run 2 "--json with --format md" -- pt --json report --format md
in_err "conflict named" "--json asks for JSON, --format for md"

# ---- HTML ------------------------------------------------------------------------------------
run 0 "html" -- pt report --format html
html=$out
case $html in "<!DOCTYPE html>"*) ;; *) fail "html: no doctype: ${html:0:200}" ;; esac
contains "html closes" "</html>"
contains "inline style" "<style>"
contains "html good" '<td class="up-to-date">up to date</td>'
contains "html broken" '<td class="failed">failed</td>'
contains "html idle" '<td class="not-built">not built</td>'
contains "html matrix header" "<th>cpu-py3.11</th>"
contains "html detail header" "<th>ccache hits</th>"
grep -Eiq '<script|<link|(src|href)=|https?://' <<<"$html" && fail "html is not self-contained: $html"
[ "$(grep -c '<table' <<<"$html")" = 2 ] || fail "html: expected two tables: $html"

# Strings are escaped in every format: a failure message with markup and a pipe.
python3 - "$failed" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
f["message"] = 'ext.c:1:1: error: <script>alert("x")</script> & a|b\nsecond line'
json.dump(f, open(sys.argv[1], "w"), indent=2, sort_keys=True)
EOF
run 0 "html escaped" -- pt report --format html
contains "html escapes markup" "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; a|b"
lacks "no raw script" "<script"
run 0 "md escaped" -- pt report
contains "md escapes the pipe" 'error: \<script\>alert("x")\</script\> & a\|b'
lacks "md: first line only" "second line"

# ---- --out -----------------------------------------------------------------------------------
run 0 "md to stdout" -- pt report
md=$out
run 0 "--out md" -- pt report --out "$work/report.md"
[ -z "$out" ] || fail "--out still printed the report: $out"
[ "$(cat "$work/report.md")" = "$md" ] || fail "--out file differs from stdout: $(cat "$work/report.md")"
run 0 "--out html" -- pt report --format html --out "$work/report.html"
head -1 "$work/report.html" | grep -q '^<!DOCTYPE html>$' || fail "--out html: $(head -3 "$work/report.html")"
run 0 "--out json" -- pt report --json --out "$work/report.json"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["ok"] and len(r["variants"]) == 3' \
	"$work/report.json" || fail "--out json: $(cat "$work/report.json")"
ls "$work"/report.*.tmp.* >/dev/null 2>&1 && fail "--out left a temporary file"
run 3 "--out unwritable" -- pt report --out "$work/no/such/dir/report.md"
in_err "unwritable named" "cannot write the report to \"$work/no/such/dir/report.md\""

# ---- usage errors ----------------------------------------------------------------------------
run 2 "--format xml" -- pt report --format xml
in_err "bad format named" "--format takes md, json or html, not \"xml\""
run 2 "unknown target" -- pt report nosuch
in_err "unknown target named" "\"nosuch\" has no variant in this plan"
run 2 "unknown target, json" -- pt report --format json nosuch
python3 -c 'import json, sys; r = json.load(sys.stdin); assert r["ok"] is False and r["diagnostics"]' \
	<<<"$out" || fail "json failure answer: $out"

# ---- an unreadable record is a warning, not an error --------------------------------------------
mkdir -p "$state/idle"
echo 'garbage' >"$state/idle/cpu-py3.11.json"
echo '{ "format": 1,' >"$state/idle/cpu-py3.11.failed.json"
run 0 "unreadable records" -- pt report idle
contains "counts as never built" "1 variant: 1 not built."
in_err "bad build record named" "warning: cannot read the build record \"$state/idle/cpu-py3.11.json\""
in_err "bad failure record named" "warning: cannot read the failure record \"$state/idle/cpu-py3.11.failed.json\""
rm -r "${state:?}/idle"

# ---- targets filter ----------------------------------------------------------------------------
run 0 "one target" -- pt report good
contains "only good" "1 variant: 1 up to date."
lacks "not broken" "broken"

# ---- stale: a changed flag, then a lost cache entry --------------------------------------------
recipe good v1 '{ "EXT_NAME": "good", "EXT_FLAG": "b", "EXT_SLEEP": "0.3" }'
run 0 "flag changed" -- pt report good
grep -q '^| good | cpu | 3.11 | stale | ' <<<"$out" || fail "a changed flag is not stale: $out"
contains "stale in the matrix" "| good | 🔄 stale |"
contains "explain hint" "ptbuild explain TARGET"
run 0 "flag changed, json" -- pt report --json good
python3 -c '
import json, sys
g = json.load(sys.stdin)["variants"][0]
assert g["status"] == "stale" and g["wheel_bytes"] > 0, g' <<<"$out" || fail "json stale: $out"
# Built with the new flag: the same compile, so ccache hits.
run 0 "build flag b" -- pt build good
run 0 "flag b built" -- pt report good
contains "flag b up to date" "1 variant: 1 up to date."
if command -v ccache >/dev/null; then
	grep -q '^| good | cpu | 3.11 | up to date | .* | 100% (1/1) |$' <<<"$out" ||
		fail "the rebuild with flag b did not show its ccache hit: $out"
fi
# Back to flag a: its entry is still cached, so it is up to date, shown from that entry
# (the state record remembers the flag b build).
recipe good v1 '{ "EXT_NAME": "good", "EXT_FLAG": "a", "EXT_SLEEP": "0.3" }'
run 0 "flag back" -- pt report --json good
printf '%s' "$out" >"$work/report-stdout.json"
python3 - "$work/report-stdout.json" "$work/cache/out/$good_key/manifest.json" \
	"$state/good/cpu-py3.11.json" <<'EOF' ||
import json, sys
g, entry, last = (json.load(open(p)) for p in sys.argv[1:4])
g = g["variants"][0]
assert entry["key"] != last["key"], "the state record should be flag b's build"
assert g["status"] == "up to date" and g["key"] == entry["key"], g
assert g["finished"] == entry["finished"] and g["ccache_misses"] == entry["ccache"]["misses"], (g, entry)
EOF
	fail "flag back: $out"
# Built again with flag a (the state record has its key now), then its entry removed.
run 0 "force flag a" -- pt build --force good
grep -q "\"key\": \"$good_key\"" "$state/good/cpu-py3.11.json" || fail "the forced build's record"
rm -rf "${work:?}/cache/out/$good_key"
run 0 "entry lost" -- pt report good
contains "lost entry is stale" "1 variant: 1 stale."

# ---- a later success supersedes a failure ------------------------------------------------------
recipe broken v1 '{ "EXT_NAME": "broken" }'
run 0 "broken fixed" -- pt build broken
run 0 "after the fix" -- pt report broken
contains "fixed is up to date" "1 variant: 1 up to date."
lacks "no failures left" "## Failures"

# The rules between a failure record, the last success and the output cache.
ok_finished=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["finished"])' \
	"$state/broken/cpu-py3.11.json")
write_failure "$(key_of broken)" $((ok_finished - 10))
run 0 "older failure" -- pt report broken
contains "an older failure is superseded" "1 variant: 1 up to date."
write_failure "$(key_of broken)" $((ok_finished + 10))
run 0 "newer failure, same inputs" -- pt report broken
contains "the same inputs failed since (--force)" "1 variant: 1 failed."
write_failure 0000000000000000000000000000000000000000000000000000000000000000 $((ok_finished + 10))
run 0 "newer failure, other inputs" -- pt report broken
contains "a failure of other inputs does not hide the cached build" "1 variant: 1 up to date."

finish report
