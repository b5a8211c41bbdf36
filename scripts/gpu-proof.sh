#!/usr/bin/env bash
# The GPU proof run: everything only a GPU can show, in one command of at most 8 minutes, on a
# Linux x86-64 machine with an NVIDIA GPU, a driver, CUDA, Python and PyTorch but no Node.
#
#   bash scripts/gpu-proof-pack.sh          # here, once: builds .gpu-proof/pack.tar.xz (≤ 50 MiB)
#   bash scripts/gpu-proof.sh               # there, with .gpu-proof carried along; results in $OUT
#   bash scripts/gpu-proof.sh --dry-run     # anywhere: every step that can run without a GPU
#
# Steps (each bounded by `timeout`, each failing soft so one broken step never costs the rest):
#   unpack     the carried node, built packages, runtime node_modules, Vulkan and EGL loaders
#   capture    raw `nvidia-smi -q -x`, `--query-gpu`, the table and `-L` (preflight fixtures)
#   graphics   where the driver's Vulkan ICD and EGL vendor files are (written when missing)
#   preflight  `gpuci preflight --json` against the real nvidia-smi (torch probe included)
#   tests      the kernel tests (vitest packages/cuda-kernels) with the CUDA path enabled;
#              GPUCI_PROOF=1 runs the adapter tests on the real GPU's adapters, not CI's software ones
#   kernels    `gpuci kernels --backend all --json`: every kernel, checked then timed
#   webgpu     the WebGPU adapter dawn.node picks (Vulkan on the real GPU) and a kernel run on it
#   bench      bench/kernels.mjs (CUDA f16 matmul vs torch.matmul, attention vs SDPA) under
#              `gpuci cost watch`, whose sampler records power and energy
#   example    examples/flash-attention through `gpuci run`
#   ncu        `ncu --csv` (details page and raw page) on a torch matmul + softmax: reader fixtures
# $OUT (default .gpu-proof/out) gets at most 8 files (all the device tool returns): results.json,
# results.md, log.txt, nvidia-smi-q.xml, nvidia-smi-query.csv, nvidia-smi.txt (the table and -L),
# ncu.csv (Nsight Compute's details page, when ncu is installed) and reports.json ({preflight,
# tests, kernels, cost, ncuRawPage, clockTrace}: each step's report; clockTrace is the clock
# query of the clock-aware A/B, every 200 ms while bench runs).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
OUT="${OUT:-$ROOT/.gpu-proof/out}"
mkdir -p "$OUT"
LOG="$OUT/log.txt"
# The device tool brings back at most 8 files from $OUT: the JSON reports are written here and
# gathered into $OUT/reports.json at the end.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
: >"$LOG"
START=$(date +%s)
BUDGET_S=${GPU_PROOF_BUDGET_S:-470}
STEPS_JSON=""
MD_ROWS=""

log() { printf '%s\n' "$*" | tee -a "$LOG" >&2; }
left() { echo $((BUDGET_S - ($(date +%s) - START))); }
json_escape() { python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))' 2>/dev/null || printf '"%s"' "$(tr -d '"\\\n' )"; }
# record STEP STATUS SECONDS DETAIL
record() {
  local detail
  detail=$(printf '%s' "$4" | json_escape)
  STEPS_JSON="${STEPS_JSON}${STEPS_JSON:+,}{\"step\":\"$1\",\"status\":\"$2\",\"seconds\":$3,\"detail\":$detail}"
  MD_ROWS="${MD_ROWS}| $1 | $2 | $3 s | $(printf '%s' "$4" | tr '\n|' ' /' | cut -c1-300) |
"
  log "gpu-proof: $1: $2 ($3 s) $4"
}
# step NAME SECONDS COMMAND...: run bounded, output to the log; sets STEP_RC.
step() {
  local name=$1 limit=$2
  shift 2
  local avail
  avail=$(left)
  if [ "$avail" -lt 10 ]; then
    STEP_RC=125
    record "$name" skip 0 "no time left in the ${BUDGET_S} s budget"
    return 1
  fi
  [ "$limit" -gt "$avail" ] && limit=$avail
  log "== $name (≤ ${limit} s): $*"
  local t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
  STEP_RC=$?
  STEP_S=$(($(date +%s) - t0))
  [ "$STEP_RC" -eq 124 ] && log "gpu-proof: $name stopped at its ${limit} s limit"
  return $STEP_RC
}

