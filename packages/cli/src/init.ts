import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/** What `gpuci init` found in a project, to write a gpuci.yml that fits it. */
export interface ProjectScan {
  /** pytest-benchmark suites: the folder to run and the benchmark tests found. */
  pytestBenchmark?: { dir: string; tests: string[] };
  /** A Google Benchmark source (single file, built with g++ -lbenchmark) and its benchmarks. */
  googleBenchmark?: { file: string; benchmarks: string[] };
  /** hyperfine on PATH and a Makefile `bench` target to time with it. */
  hyperfine?: { command: string };
  /** Folders holding CUDA sources (`*.cu`). */
  cudaDirs: string[];
  /** A Python training script, and whether it imports torch. */
  training?: { file: string; torch: boolean };
}

const SKIP_DIRS = new Set([
  ".git",
  "node_modules",
  ".venv",
  "venv",
  "__pycache__",
  "dist",
  "build",
  ".gpuci",
  ".tox",
  ".mypy_cache",
  ".pytest_cache",
  "site-packages",
]);
const MAX_FILES = 20_000;
const MAX_DEPTH = 6;
const MAX_READ = 512 * 1024;

/** Project files, relative with forward slashes, skipping dependency and build folders. */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number) => {
    if (depth > MAX_DEPTH || out.length >= MAX_FILES) return;
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (out.length >= MAX_FILES) return;
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith(".")) await walk(full, depth + 1);
      } else if (e.isFile()) out.push(relative(root, full).split(sep).join("/"));
    }
  };
  await walk(root, 0);
  return out;
}

async function readSmall(path: string): Promise<string> {
  try {
    const text = await readFile(path, "utf8");
    return text.length > MAX_READ ? text.slice(0, MAX_READ) : text;
  } catch {
    return "";
  }
}

const dirOf = (file: string) => (file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".");

/** The deepest folder that holds every file given. */
function commonDir(files: string[]): string {
  const parts = files.map((f) => dirOf(f).split("/"));
  const first = parts[0] ?? ["."];
  let n = 0;
  while (n < first.length && parts.every((p) => p[n] === first[n])) n++;
  return n === 0 ? "." : first.slice(0, n).join("/");
}

/**
 * Look at a project the way a person setting up gpuci would: benchmark suites
 * (pytest-benchmark, Google Benchmark, a `make bench` for hyperfine), CUDA sources, and a
 * Python training script. Reads at most 20,000 files, skipping dependency and build folders.
 */
export async function scanProject(root: string, onPath: (program: string) => boolean): Promise<ProjectScan> {
  const files = await listFiles(root);
  const scan: ProjectScan = { cudaDirs: [] };

  const pyFiles: Array<{ file: string; tests: string[] }> = [];
  for (const f of files.filter((x) => /(^|\/)(test_[^/]*|[^/]*_test)\.py$/.test(x))) {
    const text = await readSmall(join(root, f));
    const tests = [...text.matchAll(/def\s+(test_\w+)\s*\([^)]*\bbenchmark\b/g)].map((m) => m[1]!);
    if (tests.length) pyFiles.push({ file: f, tests });
  }
  if (pyFiles.length)
    scan.pytestBenchmark = {
      dir: commonDir(pyFiles.map((p) => p.file)),
      tests: pyFiles.flatMap((p) => p.tests),
    };

  for (const f of files.filter((x) => /\.(cc|cpp|cxx)$/.test(x))) {
    const text = await readSmall(join(root, f));
    if (!text.includes("benchmark/benchmark.h")) continue;
    const benchmarks = [...text.matchAll(/^\s*BENCHMARK\((\w+)\)/gm)].map((m) => m[1]!);
    scan.googleBenchmark = { file: f, benchmarks };
    break;
  }

  if (files.includes("Makefile") && onPath("hyperfine")) {
    const make = await readSmall(join(root, "Makefile"));
    if (/^bench\s*:/m.test(make)) scan.hyperfine = { command: "make bench" };
  }

  scan.cudaDirs = [...new Set(files.filter((f) => f.endsWith(".cu")).map(dirOf))].slice(0, 5);

  const train = files.find((f) => /(^|\/)train[^/]*\.py$/.test(f));
  if (train) {
    const text = await readSmall(join(root, train));
    scan.training = { file: train, torch: /^\s*(import torch|from torch\b)/m.test(text) };
  }
  return scan;
}

const q = (s: string) => JSON.stringify(s);

