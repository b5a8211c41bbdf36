import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(root, "packages/cli/dist/bin.js");
const fakeBin = join(root, "packages/preflight/test/fake-bin");
const fixtures = join(root, "packages/preflight/test/fixtures");

/** Run the built gpuci CLI for real. */
function gpuci(args: string[], cwd = root, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the built gpuci CLI", () => {
  it("is built (run `npm run build` first)", () => {
    expect(existsSync(bin)).toBe(true);
  });

  it("a reader that closes gpuci's stdout early (gpuci run | head -1) ends the output, not the run", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-epipe-"));
    await writeFile(
      join(dir, "gpuci.yml"),
      'run:\n  - { name: loud, command: "seq 1 200000; echo \'{\\"v\\":1}\' > m.jsonl" }\ngates:\n  - { id: v, metric: { file: m.jsonl, field: v }, max: 2 }\n',
    );
    const r = spawnSync(
      "bash",
      ["-c", `node ${JSON.stringify(bin)} run -c gpuci.yml --out out | head -1; exit \${PIPESTATUS[0]}`],
      {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
        timeout: 60_000,
      },
    );
    expect(r.stderr).not.toMatch(/internal error|EPIPE/);
    expect(r.stdout).toBe("1\n");
    expect(r.status).toBe(0);
    const report = JSON.parse(await readFile(join(dir, "out/report.json"), "utf8"));
    expect(report.status).toBe("pass");
  });

  it("runs the quickstart end to end: every stage, a red-flag warning, the comment beside the report", async () => {
    const out = await mkdtemp(join(tmpdir(), "gpuci-qs-"));
    const r = gpuci(["run", "-c", "examples/quickstart/gpuci.yml", "--out", out]);
    expect(r.stderr).toContain("gpuci: ▶ fake-train");
    expect(r.stderr).toMatch(/gpuci: ■ fake-train: pass \(\d+ ms\)/);
    expect(r.stdout).toContain("wrote out/metrics.json and train-log.jsonl");
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
    expect(report.schema).toBe("gpuci.report/v1");
    expect(report.status).toBe("warn");
    const sections = Object.fromEntries(report.sections.map((s: { id: string }) => [s.id, s]));
    expect(Object.keys(sections)).toEqual(["preflight", "run", "ab", "cost", "gates", "provenance"]);
    expect(sections.ab.findings.find((f: { id: string }) => f.id === "ab.loss")).toMatchObject({
      status: "pass",
      data: { verdict: "unchanged" },
    });
    expect(sections.run.findings[0]).toMatchObject({ id: "run.fake-train", status: "pass" });
    expect(sections.run.findings[0].details).toContain("step 20/20");
    const gates = Object.fromEntries(sections.gates.findings.map((f: { id: string }) => [f.id, f]));
    expect(gates["gate.converged"].status).toBe("pass");
    expect(gates["gate.no-gradient-spike"]).toMatchObject({
      status: "warn",
      summary: expect.stringMatching(/is not ≤ 2/),
    });
    expect(await readFile(join(out, "report.md"), "utf8")).toContain("gpuci passed with warnings");
    const comment = await readFile(join(out, "comment.md"), "utf8");
    expect(comment.split("\n")[0]).toBe("<!-- gpuci:comment id=default -->");
    expect(comment).toContain("gradient norm stays under 2");
    expect(r.stderr).toContain(`${join(out, "comment.md")} (the pull-request comment)`);
  });

  it("npx gpuci works right after npm ci: the committed bin entry loads dist/", () => {
    const linked = join(root, "node_modules/.bin/gpuci");
    const r = spawnSync(linked, ["--version"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("gpuci init writes a config for a pytest-benchmark project that gpuci run accepts, and never overwrites without --force", async (ctx) => {
    const probe = spawnSync("python3", ["-c", "import pytest_benchmark"], { encoding: "utf8" });
    if (probe.status !== 0) ctx.skip(); // bash .ci/install-debian-packages installs python3-pytest-benchmark
    const dir = await mkdtemp(join(tmpdir(), "gpuci-init-"));
    await mkdir(join(dir, "benches"));
    await writeFile(
      join(dir, "benches/test_ops.py"),
      "def add(n):\n    return sum(range(n))\n\ndef test_add_small(benchmark):\n    assert benchmark(add, 1000) == 499500\n",
    );
    const init = gpuci(["init"], dir);
    expect(init.code).toBe(0);
    expect(init.stderr).toContain("found pytest-benchmark in benches: 1 benchmark test(s) (test_add_small)");
    const config = await readFile(join(dir, "gpuci.yml"), "utf8");
    expect(config).toContain('format: pytest-benchmark, name: "test_add_small"');
    expect(await readFile(join(dir, ".github/workflows/gpuci.yml"), "utf8")).toContain(
      "gpuci/gpuci/actions/gpuci@v1",
    );

    const run = gpuci(["run", "--out", "out"], dir);
    expect(run.code).toBe(0);
    const report = JSON.parse(await readFile(join(dir, "out/report.json"), "utf8"));
    const gate = report.sections
      .find((s: { id: string }) => s.id === "gates")
      .findings.find((f: { id: string }) => f.id === "gate.test_add_small");
    expect(gate).toMatchObject({
      status: "skip",
      summary: expect.stringMatching(/no baseline in history yet/),
    });

    await writeFile(join(dir, "gpuci.yml"), "run: []\n");
    const again = gpuci(["init"], dir);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("kept gpuci.yml: it exists (pass --force to replace it)");
    expect(await readFile(join(dir, "gpuci.yml"), "utf8")).toBe("run: []\n");
    expect(gpuci(["init", "--force"], dir).code).toBe(0);
    expect(await readFile(join(dir, "gpuci.yml"), "utf8")).toBe(config);
  });

  it("exits 1 when a command fails, keeps its output tail, and skips the commands after it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-fail-"));
    await writeFile(
      join(dir, "gpuci.yml"),
      "run:\n  - name: broken\n    command: \"echo 'CUDA error - misaligned address' >&2; exit 3\"\n  - name: later\n    command: echo never\n",
    );
    const r = gpuci(["run", "--out", "out"], dir);
    expect(r.code).toBe(1);
    const report = JSON.parse(await readFile(join(dir, "out/report.json"), "utf8"));
    const [broken, later] = report.sections[0].findings;
    expect(broken).toMatchObject({ status: "fail", summary: expect.stringMatching(/exited with code 3/) });
    expect(broken.details).toContain("misaligned address");
    expect(later).toMatchObject({ status: "skip", summary: 'not run: "broken" failed before it' });
    expect(r.stdout).not.toContain("never");
  });

  it("stops a command at its timeout", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-timeout-"));
    await writeFile(
      join(dir, "gpuci.yml"),
      "run:\n  - name: slow\n    command: sleep 30\n    timeoutMinutes: 0.01\n",
    );
    const t0 = Date.now();
    const r = gpuci(["run"], dir);
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const report = JSON.parse(await readFile(join(dir, ".gpuci/report.json"), "utf8"));
    expect(report.sections[0].findings[0].summary).toMatch(
      /stopped by the watchdog after \d+ ms: timeoutMinutes is 0.01/,
    );
  });

  it("exits 2 with a located message for a bad config, and writes nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-bad-"));
    await writeFile(join(dir, "gpuci.yml"), "runn:\n  - name: a\n    command: x\n");
    const r = gpuci(["run"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/gpuci\.yml:1:1 {2}runn: unknown key "runn"\. Did you mean "run"\?/);
    expect(r.stderr).toContain("GPUCI_CONFIG_INVALID");
    expect(existsSync(join(dir, ".gpuci"))).toBe(false);
  });

  it("checks --out before any command runs: a file, an unwritable folder or a full disk is exit 2 and nothing runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-out-"));
    await writeFile(join(dir, "gpuci.yml"), "run:\n  - name: side-effect\n    command: touch ran.txt\n");
    await writeFile(join(dir, "afile"), "keep me\n");
    const file = gpuci(["run", "--out", "afile"], dir);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/--out .*afile is a file, not a folder\. Pass a folder/);
    expect(file.stderr).not.toContain("internal error");
    expect(await readFile(join(dir, "afile"), "utf8")).toBe("keep me\n");
    const full = gpuci(["run", "--out", "/dev/full/x"], dir);
    expect(full.code).toBe(2);
    expect(full.stderr).toMatch(/GPUCI_OUT_UNUSABLE/);
    expect(existsSync(join(dir, "ran.txt"))).toBe(false);
  });

  it("exits 2 for usage errors, with a did-you-mean for verbs", () => {
    const r = gpuci(["rn"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Did you mean "gpuci run"?');
    const flag = gpuci(["run", "--bogus"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--bogus.*gpuci help run/s);
  });

  it("gpuci preflight --json prints the Section with the GPU inventory", () => {
    const r = gpuci(["preflight", "--json"], root, {
      PATH: `${fakeBin}:${process.env.PATH}`,
      FAKE_NVIDIA_SMI_XML: join(fixtures, "l4-x2-driver-555.xml"),
    });
    const section = JSON.parse(r.stdout);
    expect(section.id).toBe("preflight");
    const inventory = section.findings.find((f: { id: string }) => f.id === "gpu.inventory");
    expect(inventory.data.gpus[1]).toMatchObject({
      name: "NVIDIA L4",
      uuid: "GPU-128ab6fb-6ec9-fd74-b479-4a5fd14f55bd",
      driverVersion: "555.42.06",
      cudaVersion: "12.5",
    });
    // The L4 pair has foreign processes and a narrow link (warnings), but this machine's nvcc is
    // newer than the CUDA 12.5 its driver supports: a failure, so exit 1.
    const failing = section.findings
      .filter((f: { status: string }) => f.status === "fail")
      .map((f: { id: string }) => f.id);
    expect(failing).toEqual(["cuda.toolkit"]);
    expect(r.code).toBe(1);
  });

  it("a failing preflight stops the run before any command starts, and the report is still written", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-pre-"));
    await writeFile(
      join(dir, "gpuci.yml"),
      "preflight:\n  gpu: { min: 4 }\nrun:\n  - name: train\n    command: touch started\n",
    );
    const r = gpuci(["run"], dir, {
      PATH: `${fakeBin}:${process.env.PATH}`,
      FAKE_NVIDIA_SMI_XML: join(fixtures, "l4-x2-driver-555.xml"),
    });
    expect(r.code).toBe(1);
    expect(existsSync(join(dir, "started"))).toBe(false);
    const report = JSON.parse(await readFile(join(dir, ".gpuci/report.json"), "utf8"));
    expect(report.sections.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([
      ["preflight", "fail"],
      ["run", "skip"],
    ]);
    expect(report.sections[1].findings[0].summary).toBe("not run: Preflight failed");
  });

  it("gpuci cost watch exits with the command's code, 124 when stopped, and --json carries the cost data", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-cw-"));
    const env = { PATH: "/usr/local/bin:/usr/bin:/bin" };
    expect(gpuci(["cost", "watch", "--rate", "1", "--", "sh", "-c", "exit 3"], dir, env).code).toBe(3);
    const stopped = gpuci(
      ["cost", "watch", "--rate", "3600", "--budget", "0.5", "--grace", "1", "--json", "--", "sleep", "30"],
      dir,
      env,
    );
    expect(stopped.code).toBe(124);
    const section = JSON.parse(stopped.stdout);
    const run = section.findings.find((f: { id: string }) => f.id === "cost.run");
    expect(run.data).toMatchObject({ rateUsdPerGpuHour: 3600, gpus: 1, stopped: true });
    expect(run.data.seconds).toBeGreaterThan(0.4);
    expect(run.data.costUsd).toBeCloseTo(run.data.seconds, 1);
    const ledger = gpuci(["cost", "ledger", "--json"], dir);
    expect(JSON.parse(ledger.stdout).total).toMatchObject({ runs: 2, stopped: 1 });
    expect(gpuci(["cost", "ledger", "--month", "2026/11"], dir).code).toBe(2);
    expect(gpuci(["cost", "watch", "--rate", "1"], dir).code).toBe(2);
  });

  it("gpuci cost estimate prices from the built-in table", () => {
    const r = gpuci(["cost", "estimate", "--gpu", "NVIDIA L4", "--minutes", "30", "--gpus", "2"]);
    expect(r.stdout).toMatch(/^\$0\.80 for 30 min on 2 × NVIDIA L4 at \$0\.80\/GPU-h \(built-in: NVIDIA L4/);
    expect(gpuci(["cost", "estimate", "--gpu", "Mystery", "--minutes", "3"]).code).toBe(2);
  });

  it("rejects a negative budget with its config path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-neg-"));
    await writeFile(join(dir, "gpuci.yml"), "cost:\n  rate: 1\n  budget:\n    run: -5\n");
    const r = gpuci(["run"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/gpuci\.yml:4:10 {2}cost\.budget\.run: /);
  });

  it("gpuci run records provenance after the commands, covering their outputs; verify catches tampering", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-provrun-"));
    spawnSync("git", ["init", "-q", "-b", "main"], { cwd: dir });
    await writeFile(
      join(dir, "gpuci.yml"),
      "run:\n  - name: bench\n    command: mkdir -p out && echo 'latency_us,38' > out/results.csv\nprovenance:\n  artifacts: [\"out/*.csv\"]\n",
    );
    const r = gpuci(["run", "--out", "rec"], dir, { PATH: "/usr/local/bin:/usr/bin:/bin" });
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(join(dir, "rec/report.json"), "utf8"));
    expect(report.sections.map((s: { id: string }) => s.id)).toEqual(["run", "cost", "provenance"]);
    const st = JSON.parse(await readFile(join(dir, "rec/provenance.intoto.json"), "utf8"));
    expect(st.subject[0].name).toBe("out/results.csv");
    expect(await readFile(join(dir, "rec/commands.txt"), "utf8")).toContain(
      "mkdir -p out && echo 'latency_us,38' > out/results.csv",
    );
    expect(gpuci(["provenance", "verify", "rec/provenance.intoto.json"], dir).stdout).toBe(
      "out/results.csv: OK\n",
    );
    await writeFile(join(dir, "out/results.csv"), "latency_us,12\n");
    const bad = gpuci(["provenance", "verify", "rec/manifest.sha256"], dir);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("out/results.csv: FAILED\n");
    expect(gpuci(["provenance", "verify", "nope.json"], dir).code).toBe(2);
  });

  it.each([
    [
      "llm-data-qc",
      0,
      {
        "gate.runaway-rate": "pass",
        "gate.token-limit-rate": "pass",
        "gate.delimiter-leakage": "pass",
        "gate.median-tokens": "pass",
        "gate.critic-acceptance": "pass",
      },
    ],
    [
      "training-exit-criteria",
      0,
      {
        "gate.loss-finite": "pass",
        "gate.train-val-gap": "pass",
        "gate.accuracy": "pass",
        "gate.auroc-leakage": "warn",
      },
    ],
    ["parity-audit", 0, { "gate.parity-drift": "pass", "gate.parity-elementwise": "pass" }],
    ["flash-attention", 0, { "gate.correct": "pass", "gate.latency": "pass" }],
  ])("examples/%s runs end to end with gpuci run", async (name, code, statuses) => {
    const out = await mkdtemp(join(tmpdir(), `gpuci-ex-${name}-`));
    const r = gpuci(["run", "-c", `examples/${name}/gpuci.yml`, "--out", out]);
    expect(r.code, r.stderr).toBe(code);
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
    const gates = report.sections.find((s: { id: string }) => s.id === "gates");
    expect(
      Object.fromEntries(gates.findings.map((f: { id: string; status: string }) => [f.id, f.status])),
    ).toEqual(statuses);
  });

  it("the flash-attention example's own CUDA kernel is checked without a GPU: compiled by NVRTC, run in the CUDA emulator", async (ctx) => {
    // NVRTC comes from GPUCI_NVRTC (vitest.config.ts points it at .ci/install-nvrtc's copy).
    if (!process.env.GPUCI_NVRTC) {
      if (process.env.CI) throw new Error("CI must have NVRTC: bash .ci/install-nvrtc");
      ctx.skip("no NVRTC here (bash .ci/install-nvrtc)");
    }
    const run = (cwd: string) =>
      gpuci(["kernels", "-c", "gpuci.yml", "--backend", "napi", "--kernel", "attention", "--json"], cwd);
    const mine = (stdout: string) =>
      JSON.parse(stdout).findings.find((f: { title: string }) => f.title.includes("csrc/attention.cu"));
    const ok = run(join(root, "examples/flash-attention"));
    expect(ok.code, ok.stderr).toBe(0);
    expect(mine(ok.stdout)).toMatchObject({
      status: "pass",
      summary: expect.stringMatching(
        /^correct under the CUDA emulator over 5 trials .*; compiles with NVRTC \d+\.\d+ for compute_75; not timed: napi-cuda unavailable/,
      ),
    });
    const source = await readFile(join(root, "examples/flash-attention/csrc/attention.cu"), "utf8");
    const copy = async (cu: string) => {
      const dir = await mkdtemp(join(tmpdir(), "gpuci-fa-"));
      await mkdir(join(dir, "csrc"));
      await writeFile(
        join(dir, "gpuci.yml"),
        await readFile(join(root, "examples/flash-attention/gpuci.yml")),
      );
      await writeFile(join(dir, "csrc/attention.cu"), cu);
      return dir;
    };
    const broken = run(await copy(source.replace("acc[t] / l;", "acc[t] / l")));
    expect(broken.code).toBe(1);
    expect(mine(broken.stdout)).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(
        /does not compile with NVRTC .* for compute_75: .*csrc\/attention\.cu\(\d+\): error/s,
      ),
    });
    // Compiles, but forgets the causal mask: only the emulator can tell, and it does.
    const wrong = run(
      await copy(source.replace("const int last = causal ? i + 1 : s;", "const int last = s;")),
    );
    expect(wrong.code).toBe(1);
    expect(mine(wrong.stdout)).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/^wrong on trial 1: .*worst element/),
    });
  });

  it("gpuci gates --json carries value and threshold; a diverged loss fails and blocks the later gates", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-gj-"));
    await writeFile(join(dir, "m.jsonl"), '{"loss": 1.5}\n{"loss": NaN}\n');
    await writeFile(
      join(dir, "gpuci.yml"),
      "gates:\n  - { id: loss, metric: { file: m.jsonl, field: loss, stat: max }, max: 10 }\n  - { id: later, metric: { file: m.jsonl, field: loss, stat: min }, max: 10, after: [loss] }\n",
    );
    const r = gpuci(["gates", "--json"], dir);
    expect(r.code).toBe(1);
    const section = JSON.parse(r.stdout);
    expect(section.findings[0]).toMatchObject({
      id: "gate.loss",
      status: "fail",
      data: { threshold: "≤ 10" },
    });
    expect(section.findings[0].data.value).toBeNull(); // NaN has no JSON form
    expect(section.findings[1]).toMatchObject({ status: "skip", summary: "blocked by loss" });
    await writeFile(
      join(dir, "gpuci.yml"),
      "gates:\n  - { id: a, metric: { file: m.jsonl, field: loss }, max: 1, after: [a] }\n",
    );
    const cyc = gpuci(["gates"], dir);
    expect(cyc.code).toBe(2);
    expect(cyc.stderr).toMatch(/gates\[0\]\.after: gates form a cycle: a → a/);
  });

  it("confirms a one-value regression before failing: an outlier run is re-run and forgiven, a real regression fails", async () => {
    const { seededRandom } = await import("@gpuci/report");
    const setup = async (values: number[]) => {
      const dir = await mkdtemp(join(tmpdir(), "gpuci-confirm-e2e-"));
      const env = {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@e",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@e",
      };
      const git = (...args: string[]) =>
        spawnSync("git", args, { cwd: dir, env, encoding: "utf8" }).stdout.trim();
      git("init", "-q", "-b", "main");
      const rand = seededRandom(21);
      const lines: string[] = [];
      for (let i = 1; i <= 30; i++) {
        git("commit", "-q", "--allow-empty", "-m", `c${i}`);
        lines.push(
          JSON.stringify({
            v: 1,
            at: new Date(Date.UTC(2026, 9, i)).toISOString(),
            commit: git("rev-parse", "HEAD"),
            branch: "main",
            results: { lat: { value: 100 * (1 + 0.02 * (rand() - 0.5) * 3.46), unit: "ms" } },
          }),
        );
      }
      git("checkout", "-q", "-b", "pr");
      await mkdir(join(dir, ".gpuci/history"), { recursive: true });
      await writeFile(join(dir, ".gpuci/history/results.jsonl"), `${lines.join("\n")}\n`);
      // The benchmark prints the next value of a list each time it runs (its own state file).
      await writeFile(
        join(dir, "bench.mjs"),
        `import { existsSync, readFileSync, writeFileSync } from "node:fs";\nconst values = ${JSON.stringify(values)};\nconst i = existsSync("n") ? Number(readFileSync("n", "utf8")) : 0;\nwriteFileSync("n", String(i + 1));\nwriteFileSync("m.json", JSON.stringify({ lat: values[Math.min(i, values.length - 1)] }));\n`,
      );
      await writeFile(
        join(dir, "gpuci.yml"),
        "run:\n  - { name: bench, command: node bench.mjs }\ngates:\n  - { id: lat, metric: { file: m.json, path: lat, unit: ms }, baseline: { history: true } }\nhistory: { baseBranch: main, record: false }\n",
      );
      git("add", "-A");
      git("commit", "-q", "-m", "pr");
      return dir;
    };
    // An outlier run (+30 %), then two ordinary ones: not reproduced, so a warning.
    const outlier = await setup([130, 100.4, 99.1]);
    const r1 = gpuci(["run", "--out", "out"], outlier);
    expect(r1.stderr).toContain("confirming lat: re-running bench (1 of 2)");
    const f1 = JSON.parse(await readFile(join(outlier, "out/report.json"), "utf8"))
      .sections.find((s: { id: string }) => s.id === "gates")
      .findings.find((f: { id: string }) => f.id === "gate.lat");
    expect(f1).toMatchObject({
      status: "warn",
      data: { confirm: { first: 130, values: [100.4] }, unconfirmed: true },
    });
    expect(r1.code).toBe(0);
    // The first run's file is what the report describes: restored after the re-run.
    expect(JSON.parse(await readFile(join(outlier, "m.json"), "utf8"))).toEqual({ lat: 130 });
    // A regression every re-run reproduces: a failure, with the three values.
    const real = await setup([130, 128, 131]);
    const r2 = gpuci(["run", "--out", "out"], real);
    const f2 = JSON.parse(await readFile(join(real, "out/report.json"), "utf8"))
      .sections.find((s: { id: string }) => s.id === "gates")
      .findings.find((f: { id: string }) => f.id === "gate.lat");
    expect(f2).toMatchObject({ status: "fail", data: { confirm: { first: 130, values: [128, 131] } } });
    expect(r2.code).toBe(1);
  }, 60_000);

  it("gpuci history names the commit where the level stepped (+8 % at commit 25 of 40, CV 2 %) and none on a flat history", async () => {
    const { seededRandom } = await import("@gpuci/report");
    for (const [label, stepAt] of [
      ["step", 25],
      ["flat", 0],
    ] as const) {
      const dir = await mkdtemp(join(tmpdir(), `gpuci-history-${label}-`));
      const env = {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@e",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@e",
      };
      const git = (...args: string[]) =>
        spawnSync("git", args, { cwd: dir, env, encoding: "utf8" }).stdout.trim();
      git("init", "-q", "-b", "main");
      const rand = seededRandom(label === "step" ? 8 : 9);
      const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
      const lines: string[] = [];
      const commits: string[] = [];
      for (let i = 1; i <= 40; i++) {
        git("commit", "-q", "--allow-empty", "-m", `commit ${i}`);
        const commit = git("rev-parse", "HEAD");
        commits.push(commit);
        const value = 12.5 * (stepAt && i >= stepAt ? 1.08 : 1) * Math.exp(0.02 * gauss());
        lines.push(
          JSON.stringify({
            v: 1,
            at: new Date(Date.UTC(2026, 9, i)).toISOString(),
            commit,
            branch: "main",
            results: { latency: { value, unit: "ms" } },
          }),
        );
      }
      await mkdir(join(dir, ".gpuci/history"), { recursive: true });
      await writeFile(join(dir, ".gpuci/history/results.jsonl"), `${lines.join("\n")}\n`);
      await writeFile(join(dir, "gpuci.yml"), "history: { baseBranch: main }\n");
      const r = gpuci(["history", "--json"], dir);
      expect(r.code).toBe(0);
      const [m] = JSON.parse(r.stdout).metrics;
      expect(m).toMatchObject({ id: "latency", n: 40, unit: "ms" });
      if (label === "step") {
        expect(m.changePoints).toHaveLength(1);
        expect(m.changePoints[0]).toMatchObject({ from: commits[23], to: commits[24] });
        expect(m.changePoints[0].ratio).toBeCloseTo(1.08, 1);
        const text = gpuci(["history"], dir).stdout;
        expect(text).toContain(`change point: +8.`);
        expect(text).toContain(
          `between ${commits[23]!.slice(0, 12)} and ${commits[24]!.slice(0, 12)} (result 25 of 40`,
        );
        expect(text).toMatch(/latency: 40 results, last \d+\.?\d* ms {2}[▁▂▃▄▅▆▇█]{40}/);
      } else {
        expect(m.changePoints).toEqual([]);
        expect(gpuci(["history"], dir).stdout).toContain("change points: none");
      }
      expect(m.roundsForMargin).toBeGreaterThan(1);
    }
  });

  it("never writes a planted secret: env values, argv flags, tokens, URL passwords, masked values", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-secrets-"));
    const ghToken = `ghp_${"A1b2C3d4E5".repeat(4)}`;
    const secrets = {
      MY_PASSWORD: "hunter2-correct-horse",
      GITHUB_TOKEN: `ghs_${"Zz9Yy8Xx7W".repeat(4)}`,
      DB_API_KEY: "k3y-v4lue-0001",
    };
    const planted = [
      ...Object.values(secrets),
      ghToken,
      "s3cretvalue",
      "abcdef123456",
      "pw12345",
      "mysqlpass99",
      "masked-by-actions-77",
    ];
    await writeFile(
      join(dir, "gpuci.yml"),
      [
        "run:",
        "  - name: echo-env",
        '    command: \'echo "pw=$MY_PASSWORD gh=$GITHUB_TOKEN key=$DB_API_KEY"; echo "::add-mask::masked-by-actions-77"; echo "later: masked-by-actions-77"\'',
        "  - name: argv",
        `    command: [sh, -c, "exit 0", --password=s3cretvalue, --api-key, abcdef123456, "Authorization: Bearer ${ghToken}", "https://u:pw12345@example.com/x"]`,
        "  - name: mysql",
        '    command: [sh, -c, "exit 0", mysql, -p, mysqlpass99]',
        "provenance:",
        "  artifacts: []",
      ].join("\n"),
    );
    const r = gpuci(["run", "--out", "out"], dir, secrets);
    expect(r.code).toBe(0);
    const written: Record<string, string> = { terminal: r.stderr };
    for (const f of [
      "report.json",
      "report.md",
      "comment.md",
      "commands.txt",
      "provenance.intoto.json",
      "env.json",
    ])
      written[f] = await readFile(join(dir, "out", f), "utf8");
    written.render = gpuci(["render", join(dir, "out/report.json"), "--format", "comment"]).stdout;
    for (const [file, text] of Object.entries(written))
      for (const secret of planted) expect(text.includes(secret), `${secret} in ${file}`).toBe(false);
    // The output tail still shows what ran, with the secrets marked.
    expect(written["report.json"]).toContain("pw=[REDACTED:MY_PASSWORD]");
    expect(written["report.json"]).toContain("later: [REDACTED:masked]");
    // commands.txt keeps a form that re-runs: the shell line still names the variables.
    expect(written["commands.txt"]).toContain('echo "pw=$MY_PASSWORD gh=$GITHUB_TOKEN key=$DB_API_KEY"');
  });

  it("never writes a secret in an encoded form either: base64 (of x-access-token:VALUE too), base64url, JSON, URL, quoted-printable, split lines, colour codes inside", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-encoded-"));
    const value = 'Zq7"p@ss/w:rd=\\é-4242-xyz';
    await writeFile(
      join(dir, "leak.mjs"),
      [
        "const v = process.env.DEPLOY_TOKEN;",
        'console.log("basic", Buffer.from("x-access-token:" + v).toString("base64"));',
        'console.log("plain64", Buffer.from(v).toString("base64"), Buffer.from(v).toString("base64url"));',
        'console.log("json", JSON.stringify({ v }));',
        'console.log("url", encodeURIComponent(v));',
        'console.log("qp", [...Buffer.from(v)].map((b) => (b > 32 && b < 127 && b !== 61 ? String.fromCharCode(b) : "=" + b.toString(16).toUpperCase().padStart(2, "0"))).join(""));',
        'console.log("split", v.slice(0, 9)); console.log(v.slice(9));',
        'console.log("ansi", v.slice(0, 5) + "\\u001b[31m" + v.slice(5) + "\\u001b[0m");',
        "process.exit(3);",
      ].join("\n"),
    );
    await writeFile(
      join(dir, "gpuci.yml"),
      "run:\n  - { name: leak, command: node leak.mjs }\nprovenance:\n  artifacts: []\n",
    );
    const r = gpuci(["run", "--out", "out"], dir, { DEPLOY_TOKEN: value });
    expect(r.code).toBe(1);
    const b64 = (x: string) => Buffer.from(x).toString("base64");
    const forms = [
      value,
      b64(value).slice(0, -4),
      Buffer.from(value).toString("base64url").slice(0, -4),
      b64(`x-access-token:${value}`).slice(20, -4),
      JSON.stringify(value).slice(1, -1),
      encodeURIComponent(value),
      "p@ss/w:rd=3D",
    ];
    /** What a reader sees: entities decoded, colour codes and line breaks gone, JSON strings unescaped. */
    const views = (text: string) => {
      const plain = text
        .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
        .replace(/\\u001b\[[0-9;]*m|\u001b\[[0-9;]*m/g, "");
      const out = [plain, plain.replace(/\\r|\\n|\r|\n/g, "")];
      try {
        const strings: string[] = [];
        const walk = (v: unknown): void => {
          if (typeof v === "string") strings.push(v);
          else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x);
        };
        walk(JSON.parse(text));
        const joined = strings.join("\n").replace(/\u001b\[[0-9;]*m/g, "");
        out.push(joined, joined.replace(/\r|\n/g, ""));
      } catch {}
      return out;
    };
    const written: Record<string, string> = { stdout: r.stdout, stderr: r.stderr };
    for (const f of [
      "report.json",
      "report.md",
      "comment.md",
      "commands.txt",
      "provenance.intoto.json",
      "env.json",
    ])
      written[f] = await readFile(join(dir, "out", f), "utf8");
    written.render = gpuci(["render", join(dir, "out/report.json"), "--format", "comment"], dir, {
      DEPLOY_TOKEN: value,
    }).stdout;
    for (const [file, text] of Object.entries(written))
      for (const view of views(text))
        for (const form of forms) expect(view.includes(form), `${form} in ${file}`).toBe(false);
    expect(written["report.json"]).toContain("[REDACTED:DEPLOY_TOKEN]");
  });

  it("gpuci gates --json and gpuci ab --json print no secret", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gpuci-json-secret-"));
    const value = "json-path-secret-77123";
    await writeFile(join(dir, "m.json"), JSON.stringify({ [value]: 1 }));
    await writeFile(
      join(dir, "gpuci.yml"),
      [
        "gates:",
        "  - { id: g, metric: { file: m.json, path: missing }, max: 1 }",
        "ab:",
        "  base: HEAD",
        '  command: echo "$BENCH_TOKEN"; exit 3',
        "  metrics: [{ id: t, file: '{out}/t.json', path: t }]",
      ].join("\n"),
    );
    const gitEnv = {
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@e",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@e",
    };
    for (const args of [
      ["init", "-q", "-b", "main"],
      ["add", "."],
      ["commit", "-q", "-m", "x"],
    ])
      spawnSync("git", args, { cwd: dir, env: { ...process.env, ...gitEnv } });
    const gates = gpuci(["gates", "--json"], dir, { BENCH_TOKEN: value });
    expect(gates.code).toBe(1);
    expect(JSON.parse(gates.stdout).findings[0].remedy).toContain("[REDACTED:BENCH_TOKEN]");
    const ab = gpuci(["ab", "--json", "--out", "out"], dir, { BENCH_TOKEN: value });
    expect(ab.code).toBe(1);
    expect(JSON.parse(ab.stdout).findings[0]).toMatchObject({
      id: "ab.command",
      details: expect.stringContaining("[REDACTED:BENCH_TOKEN]"),
    });
    for (const text of [gates.stdout, gates.stderr, ab.stdout, ab.stderr]) expect(text).not.toContain(value);
  });

  it("prints its version and help", () => {
    const v = gpuci(["--version"]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = gpuci(["help", "render"]);
    expect(h.stdout).toContain("--format comment|summary|text");
    expect(gpuci(["help"]).stdout).toContain("aggregate");
  });

  it("renders a report in each format and aggregates two", async () => {
    const out = await mkdtemp(join(tmpdir(), "gpuci-render-"));
    gpuci(["run", "-c", "examples/quickstart/gpuci.yml", "--out", join(out, "a")]);
    const comment = gpuci(["render", join(out, "a/report.json"), "--format", "comment", "--id", "x"]);
    expect(comment.stdout.split("\n")[0]).toBe("<!-- gpuci:comment id=x -->");
    expect(gpuci(["render", join(out, "a/report.json"), "--format", "summary"]).stdout).toContain("### ");
    expect(gpuci(["render", join(out, "a/report.json")]).stdout).toContain("gpuci warn");
    expect(gpuci(["render", join(out, "a/report.json"), "--format", "html"]).code).toBe(2);

    const dir = await mkdtemp(join(tmpdir(), "gpuci-agg-"));
    await writeFile(join(dir, "gpuci.yml"), "run:\n  - name: bad\n    command: exit 1\n");
    gpuci(["run", "--out", join(out, "b")], dir);
    const agg = gpuci([
      "aggregate",
      join(out, "a/report.json"),
      join(out, "b/report.json"),
      "--out",
      join(out, "all"),
    ]);
    expect(agg.code).toBe(1);
    const merged = JSON.parse(await readFile(join(out, "all/report.json"), "utf8"));
    expect(merged.parts.map((p: { status: string }) => p.status)).toEqual(["warn", "fail"]);
    expect(gpuci(["aggregate", "--out", out]).code).toBe(2);
  });
});
