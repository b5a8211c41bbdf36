import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/** What `gpuci init` found in a project, to write a gpuci.yml that fits it. */
export interface ProjectScan {
  /**
   * pytest-benchmark suites: the folder to run, the files that use the `benchmark` fixture
   * (found by content, whatever their names), the tests, and the config file whose `addopts`
   * unloads the plugin (`-p no:benchmark`), which the generated command must override.
   */
  pytestBenchmark?: { dir: string; files: string[]; tests: string[]; pluginDisabledBy?: string };
  /** A Google Benchmark source (single file, built with g++ -lbenchmark) and its benchmarks. */
  googleBenchmark?: { file: string; benchmarks: string[] };
  /** go test benchmarks: the package folders and the Benchmark functions. */
  goBench?: { dirs: string[]; benchmarks: string[] };
  /** cargo bench: Criterion (a dev-dependency) or libtest #[bench], and the bench targets. */
  cargoBench?: { criterion: boolean; benches: string[] };
  /** JMH benchmarks (a Maven or Gradle build that depends on jmh-core). */
  jmh?: { build: "maven" | "gradle"; file: string };
  /** BenchmarkDotNet: the project that references it. */
  benchmarkDotNet?: { project: string };
  /** asv: its config file. */
  asv?: { config: string };
  /** nvbench: the CMake file that uses it. */
  nvbench?: { cmake: string };
  /** hyperfine on PATH and a Makefile `bench` target to time with it. */
  hyperfine?: { command: string };
  /** Folders holding CUDA sources (`*.cu`). */
  cudaDirs: string[];
  /** A Python training script, and whether it imports torch. */
  training?: { file: string; torch: boolean };
  /** Benchmark commands the project's own workflows run (file: line), to compare with. */
  workflowBenchmarks?: string[];
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
        if (!SKIP_DIRS.has(e.name) && (!e.name.startsWith(".") || e.name === ".github"))
          await walk(full, depth + 1);
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

