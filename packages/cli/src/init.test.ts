import { execFileSync, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateYaml } from "./config/load.js";
import { ConfigSchema } from "./config/schema.js";
import { renderConfig, scanProject } from "./init.js";

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "gpuci-scan-"));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

describe("gpuci init's project scan", () => {
  it("finds Google Benchmark, CUDA sources, a PyTorch training script and a make bench for hyperfine", async () => {
    const dir = await project({
      "bench/bm.cc":
        "#include <benchmark/benchmark.h>\nstatic void BM_Copy(benchmark::State& s) {}\nBENCHMARK(BM_Copy);\n",
      "csrc/attn.cu": "__global__ void k() {}\n",
      "scripts/train_model.py": "import torch\nprint(torch.cuda.is_available())\n",
      Makefile: "bench:\n\t./run-bench\n",
      "node_modules/x/test_y.py": "def test_z(benchmark): pass\n",
    });
    const scan = await scanProject(dir, (p) => p === "hyperfine");
    expect(scan).toEqual({
      cudaDirs: ["csrc"],
      googleBenchmark: { file: "bench/bm.cc", benchmarks: ["BM_Copy"] },
      hyperfine: { command: "make bench" },
      training: { file: "scripts/train_model.py", torch: true },
    });
    const text = renderConfig(scan);
    expect(text).toContain('files: ["csrc/*.cu"]');
    expect(text).toContain("python: { torch: true }");
    expect(text).toContain("gpu: { min: 1 }");
    const config = validateYaml(ConfigSchema, text, "gpuci.yml");
    expect(config.run?.map((r) => r.name)).toEqual(["google-benchmark", "hyperfine", "train"]);
    expect(config.gates?.map((g) => g.id)).toEqual(["BM_Copy", "make-bench"]);
  });

  it("writes a valid starting config for an empty project", async () => {
    const scan = await scanProject(await project({}), () => false);
    expect(scan).toEqual({ cudaDirs: [] });
    const config = validateYaml(ConfigSchema, renderConfig(scan), "gpuci.yml");
    expect(config.preflight?.gpu.min).toBe(0);
    expect(config.run).toBeUndefined();
  });

  it("finds a pytest-benchmark suite by content and works around addopts that unload the plugin (as jab/bidict does)", async () => {
    const dir = await project({
      // Like jab/bidict: the suite is microbenchmarks.py (not test_*.py), and the project's
      // pytest config unloads pytest-benchmark and turns on xdist for its normal test runs.
      "microbenchmarks.py": [
        "import pytest",
        "",
        "def test_sum(benchmark):",
        "    benchmark(sum, range(100))",
        "",
        '@pytest.mark.parametrize("n", [10, 20])',
        "def test_sorted(benchmark, n):",
        "    benchmark(sorted, list(range(n, 0, -1)))",
        "",
      ].join("\n"),
      "pytest.ini": "[pytest]\naddopts = -vv --numprocesses=auto -p no:benchmark\n",
      ".github/workflows/benchmark.yml":
        "jobs:\n  b:\n    steps:\n      - run: pytest -c /dev/null -n0 --benchmark-autosave microbenchmarks.py\n",
    });
    const scan = await scanProject(dir, () => false);
    expect(scan.pytestBenchmark).toEqual({
      dir: ".",
      files: ["microbenchmarks.py"],
      tests: ["test_sum", "test_sorted[*]"],
      pluginDisabledBy: "pytest.ini",
    });
    expect(scan.workflowBenchmarks).toEqual([
      ".github/workflows/benchmark.yml:4: - run: pytest -c /dev/null -n0 --benchmark-autosave microbenchmarks.py",
    ]);
    const text = renderConfig(scan);
    const config = validateYaml(ConfigSchema, text, "gpuci.yml");
    const command = config.run![0]!.command as string;
    expect(command).toContain('-o addopts="" microbenchmarks.py --benchmark-only');
    // The generated command really runs the suite with the project's config in place (pytest and
    // pytest-benchmark from Debian, as .ci installs them); without the override it would not.
    const plain = spawnSync("sh", ["-c", "python3 -m pytest microbenchmarks.py --benchmark-only -q"], {
      cwd: dir,
      encoding: "utf8",
    });
    expect(plain.status).not.toBe(0);
    // (PYTEST_ADDOPTS only shortens the benchmark rounds for the test's time budget.)
    execFileSync("sh", ["-c", command], {
      cwd: dir,
      stdio: "ignore",
      env: {
        ...process.env,
        PYTEST_ADDOPTS: "--benchmark-max-time=0.02 --benchmark-min-rounds=3 --benchmark-warmup=off",
      },
    });
    const json = JSON.parse(await readFile(join(dir, ".gpuci/pytest-benchmark.json"), "utf8"));
    expect(json.benchmarks.map((b: { name: string }) => b.name).sort()).toEqual([
      "test_sorted[10]",
      "test_sorted[20]",
      "test_sum",
    ]);
    expect(config.gates?.map((g) => g.metric?.name)).toEqual(["test_sum", "test_sorted[*]"]);
  }, 60_000);

  it("finds go, cargo and JMH benchmarks and writes commands and gates for their formats", async () => {
    const dir = await project({
      "pkg/fib_test.go":
        'package pkg\nimport "testing"\nfunc BenchmarkFib(b *testing.B) {\n\tb.Run("10", func(b *testing.B) {})\n}\n',
      "Cargo.toml": '[package]\nname = "x"\n[dev-dependencies]\ncriterion = "0.5"\n',
      "benches/parse.rs": "fn main() {}\n",
      "pom.xml":
        "<project><dependencies><dependency><artifactId>jmh-core</artifactId></dependency></dependencies></project>",
    });
    const scan = await scanProject(dir, () => false);
    expect(scan).toMatchObject({
      goBench: { dirs: ["pkg"], benchmarks: ["BenchmarkFib"] },
      cargoBench: { criterion: true, benches: ["parse"] },
      jmh: { build: "maven", file: "pom.xml" },
    });
    const config = validateYaml(ConfigSchema, renderConfig(scan), "gpuci.yml");
    expect(config.run?.map((r) => r.name)).toEqual(["go-bench", "cargo-bench", "jmh"]);
    expect(config.gates?.map((g) => [g.metric?.format, g.metric?.name])).toEqual([
      ["go-bench", "/^BenchmarkFib(\\/|$)/"],
      ["rust-libtest", "*"],
      ["jmh", "*"],
    ]);
    expect(config.preflight?.gpu.min).toBe(0); // a CPU-only project's first run needs no GPU
  });
});
