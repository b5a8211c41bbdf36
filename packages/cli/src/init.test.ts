import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
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
});
