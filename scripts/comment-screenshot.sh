#!/usr/bin/env bash
# Renders a real pull-request comment the way GitHub shows it and saves docs/comment.png:
# a real repository (examples/ab/make-repo.mjs: head does 15 % more work) with 30 earlier
# base-branch results in its history, `gpuci run` with the A/B and a history gate, comment.md
# through cmark-gfm (GitHub-flavoured Markdown), Mermaid blocks drawn by the mermaid package,
# and a screenshot by headless Chromium. Needs: apt-get install chromium cmark-gfm
# fonts-noto-color-emoji (the verdict marks); npm run build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
for tool in chromium cmark-gfm; do
  command -v "$tool" >/dev/null || { echo "comment-screenshot: $tool is missing: apt-get install chromium cmark-gfm fonts-noto-color-emoji" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node examples/ab/make-repo.mjs "$work/repo" >/dev/null
node --input-type=module - "$work/repo" <<'JS'
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
const repo = process.argv[2];
const main = execFileSync("git", ["rev-parse", "main"], { cwd: repo, encoding: "utf8" }).trim();
mkdirSync(join(repo, ".gpuci/history"), { recursive: true });
let seed = 7;
const rand = () => ((seed = (seed * 1664525 + 1013904223) % 2 ** 32) / 2 ** 32);
for (let i = 0; i < 30; i++) {
  const commit = i === 29 ? main : `${(i + 10).toString(16).padStart(2, "0")}${"5e1f0c7a".repeat(5)}`.slice(0, 40);
  const latency = (i < 18 ? 6.4 : 6.1) * (1 + (rand() - 0.5) * 0.03);
  appendFileSync(
    join(repo, ".gpuci/history/results.jsonl"),
    `${JSON.stringify({ v: 1, at: new Date(Date.UTC(2026, 10, i + 1)).toISOString(), commit, branch: "main", results: { "bench-latency": { value: latency, unit: "ms" } } })}\n`,
  );
}
writeFileSync(
  join(repo, "gpuci.yml"),
  `ab:
  command: node bench.mjs {out}/bench.json
  metrics:
    - { id: latency, title: "attention kernel latency (A/B)", file: "{out}/bench.json", path: latency_ms, unit: ms }
  rounds: { min: 6, max: 30 }
run:
  - name: bench
    command: node bench.mjs bench.json
gates:
  - id: bench-latency
    title: attention kernel latency (history)
    metric: { file: bench.json, path: latency_ms, unit: ms }
    baseline: { history: true }
history: { baseBranch: main, record: false }
cost: { rate: 2.99, budget: { run: 1.00 } }
`,
);
JS
# As in a real pull request: the config is committed, the benchmark's output is ignored.
(cd "$work/repo" && printf 'bench.json\n' >>.gitignore && git add gpuci.yml .gitignore &&
  git -c user.name="gpuci example" -c user.email=example@gpuci.invalid commit -q -m "gpuci.yml")
(cd "$work/repo" && GPUCI_PR=42 node "$ROOT/packages/cli/dist/bin.js" run --out "$work/out" -q >/dev/null 2>&1 || true)
cmark-gfm --extension table --extension autolink --extension strikethrough --unsafe "$work/out/comment.md" >"$work/body.html"
cp node_modules/mermaid/dist/mermaid.min.js "$work/"
cat >"$work/page.html" <<HTML
<!doctype html><html><head><meta charset="utf-8">
<style>
body { font: 14px -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; margin: 0; background: #fff; }
.comment { width: 880px; margin: 16px; border: 1px solid #d1d9e0; border-radius: 6px; }
.header { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px; color: #59636e; }
.body { padding: 16px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
tr:nth-child(2n) { background: #f6f8fa; } th { font-weight: 600; }
h2 { border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; font-size: 1.5em; margin-top: 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 85%; }
sub { color: #59636e; }
</style></head><body><div class="comment"><div class="header"><b>github-actions</b> bot commented</div><div class="body">
$(cat "$work/body.html")
</div></div>
<script src="mermaid.min.js"></script>
<script>
for (const d of document.querySelectorAll("details")) d.open = true;
for (const code of document.querySelectorAll("pre code.language-mermaid, pre[lang=mermaid] code")) {
  const div = document.createElement("div"); div.className = "mermaid"; div.textContent = code.textContent;
  code.closest("pre").replaceWith(div);
}
mermaid.initialize({ startOnLoad: false, theme: "default" });
mermaid.run().then(() => { document.title = "rendered"; });
</script></body></html>
HTML
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$work/chrome" --hide-scrollbars \
  --window-size=920,1600 --virtual-time-budget=10000 --screenshot="$ROOT/docs/comment.png" "file://$work/page.html" 2>/dev/null
cp "$work/out/comment.md" "$ROOT/docs/comment.md"
echo "comment-screenshot: wrote docs/comment.png and docs/comment.md"