/** A commented gpuci.yml for what the scan found; every section it writes is one gpuci runs. */
export function renderConfig(scan: ProjectScan): string {
  const gpuWork = Boolean(scan.cudaDirs.length || scan.training?.torch);
  const lines: string[] = [
    "# yaml-language-server: $schema=https://raw.githubusercontent.com/gpuci/gpuci/main/schema/gpuci.schema.json",
    "# Written by `gpuci init` for what it found in this project. Every key is checked when gpuci",
    "# runs; `gpuci help run` and the README describe them. Try it locally: npx gpuci run",
    "",
    "preflight:                      # checks the runner before any GPU minute is spent",
    `  gpu: { min: ${gpuWork ? 1 : 0} }${gpuWork ? "              # fail fast on a runner without a working GPU" : "              # nothing here needs a GPU yet; set min: 1 for GPU jobs"}`,
  ];
  if (scan.cudaDirs.length) {
    lines.push(
      "  cuda: { nvcc: true }           # the CUDA toolkit must be on PATH (gpuci fixes a missing PATH)",
    );
    lines.push(`  files: [${scan.cudaDirs.map((d) => q(d === "." ? "*.cu" : `${d}/*.cu`)).join(", ")}]`);
  }
  if (scan.training?.torch)
    lines.push("  python: { torch: true }        # torch must import and run a tiny CUDA op");

  const run: string[] = [];
  const gates: string[] = [];
  const artifacts: string[] = [];
  if (scan.pytestBenchmark) {
    const { dir, tests } = scan.pytestBenchmark;
    run.push(
      "  - name: pytest-benchmark",
      `    command: mkdir -p .gpuci && python3 -m pytest ${dir === "." ? "" : `${dir} `}--benchmark-only --benchmark-json .gpuci/pytest-benchmark.json -q`,
      "    timeoutMinutes: 30",
    );
    artifacts.push(".gpuci/pytest-benchmark.json");
    for (const t of tests.slice(0, 5))
      gates.push(
        `  - id: ${t.replace(/[^A-Za-z0-9._-]/g, "-")}`,
        `    metric: { file: .gpuci/pytest-benchmark.json, format: pytest-benchmark, name: ${t}, stat: median }`,
        '    baseline: { history: true, maxRegression: "5%" }   # judged against earlier runs on the base branch',
      );
  }
  if (scan.googleBenchmark) {
    const { file, benchmarks } = scan.googleBenchmark;
    run.push(
      "  - name: google-benchmark",
      `    command: mkdir -p .gpuci && g++ -O2 -std=c++17 ${file} -lbenchmark -lpthread -o .gpuci/gbench && .gpuci/gbench --benchmark_repetitions=10 --benchmark_out=.gpuci/google-benchmark.json --benchmark_out_format=json`,
      "    timeoutMinutes: 30",
    );
    artifacts.push(".gpuci/google-benchmark.json");
    for (const b of benchmarks.slice(0, 5))
      gates.push(
        `  - id: ${b.replace(/[^A-Za-z0-9._-]/g, "-")}`,
        `    metric: { file: .gpuci/google-benchmark.json, format: google-benchmark, name: ${b} }`,
        '    baseline: { history: true, maxRegression: "5%" }',
      );
  }
  if (scan.hyperfine) {
    run.push(
      "  - name: hyperfine",
      `    command: mkdir -p .gpuci && hyperfine --runs 10 --export-json .gpuci/hyperfine.json ${q(scan.hyperfine.command)}`,
      "    timeoutMinutes: 30",
    );
    artifacts.push(".gpuci/hyperfine.json");
    gates.push(
      "  - id: make-bench",
      "    metric: { file: .gpuci/hyperfine.json, format: hyperfine, stat: median }",
      '    baseline: { history: true, maxRegression: "5%" }',
    );
  }
  if (scan.training) {
    run.push(
      "  - name: train",
      `    command: python3 ${scan.training.file}`,
      "    timeoutMinutes: 120           # the watchdog stops the whole process group after this",
    );
  }
  if (run.length)
    lines.push("", "run:                            # run in order, streamed, recorded", ...run);
  if (gates.length)
    lines.push(
      "",
      "gates:                          # verdicts over what the commands wrote",
      ...gates,
      "",
      "history:                        # where earlier results live (the first base-branch run becomes the baseline)",
      "  store: file",
      "  baseBranch: main",
    );
  lines.push(
    "",
    "provenance:                     # what ran, where, on which GPU; outputs hashed",
    `  artifacts: [${artifacts.map(q).join(", ")}]`,
    "",
    "cost:                           # priced from the built-in GPU price table",
    "  budget: { run: 5.00, runMinutes: 120 }   # USD and minutes; the watchdog stops the run past either",
    "",
  );
  return lines.join("\n");
}

/** A GitHub workflow that runs gpuci on a self-hosted GPU runner and posts the sticky comment. */
export function renderWorkflow(): string {
  return `# Written by \`gpuci init\`: runs gpuci.yml on a self-hosted GPU runner for every pull request
# and push to main, and posts one sticky comment with the verdict on the pull request.
name: gpuci
on:
  pull_request:
  push:
    branches: [main]

permissions: {}

concurrency:
  group: gpuci-\${{ github.ref }}
  cancel-in-progress: true

jobs:
  gpuci:
    runs-on: [self-hosted, gpu] # the labels of your GPU runner
    timeout-minutes: 120
    permissions:
      contents: read
      pull-requests: write # the sticky comment
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # history baselines and A/B need the base branch
      - uses: gpuci/gpuci/actions/gpuci@v1
        with:
          config: gpuci.yml
          comment: on-change
          fail-on: fail
      - name: Keep the report
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: gpuci-report
          path: .gpuci/
`;
}

/** One sentence per thing found, for the user to read. */
export function describeScan(scan: ProjectScan): string[] {
  const out: string[] = [];
  if (scan.pytestBenchmark)
    out.push(
      `pytest-benchmark in ${scan.pytestBenchmark.dir}: ${scan.pytestBenchmark.tests.length} benchmark test(s) (${scan.pytestBenchmark.tests.slice(0, 5).join(", ")})`,
    );
  if (scan.googleBenchmark)
    out.push(
      `Google Benchmark in ${scan.googleBenchmark.file}: ${scan.googleBenchmark.benchmarks.join(", ") || "no BENCHMARK() found"}`,
    );
  if (scan.hyperfine) out.push(`a Makefile bench target, timed with hyperfine`);
  if (scan.cudaDirs.length) out.push(`CUDA sources in ${scan.cudaDirs.join(", ")}`);
  if (scan.training)
    out.push(`a training script ${scan.training.file}${scan.training.torch ? " (PyTorch)" : ""}`);
  return out;
}
