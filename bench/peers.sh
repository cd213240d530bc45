#!/usr/bin/env bash
# Runs our parser and two peers on the same generated chat, side by side:
#   - relivchats (cargo bench -p relivchats-domain --bench parse, release build)
#   - whatstk (PyPI; the earlier product's parser), installed into bench/.venv
#   - whatsapp-chat-parser (npm), installed into bench/node_modules
# Usage: bench/peers.sh [MESSAGES]   (default 1000000; the bench also makes 100000)
# Prints MB/s, messages/s and peak RSS (/usr/bin/time -v) of each, and our ratios.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
n="${1:-1000000}"
file="${TMPDIR:-/tmp}/relivchats-bench-$n.txt"
out="$here/results"
mkdir -p "$out"

if [[ ! -x "$here/.venv/bin/python" ]] || ! "$here/.venv/bin/python" -c 'import whatstk' 2>/dev/null; then
  echo "installing whatstk into bench/.venv" >&2
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install -q whatstk
fi
if [[ ! -d "$here/node_modules/whatsapp-chat-parser" ]]; then
  echo "installing whatsapp-chat-parser into bench/node_modules" >&2
  npm install --prefix "$here" --no-save --no-audit --no-fund whatsapp-chat-parser@4 >&2
fi

echo "== relivchats (cargo bench, release)" >&2
(cd "$root" && RELIVCHATS_BENCH_SIZE="$n" cargo bench -q -p relivchats-domain --bench parse 2>/dev/null) | tee "$out/ours.txt"
ours_parse=$(awk '/parse only/ {print $(NF-4)}' "$out/ours.txt")
ours_full=$(awk '/parse\+stats/ {print $(NF-4)}' "$out/ours.txt")
ours_rss=$(sed -n 's/.*VmHWM \([0-9.]*\) MB.*/\1/p' "$out/ours.txt")

mb=$(awk -v b="$(stat -c %s "$file")" 'BEGIN {printf "%.1f", b/1e6}')

# Runs a peer under /usr/bin/time -v; sets secs, msgs, rss_mb.
run_peer() {
  local name="$1"; shift
  echo "== $name" >&2
  /usr/bin/time -v "$@" >"$out/$name.out" 2>"$out/$name.time"
  read -r secs msgs <"$out/$name.out"
  rss_mb=$(awk '/Maximum resident set size/ {printf "%.1f", $NF*1024/1e6}' "$out/$name.time")
}

run_peer whatstk "$here/.venv/bin/python" "$here/whatstk_bench.py" "$file"
wt_secs=$secs wt_msgs=$msgs wt_rss=$rss_mb
run_peer wcp node --max-old-space-size=8192 "$here/wcp_bench.mjs" "$file"
wcp_secs=$secs wcp_msgs=$msgs wcp_rss=$rss_mb

awk -v mb="$mb" -v op="$ours_parse" -v of="$ours_full" -v orss="$ours_rss" \
    -v ws="$wt_secs" -v wm="$wt_msgs" -v wr="$wt_rss" \
    -v cs="$wcp_secs" -v cm="$wcp_msgs" -v cr="$wcp_rss" 'BEGIN {
  wmb = mb / ws; cmb = mb / cs
  printf "\nfile: %s MB\n", mb
  printf "%-34s %10s %12s %14s\n", "", "MB/s", "messages", "peak RSS MB"
  printf "%-34s %10.1f %12s %14s\n", "relivchats parse only", op, "", ""
  printf "%-34s %10.1f %12s %14.1f (%.2fx file)\n", "relivchats parse + statistics", of, "", orss, orss / mb
  printf "%-34s %10.1f %12d %14.1f (%.2fx file)\n", "whatsapp-chat-parser (npm)", cmb, cm, cr, cr / mb
  printf "%-34s %10.1f %12d %14.1f (%.2fx file)\n", "whatstk (PyPI)", wmb, wm, wr, wr / mb
  printf "\nratios vs whatsapp-chat-parser: parse only %.1fx, parse + statistics %.1fx\n", op / cmb, of / cmb
  printf "ratios vs whatstk:              parse only %.1fx, parse + statistics %.1fx\n", op / wmb, of / wmb
}' | tee "$out/summary.txt"
