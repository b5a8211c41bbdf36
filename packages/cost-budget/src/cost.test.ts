import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createReport, readCommentData, redactText, renderComment } from "@gpuci/report";
import { afterEach, describe, expect, it } from "vitest";
import {
  addRunToPrCost,
  ClockSampler,
  CostConfigSchema,
  type LedgerEntry,
  PR_COST_BLOCK,
  parseClockCsv,
  parsePrCost,
  readLedger,
  resolveRate,
  runWatched,
  totalSpend,
  watchCommand,
} from "./index.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const fakeBin = join(here, "../test/fake-bin");
const fixtures = join(here, "../test/fixtures");
/** PATH without any nvidia-smi (this machine has none). */
const cpuEnv = { ...process.env, PATH: "/usr/local/bin:/usr/bin:/bin" };

/** Running (not a zombie): this sandbox's init reaps orphans slowly, and a zombie is not running. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "");
  } catch {
    return false;
  }
};

const started: ChildProcess[] = [];
afterEach(() => {
  // Only processes this test file started itself, by pid.
  for (const c of started.splice(0)) if (c.pid && alive(c.pid)) process.kill(c.pid, "SIGKILL");
});

async function tempDir() {
  return mkdtemp(join(tmpdir(), "gpuci-cost-"));
}

describe("the watchdog", () => {
  it("stops a sleeping command over its budget within grace + 1 s, and records the cut", async () => {
    const dir = await tempDir();
    const t0 = Date.now();
    const r = await runWatched({
      commands: [
        { name: "train", command: "sleep 30" },
        { name: "eval", command: "echo never" },
      ],
      baseDir: dir,
      env: cpuEnv,
      config: { rate: 3600, gpus: 1, budget: { run: 0.5 }, graceSeconds: 2 },
      run: { runId: "r1" },
    });
    const elapsed = Date.now() - t0;
    // $0.5 at $3600/GPU-h × 1 GPU = 0.5 s allowed.
    expect(elapsed).toBeLessThan(500 + 2000 + 1000);
    const [train, evalStep] = r.commands.findings;
    expect(train).toMatchObject({
      status: "fail",
      summary: expect.stringMatching(/stopped by the watchdog.*cost\.budget\.run is \$0\.50/),
    });
    expect(train?.remedy).toMatch(/Raise cost\.budget\.run/);
    expect(evalStep).toMatchObject({
      status: "skip",
      summary: 'not run: "train" was stopped by the watchdog',
    });
    expect(r.cost.findings.find((f) => f.id === "cost.budget.run")?.status).toBe("fail");
    const costRun = r.cost.findings.find((f) => f.id === "cost.run");
    expect(costRun?.data).toMatchObject({ stopped: true, gpus: 1, rateUsdPerGpuHour: 3600 });
    const ledger = await readLedger(join(dir, ".gpuci/ledger.jsonl"));
    expect(ledger.entries).toHaveLength(1);
    expect(ledger.entries[0]).toMatchObject({ runId: "r1", stopped: true, gpus: 1 });
  });

  it("a limit past Node's 2³¹ − 1 ms timer range (timeoutMinutes: 50000) never stops the command at once", async () => {
    const r = await watchCommand({ command: "sleep 0.3; echo finished", limitMs: 50_000 * 60_000 });
    expect(r.stopped).toBeUndefined();
    expect(r.exitCode).toBe(0);
    expect(r.tail).toContain("finished");
  });

  it("kills a command that traps SIGTERM once the grace has passed", async () => {
    const t0 = Date.now();
    const r = await watchCommand({
      command: "trap '' TERM; sleep 30",
      limitMs: 300,
      graceMs: 1000,
      limitReason: { limit: "timeout", description: "test limit" },
    });
    const elapsed = Date.now() - t0;
    expect(r.stopped).toMatchObject({ limit: "timeout", killed: true });
    expect(r.signal).toBe("SIGKILL");
    expect(elapsed).toBeGreaterThanOrEqual(1300);
    expect(elapsed).toBeLessThan(1300 + 2000);
  });

  it("leaves no grandchild behind, stopped or finished", async () => {
    const dir = await tempDir();
    const r = await watchCommand({
      command: `sleep 300 & echo $! > ${dir}/a; (sleep 301 & echo $! > ${dir}/b; wait) & wait`,
      limitMs: 500,
      graceMs: 1000,
    });
    expect(r.stopped).toBeDefined();
    for (const f of ["a", "b"]) expect(alive(Number(await readFile(join(dir, f), "utf8")))).toBe(false);

    const done = await watchCommand({ command: `sleep 303 & echo $! > ${dir}/c; echo done`, graceMs: 1000 });
    expect(done.exitCode).toBe(0);
    expect(done.leftovers).toBe(true);
    expect(alive(Number(await readFile(join(dir, "c"), "utf8")))).toBe(false);
  });

  it("never touches an unrelated process with the same command line", async () => {
    const unrelated = spawn("sleep", ["302"], { stdio: "ignore" });
    started.push(unrelated);
    const r = await watchCommand({ command: ["sleep", "302"], limitMs: 200, graceMs: 500 });
    expect(r.stopped).toBeDefined();
    expect(r.signal).toBe("SIGTERM");
    expect(alive(unrelated.pid!)).toBe(true);
  });

  it("reports a process that escaped the group with setsid, and stops it only when told", async () => {
    const dir = await tempDir();
    const daemon = (f: string) =>
      `setsid sh -c 'echo $$ > ${dir}/${f}; exec sleep 304' </dev/null >/dev/null 2>&1 & sleep 0.3; echo started`;
    const warned = await watchCommand({ command: daemon("w"), graceMs: 1000 });
    const pid = Number(await readFile(join(dir, "w"), "utf8"));
    try {
      expect(warned.exitCode).toBe(0);
      expect(warned.escaped).toEqual([{ pid, command: "sleep 304", stopped: false }]);
      expect(alive(pid)).toBe(true);
    } finally {
      // This test started it (its pid is in the file the command wrote).
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
    const stopped = await watchCommand({ command: daemon("s"), graceMs: 1000, escaped: "stop" });
    const pid2 = Number(await readFile(join(dir, "s"), "utf8"));
    expect(stopped.escaped).toEqual([{ pid: pid2, command: "sleep 304", stopped: true }]);
    expect(alive(pid2)).toBe(false);
  });

  it("a command writing faster than the live sink reads is paused, not buffered in memory", async () => {
    let most = 0;
    let bytes = 0;
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        most = Math.max(most, slow.writableLength);
        setTimeout(done, 1);
      },
    });
    const r = await watchCommand({ command: "head -c 8000000 /dev/zero | tr '\\0' x", stdout: slow });
    expect(r.exitCode).toBe(0);
    await new Promise((done) => slow.end(done));
    expect(bytes).toBe(8_000_000);
    // Without backpressure the sink's queue holds most of the 8 MB; with it, about one chunk.
    expect(most).toBeLessThan(1024 * 1024);
  });

  it("live output is redacted, even a secret split across two writes", async () => {
    let seen = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        seen += chunk.toString();
        done();
      },
    });
    const secret = "hunter2-correct-horse-battery";
    const r = await watchCommand({
      command: `printf 'pw=%s' "\${SPLIT_PASSWORD%-horse-battery}"; sleep 0.05; printf -- '-horse-battery done\\n'`,
      env: { ...process.env, SPLIT_PASSWORD: secret },
      stdout: sink,
    });
    expect(r.exitCode).toBe(0);
    expect(seen).toBe("pw=[REDACTED:SPLIT_PASSWORD] done\n");
  });

  it("holds a partial line until its newline, however long it takes: a secret written in two pieces 300 ms apart is redacted whole", async () => {
    let seen = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        seen += chunk.toString();
        done();
      },
    });
    const r = await watchCommand({
      command: `printf 'pw=%s' "\${SLOW_PASSWORD%-horse-battery}"; sleep 0.3; printf -- '-horse-battery done\\n'`,
      env: { ...process.env, SLOW_PASSWORD: "hunter2-correct-horse-battery" },
      stdout: sink,
    });
    expect(r.exitCode).toBe(0);
    expect(seen).toBe("pw=[REDACTED:SLOW_PASSWORD] done\n");
  });

  it("passes ::add-mask:: through to the runner as written, and redacts the value everywhere else", async () => {
    let seen = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        seen += chunk.toString();
        done();
      },
    });
    const r = await watchCommand({
      command: "echo '::add-mask::runner-masks-this-9981'; echo 'later: runner-masks-this-9981'",
      stdout: sink,
    });
    expect(r.exitCode).toBe(0);
    // The runner must receive the real value to mask it in the log.
    expect(seen).toBe("::add-mask::runner-masks-this-9981\nlater: [REDACTED:masked]\n");
    // In what gpuci writes (the tail goes into report.json through the one redaction), it is gone.
    expect(redactText(r.tail)).toBe("::add-mask::[REDACTED:masked]\nlater: [REDACTED:masked]\n");
  });

  it("a live sink that fails (EPIPE) does not stop the command or lose the tail", async () => {
    const broken = new Writable({
      write(_chunk, _enc, done) {
        done(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const r = await watchCommand({ command: "for i in 1 2 3; do echo line$i; done", stdout: broken });
    expect(r.exitCode).toBe(0);
    expect(r.tail).toContain("line3");
  });

  it("exits with the command's own code and keeps its output tail", async () => {
    const r = await watchCommand({ command: "echo out; echo err >&2; exit 7" });
    expect(r).toMatchObject({ exitCode: 7, leftovers: false });
    expect(r.tail).toContain("out");
    expect(r.tail).toContain("err");
  });

  it("a missing workingDirectory is named as such, not as '/bin/sh was not found'", async () => {
    const dir = await tempDir();
    const r = await runWatched({
      commands: [{ name: "bench", command: "echo hi", workingDirectory: "not-here" }],
      baseDir: dir,
      env: cpuEnv,
      run: { runId: "wd" },
    });
    expect(r.commands.findings[0]).toMatchObject({
      status: "fail",
      summary: `could not start: the working folder ${join(dir, "not-here")} does not exist`,
    });
    const argv = await watchCommand({ command: ["no-such-program-gpuci"], cwd: dir });
    expect(argv.spawnError).toBe("no-such-program-gpuci was not found on PATH");
  });
});

describe("sampling, pricing and budgets", () => {
  it("samples recorded nvidia-smi values: price, idle waste, energy", async () => {
    const dir = await tempDir();
    const env = {
      ...process.env,
      PATH: `${fakeBin}:${process.env.PATH}`,
      FAKE_NVIDIA_SMI_SAMPLES: join(fixtures, "l4-x2-util-mem-power.csv"),
    };
    const r = await runWatched({
      commands: [{ name: "bench", command: "sleep 1" }],
      baseDir: dir,
      env,
      config: { sampleSeconds: 0.2, budget: { run: 0.01 } },
      run: { runId: "r2", pr: 17 },
    });
    const run = r.cost.findings.find((f) => f.id === "cost.run")!;
    expect(run.data).toMatchObject({
      gpus: 2,
      gpuName: "NVIDIA L4",
      rateUsdPerGpuHour: 0.7992,
      gpuSource: "nvidia-smi",
    });
    expect(run.summary).toMatch(/on 2 × NVIDIA L4 at \$0\.80\/GPU-h \(built-in: NVIDIA L4/);
    const data = run.data as { costUsd: number; seconds: number; energyWh: number; idleGpuSeconds: number };
    // costUsd is rounded to 1e-6 and seconds to 1e-3 in the finding.
    expect(data.costUsd).toBeCloseTo((0.7992 * 2 * data.seconds) / 3600, 5);
    // Both recorded GPUs were idle (2 % and 3 %): all measured GPU time is idle.
    expect(data.idleGpuSeconds).toBeGreaterThan(1.5);
    // 27.22 W + 29.54 W for about a second.
    expect(data.energyWh).toBeGreaterThan((56.76 * 0.8) / 3600);
    expect(data.energyWh).toBeLessThan((56.76 * 2) / 3600);
    expect(r.cost.findings.find((f) => f.id === "cost.idle")?.summary).toMatch(/idle \(< 5 %\)/);
    expect(r.prCost).toMatchObject({ pr: 17, runs: 1 });
    expect(r.cost.findings.find((f) => f.id === "cost.forecast")?.summary).toMatch(/PR #17/);
  });

  it("treats [N/A] utilisation as absent, not zero", async () => {
    const dir = await tempDir();
    const env = {
      ...process.env,
      PATH: `${fakeBin}:${process.env.PATH}`,
      FAKE_NVIDIA_SMI_SAMPLES: join(fixtures, "a100-mig-util-mem-power.csv"),
      FAKE_NVIDIA_SMI_NAMES: "NVIDIA A100-SXM4-40GB",
    };
    const r = await runWatched({
      commands: [{ name: "x", command: "sleep 0.5" }],
      baseDir: dir,
      env,
      config: { sampleSeconds: 0.1 },
      run: { runId: "r3" },
    });
    const data = r.cost.findings.find((f) => f.id === "cost.run")!.data as Record<string, unknown>;
    expect(data.rateUsdPerGpuHour).toBe(1.48);
    expect(data.meanUtilizationPercent).toBeNull();
    expect(data.idleGpuSeconds).toBe(0);
    expect(r.cost.findings.find((f) => f.id === "cost.idle")?.summary).toMatch(/utilisation not reported/);
  });

  it("prices wall time without nvidia-smi and says sampling was unavailable", async () => {
    const dir = await tempDir();
    const r = await runWatched({
      commands: [{ name: "x", command: "true" }],
      baseDir: dir,
      env: cpuEnv,
      config: { rate: 2.99 },
      run: { runId: "r4" },
    });
    expect(r.cost.findings.find((f) => f.id === "cost.sampling")).toMatchObject({
      status: "skip",
      summary: expect.stringMatching(/nvidia-smi is not on PATH/),
    });
    expect(r.cost.findings.find((f) => f.id === "cost.run")?.data).toMatchObject({
      gpus: 1,
      rateReason: "cost.rate",
    });
  });

  it("does not start when a budget is already spent, and warns at 80 %", async () => {
    const dir = await tempDir();
    const entry: LedgerEntry = {
      v: 1,
      at: new Date().toISOString(),
      runId: "old",
      gpus: 1,
      seconds: 3600,
      costUsd: 9,
      stopped: false,
    };
    await writeFile(join(dir, "ledger.jsonl"), `${JSON.stringify(entry)}\n`);
    const spent = await runWatched({
      commands: [{ name: "x", command: "echo should-not-run" }],
      baseDir: dir,
      env: cpuEnv,
      config: { rate: 1, ledger: "ledger.jsonl", budget: { month: 9 } },
      run: { runId: "r5" },
    });
    expect(spent.commands.findings[0]).toMatchObject({
      status: "skip",
      summary: expect.stringMatching(/budget is spent.*cost\.budget\.month is \$9\.00/),
    });
    const warn = await runWatched({
      commands: [{ name: "x", command: "true" }],
      baseDir: dir,
      env: cpuEnv,
      config: { rate: 1, ledger: "ledger.jsonl", budget: { month: 11 } },
      run: { runId: "r6" },
    });
    expect(warn.cost.findings.find((f) => f.id === "cost.budget.month")).toMatchObject({
      status: "warn",
      summary: expect.stringMatching(/of \$11\.00 \(82 %\)/),
    });
  });

  it("resolves rates: exact, glob, flat, built-in, unknown", () => {
    const rates = { "NVIDIA H100 80GB HBM3": 2.99, "*A100*": 1.5 };
    expect(resolveRate("NVIDIA H100 80GB HBM3", { rates })).toEqual({
      usdPerGpuHour: 2.99,
      reason: 'cost.rates["NVIDIA H100 80GB HBM3"]',
    });
    expect(resolveRate("NVIDIA A100-SXM4-80GB", { rates }).usdPerGpuHour).toBe(1.5);
    expect(resolveRate("NVIDIA L4", { rates, rate: 0.5 })).toEqual({
      usdPerGpuHour: 0.5,
      reason: "cost.rate",
    });
    expect(resolveRate("NVIDIA H100 PCIe").usdPerGpuHour).toBe(2.86);
    expect(resolveRate("NVIDIA H100 80GB HBM3").usdPerGpuHour).toBe(3.78);
    expect(resolveRate("Tesla T4").usdPerGpuHour).toBe(0.5904);
    expect(resolveRate("NVIDIA A10G").usdPerGpuHour).toBe(1.1);
    expect(resolveRate("Mystery GPU 9000")).toEqual({
      usdPerGpuHour: undefined,
      reason: 'no built-in price for "Mystery GPU 9000"',
    });
  });

  it("rejects invalid rates and negative budgets with their path", () => {
    const bad = CostConfigSchema.safeParse({ rate: 0, rates: { x: -1 }, budget: { run: -5 } });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["rate", "rates.x", "budget.run"]));
  });
});

describe("the ledger and the pull request's total", () => {
  it("loses no entry when 8 processes append 1,000 each at once", async () => {
    const dir = await tempDir();
    const path = join(dir, "ledger.jsonl");
    const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const script = `
      const { appendLedgerEntry } = await import(${JSON.stringify(dist)});
      const w = process.argv[1];
      for (let i = 0; i < 1000; i++)
        await appendLedgerEntry(${JSON.stringify(path)}, { v: 1, at: new Date().toISOString(), runId: w + "-" + i, gpus: 1, seconds: i, costUsd: 0.001, stopped: false, gpu: "x".repeat(200) });
    `;
    await Promise.all(
      Array.from(
        { length: 8 },
        (_, w) =>
          new Promise<void>((resolve, reject) => {
            const c = spawn(process.execPath, ["--input-type=module", "-e", script, String(w)], {
              stdio: "inherit",
            });
            c.on("exit", (code) =>
              code === 0 ? resolve() : reject(new Error(`writer ${w} exited ${code}`)),
            );
          }),
      ),
    );
    const { entries, invalidLines } = await readLedger(path);
    expect(invalidLines).toBe(0);
    expect(entries).toHaveLength(8000);
    expect(new Set(entries.map((e) => e.runId)).size).toBe(8000);
    expect(totalSpend(entries).costUsd).toBeCloseTo(8, 6);
  });

  it("carries the running total through the comment's hidden data block, once per run", () => {
    const entry = (runId: string, costUsd: number): LedgerEntry => ({
      v: 1,
      at: "2026-11-23T10:00:00.000Z",
      runId,
      gpus: 1,
      seconds: 60,
      costUsd,
      stopped: false,
    });
    let total = addRunToPrCost(undefined, 5, entry("a", 0.3));
    total = addRunToPrCost(total, 5, entry("b", 0.2));
    expect(addRunToPrCost(total, 5, entry("b", 0.2))).toBe(total);
    const report = createReport({
      sections: [],
      startedAt: "2026-11-23T10:00:00Z",
      finishedAt: "2026-11-23T10:01:00Z",
      tool: { name: "gpuci", version: "0" },
    });
    const body = renderComment(report, { dataBlocks: { [PR_COST_BLOCK]: total } });
    expect(parsePrCost(readCommentData(body, PR_COST_BLOCK))).toEqual({
      ...total,
      costUsd: 0.5,
      runs: 2,
      seconds: 120,
      runIds: ["a", "b"],
    });
    expect(parsePrCost({ v: 2 })).toBeUndefined();
  });
});

describe("the A/B's clock sampler", () => {
  it("parses the clock query; [N/A] is absent, never 0", () => {
    expect(parseClockCsv("0, 345, 1980, 36, 78.42\n97, 1755, 1980, 71, [N/A]\n", [2, 3])).toEqual([
      { gpu: 2, utilizationPercent: 0, smMHz: 345, maxSmMHz: 1980, tempC: 36, powerW: 78.42 },
      { gpu: 3, utilizationPercent: 97, smMHz: 1755, maxSmMHz: 1980, tempC: 71 },
    ]);
  });

  it("an idle GPU's clock (the H200's recorded 345 MHz) is never taken for the command's", async () => {
    const env = {
      ...process.env,
      PATH: `${fakeBin}:${process.env.PATH}`,
      FAKE_NVIDIA_SMI_CLOCKS: join(fixtures, "h200-clocks-idle.csv"),
    };
    const sampler = new ClockSampler({ intervalMs: 50, env });
    sampler.start();
    await new Promise((r) => setTimeout(r, 300));
    const s = await sampler.stop();
    expect(s.samples).toBeGreaterThanOrEqual(2);
    expect(s).toMatchObject({ available: true, busySamples: 0, boostMHz: 1980, maxTempC: 36 });
    expect(s.smMHz).toBeUndefined();
    const none = new ClockSampler({ intervalMs: 50, env: { ...process.env, PATH: "/nonexistent" } });
    none.start();
    expect(await none.stop()).toMatchObject({ available: false, reason: "nvidia-smi is not on PATH" });
  });
});
