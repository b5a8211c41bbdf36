#!/usr/bin/env bash
# Packs what scripts/gpu-proof.sh needs on a GPU machine without Node into .gpu-proof/pack.tar.xz
# (git-ignored) and checks it fits: ≤ 50 MiB, within the device tool's 64 MiB carry limit.
# Run after `npm ci && npm run build`. Then, on the GPU machine (device tool):
#   run(command: "bash scripts/gpu-proof.sh", carry: [".gpu-proof"], timeout_s: 540)
# --check also proves the pack works without Node: it clones HEAD into a scratch folder, puts the
# pack there, takes node off PATH, and runs the dry run from the unpacked pack.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f packages/cli/dist/bin.js ] || { echo "gpu-proof-pack: build first (npm run build)" >&2; exit 2; }
# What an earlier run unpacked here (node, loaders, ICD files, results) would push the carried
# folder past the device tool's 64 MiB limit: only the pack travels.
rm -rf .gpu-proof/node .gpu-proof/lib .gpu-proof/icd .gpu-proof/out
node scripts/gpu-proof-pack.mjs
bytes=$(stat -c %s .gpu-proof/pack.tar.xz)
limit=$((50 * 1024 * 1024))
echo "gpu-proof-pack: .gpu-proof/pack.tar.xz is $(awk "BEGIN { printf \"%.1f\", $bytes / 1048576 }") MiB (limit 50 MiB); carry: [\".gpu-proof\"]"
if [ "$bytes" -gt "$limit" ]; then
  echo "gpu-proof-pack: the pack is over 50 MiB: drop a dependency from the closure in scripts/gpu-proof-pack.mjs" >&2
  exit 1
fi
[ "${1:-}" = "--check" ] || exit 0

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git clone --quiet --no-hardlinks "$(pwd)" "$scratch/repo"
mkdir -p "$scratch/repo/.gpu-proof" "$scratch/bin"
cp .gpu-proof/pack.tar.xz "$scratch/repo/.gpu-proof/"
# A PATH with every program this PATH finds (first one wins, as in a lookup) except node, npm,
# npx and corepack.
IFS=: read -r -a path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
  [ -d "$dir" ] || continue
  for f in "$dir"/*; do
    name=$(basename "$f")
    case "$name" in node | nodejs | npm | npx | corepack) continue ;; esac
    [ -e "$scratch/bin/$name" ] || ln -s "$f" "$scratch/bin/$name"
  done
done
if PATH="$scratch/bin" command -v node >/dev/null; then
  echo "gpu-proof-pack: could not take node off PATH for the check" >&2
  exit 1
fi
echo "gpu-proof-pack: dry run from the pack in $scratch/repo with node off PATH"
(cd "$scratch/repo" && PATH="$scratch/bin" OUT="$scratch/out" bash scripts/gpu-proof.sh --dry-run)
grep -q '"step":"unpack","status":"pass"' "$scratch/out/results.json" || {
  echo "gpu-proof-pack: the dry run did not use the pack" >&2
  exit 1
}
echo "gpu-proof-pack: the pack runs the dry run without a Node of the machine's"