# --- unpack --------------------------------------------------------------------------------
NODE=""
if [ -f .gpu-proof/pack.tar.xz ]; then
  if step unpack 60 tar -xJf .gpu-proof/pack.tar.xz -C "$ROOT"; then
    mkdir -p node_modules/@gpuci
    for p in packages/*/; do
      name=$(basename "$p")
      ln -sfn "../../packages/$name" "node_modules/@gpuci/$name"
    done
    ln -sfn ../vitest/vitest.mjs node_modules/.bin/vitest 2>/dev/null || true
    NODE="$ROOT/.gpu-proof/node/bin/node"
    export PATH="$ROOT/.gpu-proof/node/bin:$PATH" # the tests and benches start node themselves
    record unpack pass "$STEP_S" "node $("$NODE" --version), $(ls node_modules | wc -l) packages"
  else
    record unpack fail "$STEP_S" "tar -xJf .gpu-proof/pack.tar.xz exited $STEP_RC"
  fi
elif command -v node >/dev/null && [ -d node_modules ]; then
  NODE="$(command -v node)"
  record unpack skip 0 "no .gpu-proof/pack.tar.xz: using this machine's node $(node --version) and node_modules"
else
  record unpack fail 0 "no .gpu-proof/pack.tar.xz and no node here: run scripts/gpu-proof-pack.sh and carry .gpu-proof"
fi
if [ -d "$ROOT/.gpu-proof/lib" ]; then export LD_LIBRARY_PATH="$ROOT/.gpu-proof/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
GPUCI=(false)
[ -n "$NODE" ] && GPUCI=("$NODE" "$ROOT/packages/cli/dist/bin.js")

# --- capture -------------------------------------------------------------------------------
HAVE_GPU=0
if [ "$DRY" -eq 0 ] && command -v nvidia-smi >/dev/null && timeout 20 nvidia-smi -L >/dev/null 2>&1; then HAVE_GPU=1; fi
if [ "$HAVE_GPU" -eq 1 ]; then
  t0=$(date +%s)
  timeout 30 nvidia-smi -q -x >"$OUT/nvidia-smi-q.xml" 2>>"$LOG"
  { timeout 30 nvidia-smi; echo; timeout 30 nvidia-smi -L; } >"$OUT/nvidia-smi.txt" 2>>"$LOG"
  timeout 30 nvidia-smi --query-gpu=index,name,uuid,driver_version,pci.bus_id,memory.total,memory.used,memory.free,utilization.gpu,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.max.sm,compute_mode,mig.mode.current --format=csv >"$OUT/nvidia-smi-query.csv" 2>>"$LOG"
  record capture pass $(($(date +%s) - t0)) "$(head -2 "$OUT/nvidia-smi-query.csv" | tail -1)"
else
  record capture skip 0 "$([ "$DRY" -eq 1 ] && echo "dry run" || echo "nvidia-smi is missing or does not answer"): no GPU to capture"
fi

# --- graphics: the NVIDIA driver's Vulkan and EGL libraries, for WebGPU on the real GPU -------
# Containers made for compute often mount the driver's libGLX_nvidia/libEGL_nvidia but not the
# ICD and vendor files that point the loaders at them; where a library is present and its file
# is not, one is written under .gpu-proof/icd and the loader is pointed at it.
if [ "$HAVE_GPU" -eq 1 ]; then
  find_lib() { { ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n { print $NF; exit }'; for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64; do [ -e "$d/$1" ] && echo "$d/$1"; done; } | head -1; }
  ICD_DIR="$ROOT/.gpu-proof/icd"
  mkdir -p "$ICD_DIR"
  vk_json=$(ls /etc/vulkan/icd.d/nvidia*.json /usr/share/vulkan/icd.d/nvidia*.json 2>/dev/null | head -1)
  vk_lib=$(find_lib libGLX_nvidia.so.0)
  egl_json=$(ls /usr/share/glvnd/egl_vendor.d/*nvidia*.json /etc/glvnd/egl_vendor.d/*nvidia*.json 2>/dev/null | head -1)
  egl_lib=$(find_lib libEGL_nvidia.so.0)
  vk_note="the machine's $vk_json"
  if [ -z "$vk_json" ] && [ -n "$vk_lib" ]; then
    printf '{"file_format_version":"1.0.1","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$vk_lib" >"$ICD_DIR/nvidia_icd.json"
    export VK_ICD_FILENAMES="$ICD_DIR/nvidia_icd.json" VK_DRIVER_FILES="$ICD_DIR/nvidia_icd.json"
    vk_note="none; written for $vk_lib"
  elif [ -z "$vk_json" ]; then
    vk_note="none, and no libGLX_nvidia.so.0 (the container lacks the driver's graphics libraries)"
  fi
  egl_note="the machine's $egl_json"
  if [ -z "$egl_json" ] && [ -n "$egl_lib" ]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s"}}\n' "$egl_lib" >"$ICD_DIR/10_nvidia.json"
    export __EGL_VENDOR_LIBRARY_FILENAMES="$ICD_DIR/10_nvidia.json"
    egl_note="none; written for $egl_lib"
  elif [ -z "$egl_json" ]; then
    egl_note="none, and no libEGL_nvidia.so.0"
  fi
  nv_libs=$(ldconfig -p 2>/dev/null | grep -oE 'lib[A-Za-z0-9_-]*nvidia[A-Za-z0-9_-]*\.so' | sort -u | tr '\n' ' ')
  record graphics done 0 "Vulkan ICD: $vk_note; EGL vendor: $egl_note; driver libraries: ${nv_libs:-none in ldconfig}"
fi

# --- preflight -----------------------------------------------------------------------------
CFG="$WORK/.gpuci-proof.yml"
if [ "$HAVE_GPU" -eq 1 ]; then
  printf 'preflight:\n  gpu: { min: 1, compute: true }\n  python: { torch: true }\n' >"$CFG"
else
  printf 'preflight:\n  gpu: { min: 0 }\n' >"$CFG"
fi
if [ -n "$NODE" ]; then
  step preflight 60 sh -c '"$@" preflight -c "'"$CFG"'" --json > "'"$WORK/preflight.json"'"' _ "${GPUCI[@]}"
  st=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$WORK/preflight.json" 2>/dev/null || echo "unreadable")
  record preflight "$st" "$STEP_S" "gpuci preflight --json → preflight.json (exit $STEP_RC)"
else
  record preflight skip 0 "no node"
fi
rm -f "$CFG"

# --- tests ---------------------------------------------------------------------------------
if [ -n "$NODE" ]; then
  step tests 240 env -u CI GPUCI_PROOF=$HAVE_GPU NO_COLOR=1 FORCE_COLOR=0 "$NODE" node_modules/vitest/vitest.mjs run packages/cuda-kernels --reporter=verbose --reporter=json --outputFile.json="$WORK/tests.json"
  summary=$(python3 - "$WORK/tests.json" <<'PY' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
tests = [a for f in d["testResults"] for a in f["assertionResults"]]
count = {}
for a in tests: count[a["status"]] = count.get(a["status"], 0) + 1
why = {}
for a in tests:
    if a["failureMessages"]: why.setdefault(a["failureMessages"][0].split("\n")[0][:120], []).append(a["title"])
slow = sorted(tests, key=lambda a: -(a.get("duration") or 0))[:3]
print(", ".join(f"{n} {k}" for k, n in count.items()) + "; failures: " + (" / ".join(f"{len(t)}× {m}" for m, t in why.items()) or "none") + "; slowest: " + ", ".join(f"{a['title'][:60]} {round((a.get('duration') or 0) / 1000)} s" for a in slow))
PY
)
  [ -z "$summary" ] && summary="no tests.json (stopped?); last tests finished: $(sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -aE '^ +[✓×↓] ' | tail -3 | tr -s ' ' | tr '\n' ';')"
  record tests "$([ "$STEP_RC" -eq 0 ] && echo pass || echo fail)" "$STEP_S" "vitest packages/cuda-kernels: ${summary:-no summary} (CUDA path $([ "$HAVE_GPU" -eq 1 ] && echo "on the GPU" || echo "emulated/compile-checked: no GPU"))"
else
  record tests skip 0 "no node"
fi

# --- kernels -------------------------------------------------------------------------------
if [ -n "$NODE" ]; then
  step kernels 90 sh -c '"$@" kernels --backend all --json > "'"$WORK/kernels.json"'"' _ "${GPUCI[@]}"
  detail=$(python3 - "$WORK/kernels.json" <<'PY' 2>/dev/null || echo "kernels.json unreadable"
import json, sys
s = json.load(open(sys.argv[1]))
by = {}
for f in s.get("findings", []):
    b = (f.get("data") or {}).get("backend", "?")
    by.setdefault(b, {}).setdefault(f["status"], 0)
    by[b][f["status"]] += 1
print("; ".join(f"{b}: " + ", ".join(f"{n} {k}" for k, n in c.items()) for b, c in by.items()))
PY
)
  record kernels "$([ "$STEP_RC" -le 1 ] && echo done || echo fail)" "$STEP_S" "gpuci kernels --backend all (exit $STEP_RC): $detail"
else
  record kernels skip 0 "no node"
fi

# --- webgpu --------------------------------------------------------------------------------
if [ -n "$NODE" ]; then
  step webgpu 60 "$NODE" --input-type=module -e '
    const k = await import("@gpuci/cuda-kernels");
    for (const force of ["vulkan", "opengles"]) {
      const { backend, unavailable } = await k.webgpuBackend({ force });
      const i = backend?.info();
      console.log(`webgpu-result: ${force}: ${i ? `${i.device}${i.software ? " (software)" : ""}` : `unavailable: ${unavailable?.reason ?? "?"}`}`);
    }
    const r = await k.runKernels([{ kernel: "matmul", shapes: [{ m: 256, n: 256, k: 256 }], backends: ["webgpu"] }], {});
    for (const f of r.section.findings) console.log(`webgpu-result: ${f.status} ${f.title}: ${f.summary}`);
    process.exit(0);'
  detail=$(grep -a "^webgpu-result:" "$LOG" | sed 's/^webgpu-result: //' | tail -4 | tr '\n' ' ' | cut -c1-600)
  record webgpu "$([ "$STEP_RC" -eq 0 ] && echo done || echo fail)" "$STEP_S" "${detail:-no adapter result (see log.txt)}"
else
  record webgpu skip 0 "no node"
fi

# --- bench (under the cost sampler) --------------------------------------------------------
if [ -n "$NODE" ]; then
  # A busy clock trace (the A/B's clock query, every 200 ms) while the kernels run: fixtures for
  # the clock-aware A/B (packages/cost-budget/test/fixtures), kept in reports.json.
  CLOCK_PID=""
  if [ "$HAVE_GPU" -eq 1 ]; then
    timeout 170 nvidia-smi --query-gpu=utilization.gpu,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv,noheader,nounits -lms 200 >"$WORK/clocks.csv" 2>>"$LOG" &
    CLOCK_PID=$!
  fi
  step bench 150 sh -c '"$@" cost watch --json -- sh -c "exec \"\$0\" bench/kernels.mjs >&2" "'"$NODE"'" > "'"$WORK/cost.json"'"' _ "${GPUCI[@]}"
  if [ -n "$CLOCK_PID" ]; then kill "$CLOCK_PID" 2>/dev/null; wait "$CLOCK_PID" 2>/dev/null || true; fi
  BENCH_TABLE=$(awk '/^\| /' "$LOG" | tail -40)
  energy=$(python3 - "$WORK/cost.json" <<'PY' 2>/dev/null | cut -c1-500
import json, sys
s = json.load(open(sys.argv[1]))
print("; ".join(f"{f['title']}: {f.get('summary', '')}" for f in s["findings"]))
PY
)
  record bench "$([ "$STEP_RC" -eq 0 ] && echo done || echo fail)" "$STEP_S" "bench/kernels.mjs under gpuci cost watch: ${energy:-cost.json unreadable}"
else
  record bench skip 0 "no node"
fi

# --- example -------------------------------------------------------------------------------
if [ -n "$NODE" ]; then
  EX_OUT=$(mktemp -d)
  step example 60 "${GPUCI[@]}" run -q -c examples/flash-attention/gpuci.yml --out "$EX_OUT"
  line=$(grep -a "^gpuci " "$LOG" | tail -1)
  record example "$([ "$STEP_RC" -le 1 ] && echo done || echo fail)" "$STEP_S" "examples/flash-attention: ${line:-no verdict line}"
  rm -rf "$EX_OUT"
else
  record example skip 0 "no node"
fi

# --- ncu: Nsight Compute's CSV from the real tool (fixtures for the ncu reader) ------------------
NCU_BIN=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
if [ "$HAVE_GPU" -eq 1 ] && [ -n "$NCU_BIN" ]; then
  PROG='import torch; a = torch.randn(1024, 1024, device="cuda"); b = a @ a; c = torch.softmax(b, 1); torch.cuda.synchronize()'
  step ncu 90 sh -c '"$0" --csv --section SpeedOfLight --launch-count 4 python3 -c "$1" > "'"$OUT/ncu.csv"'" && "$0" --csv --page raw --metrics gpu__time_duration.sum,dram__bytes.sum --launch-count 4 python3 -c "$1" > "'"$WORK/ncu-raw.csv"'"' "$NCU_BIN" "$PROG"
  record ncu "$([ "$STEP_RC" -eq 0 ] && echo done || echo fail)" "$STEP_S" "$("$NCU_BIN" --version 2>/dev/null | tail -1): $(grep -c '^"' "$OUT/ncu.csv" 2>/dev/null || echo 0) CSV lines (details page) in ncu.csv, raw page in reports.json"
elif [ "$HAVE_GPU" -eq 1 ]; then
  record ncu skip 0 "no ncu on this machine (Nsight Compute is not installed)"
fi

# --- results -------------------------------------------------------------------------------
TOTAL=$(($(date +%s) - START))
DEVICE="$( [ "$HAVE_GPU" -eq 1 ] && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || echo "no GPU ($([ "$DRY" -eq 1 ] && echo dry run || echo nvidia-smi missing))")"
printf '{"schema":"gpuci.gpu-proof/v1","date":"%s","device":%s,"dryRun":%s,"seconds":%s,"steps":[%s]}\n' \
  "$(date -u +%FT%TZ)" "$(printf '%s' "$DEVICE" | json_escape)" "$([ "$DRY" -eq 1 ] && echo true || echo false)" "$TOTAL" "$STEPS_JSON" >"$OUT/results.json"
{
  echo "### GPU proof run: $DEVICE, $(date -u +%F) ($TOTAL s)"
  echo
  echo "| step | status | time | result |"
  echo "|---|---|---|---|"
  printf '%s' "$MD_ROWS"
  if [ -n "${BENCH_TABLE:-}" ]; then
    echo
    echo "bench/kernels.mjs:"
    echo
    printf '%s\n' "$BENCH_TABLE"
  fi
} >"$OUT/results.md"
python3 - "$WORK" "$OUT/reports.json" <<'PY' 2>>"$LOG" || log "gpu-proof: reports.json not written"
import json, os, sys
work, out = sys.argv[1], sys.argv[2]
reports = {}
for name in ("preflight", "tests", "kernels", "cost"):
    path = os.path.join(work, name + ".json")
    try:
        reports[name] = json.load(open(path))
    except Exception as e:  # a step that was skipped or stopped wrote nothing readable
        reports[name] = {"unreadable": f"{type(e).__name__}: {e}"}
clocks = os.path.join(work, "clocks.csv")
if os.path.exists(clocks):
    reports["clockTrace"] = open(clocks, encoding="utf-8", errors="replace").read()[:200000]
raw = os.path.join(work, "ncu-raw.csv")
if os.path.exists(raw):
    reports["ncuRawPage"] = open(raw, encoding="utf-8", errors="replace").read()
json.dump(reports, open(out, "w"))
PY
log "gpu-proof: done in ${TOTAL} s; $(ls "$OUT" | wc -l) files in $OUT"
ls "$OUT" >&2
# A dry run fails when a step that needs no GPU failed, so CI notices a rotting script.
if grep -q '"status":"fail"' "$OUT/results.json"; then exit 1; fi
exit 0