  // pytest-benchmark by content: a test function that takes the `benchmark` fixture, in any
  // Python file (jab/bidict keeps its suite in microbenchmarks.py).
  const pyFiles: Array<{ file: string; tests: string[] }> = [];
  for (const f of files.filter((x) => x.endsWith(".py")).slice(0, 2000)) {
    const text = await readSmall(join(root, f));
    if (!text.includes("benchmark")) continue;
    // A parametrized test's results are named test_x[param]: the gate selects them with a glob.
    const tests = [
      ...text.matchAll(/((?:^[ \t]*@[^\n]*\n)*)[ \t]*def\s+(test_\w+)\s*\([^)]*\bbenchmark\b/gm),
    ].map((m) => (/parametrize/.test(m[1] ?? "") ? `${m[2]}[*]` : m[2]!));
    if (tests.length) pyFiles.push({ file: f, tests });
  }
  if (pyFiles.length) {
    scan.pytestBenchmark = {
      dir: commonDir(pyFiles.map((p) => p.file)),
      files: pyFiles.map((p) => p.file),
      tests: pyFiles.flatMap((p) => p.tests),
    };
    // The project's pytest config may unload the plugin for its normal test runs.
    for (const cfg of ["pyproject.toml", "pytest.ini", "tox.ini", "setup.cfg"]) {
      if (!files.includes(cfg)) continue;
      const text = await readSmall(join(root, cfg));
      if (/-p\s*["',]*\s*["']?no:benchmark|-pno:benchmark|--benchmark-disable\b/.test(text)) {
        scan.pytestBenchmark.pluginDisabledBy = cfg;
        break;
      }
    }
  }

  // go test -bench: func BenchmarkX(b *testing.B) in _test.go files.
  const goFiles: Array<{ dir: string; names: string[] }> = [];
  for (const f of files.filter((x) => x.endsWith("_test.go")).slice(0, 2000)) {
    const names = [
      ...(await readSmall(join(root, f))).matchAll(/^func\s+(Benchmark\w*)\s*\(\s*\w+\s+\*testing\.B\s*\)/gm),
    ].map((m) => m[1]!);
    if (names.length) goFiles.push({ dir: dirOf(f), names });
  }
  if (goFiles.length)
    scan.goBench = {
      dirs: [...new Set(goFiles.map((g) => g.dir))],
      benchmarks: goFiles.flatMap((g) => g.names),
    };

  // cargo bench: Criterion as a dev-dependency, or libtest #[bench] in benches/.
  if (files.includes("Cargo.toml")) {
    const cargo = await readSmall(join(root, "Cargo.toml"));
    const benches = files.filter((f) => /^benches\/[^/]+\.rs$/.test(f)).map((f) => f.slice(8, -3));
    const criterion = /^\s*criterion\s*=/m.test(cargo);
    if (criterion || benches.length) scan.cargoBench = { criterion, benches };
  }

  // JMH (Maven or Gradle), BenchmarkDotNet, asv, nvbench.
  for (const [build, file] of [
    ["maven", "pom.xml"],
    ["gradle", "build.gradle"],
    ["gradle", "build.gradle.kts"],
  ] as const)
    if (
      files.includes(file) &&
      /jmh-core|me\.champeau\.jmh|jmh-generator/.test(await readSmall(join(root, file)))
    ) {
      scan.jmh = { build, file };
      break;
    }
  for (const f of files.filter((x) => x.endsWith(".csproj") || x.endsWith(".fsproj")))
    if (/BenchmarkDotNet/.test(await readSmall(join(root, f)))) {
      scan.benchmarkDotNet = { project: f };
      break;
    }
  const asvConfig = files.find((f) => /(^|\/)asv\.conf\.jsonc?$/.test(f));
  if (asvConfig) scan.asv = { config: asvConfig };
  for (const f of files.filter((x) => /(^|\/)CMakeLists\.txt$/.test(x)))
    if (/nvbench/i.test(await readSmall(join(root, f)))) {
      scan.nvbench = { cmake: f };
      break;
    }

  // What the project's own workflows already run to benchmark.
  const bench =
    /(pytest\b.*--benchmark|pytest\b.*bench|go test\b.*-bench|cargo bench|asv (run|continuous)|hyperfine|--benchmark_out|\bjmh\b|BenchmarkDotNet|nvbench)/;
  const found: string[] = [];
  for (const f of files.filter((x) => /^\.github\/workflows\/[^/]+\.ya?ml$/.test(x))) {
    for (const [i, line] of (await readSmall(join(root, f))).split("\n").entries())
      if (bench.test(line) && !/^\s*#/.test(line)) found.push(`${f}:${i + 1}: ${line.trim().slice(0, 120)}`);
  }
  if (found.length) scan.workflowBenchmarks = found.slice(0, 5);

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
    const { files, tests, pluginDisabledBy } = scan.pytestBenchmark;
    // The files are named on the command line, so pytest collects them whatever python_files
    // says; an addopts that unloads pytest-benchmark (or turns on xdist) is cleared for this run.
    run.push(
      "  - name: pytest-benchmark",
      ...(pluginDisabledBy
        ? [`    # ${pluginDisabledBy}'s addopts unloads pytest-benchmark: -o addopts= clears it for this run`]
        : []),
      `    command: mkdir -p .gpuci && python3 -m pytest${pluginDisabledBy ? ' -o addopts=""' : ""} ${files.slice(0, 8).join(" ")} --benchmark-only --benchmark-json .gpuci/pytest-benchmark.json -q`,
      "    timeoutMinutes: 30",
    );
    artifacts.push(".gpuci/pytest-benchmark.json");
    for (const t of tests.slice(0, 5))
      gates.push(
        `  - id: ${t.replace(/\[\*\]$/, "").replace(/[^A-Za-z0-9._-]/g, "-")}`,
        `    metric: { file: .gpuci/pytest-benchmark.json, format: pytest-benchmark, name: ${q(t)}, stat: median }${t.endsWith("[*]") ? "   # one gate per parameter set" : ""}`,
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
  if (scan.goBench) {
    run.push(
      "  - name: go-bench",
      "    command: mkdir -p .gpuci && go test -run '^$' -bench . -benchmem -count 5 ./... > .gpuci/go-bench.txt",
      "    timeoutMinutes: 30",
    );
    artifacts.push(".gpuci/go-bench.txt");
    for (const b of scan.goBench.benchmarks.slice(0, 5))
      gates.push(
        `  - id: ${b.replace(/[^A-Za-z0-9._-]/g, "-")}`,
        `    metric: { file: .gpuci/go-bench.txt, format: go-bench, name: ${q(`/^${b}(\\/|$)/`)} }   # ${b} and its sub-benchmarks, one gate each; -count 5 gives the samples`,
        '    baseline: { history: true, maxRegression: "5%" }',
      );
  }
  if (scan.cargoBench) {
    const { criterion } = scan.cargoBench;
    run.push(
      "  - name: cargo-bench",
      `    command: mkdir -p .gpuci && cargo bench${criterion ? " -- --output-format bencher" : ""} > .gpuci/cargo-bench.txt`,
      "    timeoutMinutes: 60",
    );
    artifacts.push(".gpuci/cargo-bench.txt");
    gates.push(
      "  - id: cargo-bench",
      '    metric: { file: .gpuci/cargo-bench.txt, format: rust-libtest, name: "*" }   # every benchmark, one gate each',
      '    baseline: { history: true, maxRegression: "5%" }',
    );
  }
  if (scan.jmh) {
    run.push(
      "  - name: jmh",
      scan.jmh.build === "maven"
        ? "    command: mkdir -p .gpuci && mvn -q -DskipTests package && java -jar target/benchmarks.jar -rf json -rff .gpuci/jmh.json"
        : "    command: mkdir -p .gpuci && ./gradlew jmh && cp build/results/jmh/results.json .gpuci/jmh.json   # set jmh { resultFormat = 'JSON' }",
      "    timeoutMinutes: 60",
    );
    artifacts.push(".gpuci/jmh.json");
    gates.push(
      "  - id: jmh",
      '    metric: { file: .gpuci/jmh.json, format: jmh, name: "*" }   # direction from each benchmark\'s mode',
      '    baseline: { history: true, maxRegression: "5%" }',
    );
  }
  if (scan.benchmarkDotNet)
    run.push(
      "  - name: benchmarkdotnet",
      `    command: mkdir -p .gpuci && dotnet run -c Release --project ${scan.benchmarkDotNet.project} -- --filter '*' --exporters json --artifacts .gpuci/bdn`,
      "    timeoutMinutes: 60",
      '    # gate it with: metric: { file: .gpuci/bdn/results/<Namespace.Class>-report-full.json, format: benchmarkdotnet, name: "*" }',
    );
  if (scan.asv)
    run.push(
      "  - name: asv",
      `    command: asv run --config ${scan.asv.config} --quick --show-stderr HEAD^!`,
      "    timeoutMinutes: 60",
      '    # gate it with: metric: { file: .asv/results/<machine>/<commit>-<env>.json, format: asv, name: "time_*" }',
    );
  if (scan.nvbench)
    run.push(
      "  - name: nvbench",
      "    command: mkdir -p .gpuci && ./build/bench/my_bench --json .gpuci/nvbench.json   # your nvbench binary",
      "    timeoutMinutes: 60",
      '    # gate it with: metric: { file: .gpuci/nvbench.json, format: nvbench, name: "my_bench Device=0 *" }',
    );
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
  if (scan.pytestBenchmark?.pluginDisabledBy)
    out.push(
      `${scan.pytestBenchmark.pluginDisabledBy} unloads pytest-benchmark in addopts (the generated command clears it)`,
    );
  if (scan.goBench)
    out.push(
      `go benchmarks in ${scan.goBench.dirs.slice(0, 3).join(", ")}: ${scan.goBench.benchmarks.slice(0, 5).join(", ")}`,
    );
  if (scan.cargoBench)
    out.push(
      `cargo bench (${scan.cargoBench.criterion ? "Criterion" : "libtest"}${scan.cargoBench.benches.length ? `: ${scan.cargoBench.benches.join(", ")}` : ""})`,
    );
  if (scan.jmh) out.push(`JMH in ${scan.jmh.file}`);
  if (scan.benchmarkDotNet) out.push(`BenchmarkDotNet in ${scan.benchmarkDotNet.project}`);
  if (scan.asv) out.push(`asv (${scan.asv.config})`);
  if (scan.nvbench) out.push(`nvbench in ${scan.nvbench.cmake}`);
  if (scan.hyperfine) out.push(`a Makefile bench target, timed with hyperfine`);
  for (const w of scan.workflowBenchmarks ?? []) out.push(`your workflow already benchmarks at ${w}`);
  if (scan.cudaDirs.length) out.push(`CUDA sources in ${scan.cudaDirs.join(", ")}`);
  if (scan.training)
    out.push(`a training script ${scan.training.file}${scan.training.torch ? " (PyTorch)" : ""}`);
  return out;
}
