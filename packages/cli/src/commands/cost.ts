import { resolve } from "node:path";
import { createReport, redactDeep, redactText, renderText, shouldColor } from "@gpuci/report";
import { loadConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import { VERSION } from "../version.js";
import { parseVerbArgs } from "./args.js";

const positiveNumber = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} must be a positive number (got "${value}").`);
  return n;
};

/** `gpuci cost watch|estimate|ledger`. */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "watch") return watch(rest);
  if (sub === "estimate") return estimate(rest);
  if (sub === "ledger") return ledger(rest);
  throw new UsageError(
    `gpuci cost needs one of: watch, estimate, ledger (got ${sub ? `"${sub}"` : "nothing"}). Run "gpuci help cost".`,
  );
}

async function watch(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  if (dash < 0 || dash === argv.length - 1)
    throw new UsageError(
      'gpuci cost watch needs the command after "--": gpuci cost watch --budget 1 -- python train.py',
    );
  const { values } = parseVerbArgs(
    "cost",
    argv.slice(0, dash),
    {
      rate: { type: "string" },
      gpus: { type: "string" },
      budget: { type: "string" },
      grace: { type: "string" },
      json: { type: "boolean" },
      config: { type: "string", short: "c" },
    },
    false,
  );
  const loaded = await loadConfig({ path: values.config });
  const cost = { ...(loaded.config.cost ?? {}) };
  const rate = positiveNumber("--rate", values.rate);
  const gpus = positiveNumber("--gpus", values.gpus);
  const budget = positiveNumber("--budget", values.budget);
  const grace = values.grace === undefined ? undefined : Number(values.grace);
  if (grace !== undefined && !(grace >= 0))
    throw new UsageError(`--grace must be seconds ≥ 0 (got "${values.grace}").`);
  if (rate !== undefined) cost.rate = rate;
  if (gpus !== undefined) cost.gpus = Math.round(gpus);
  if (budget !== undefined) cost.budget = { ...(cost.budget ?? {}), run: budget };
  if (grace !== undefined) cost.graceSeconds = grace;
  const { runWatched } = await import("@gpuci/cost-budget");
  const { detectIdentity } = await import("../engine.js");
  const command = argv.slice(dash + 1);
  const started = new Date();
  const result = await runWatched({
    commands: [{ name: "command", command }],
    baseDir: loaded.baseDir,
    config: cost,
    run: await detectIdentity(),
    stdout: values.json ? process.stderr : process.stdout,
    stderr: process.stderr,
    onStop: (_name, reason) => process.stderr.write(`gpuci: stopping the command: ${reason.description}\n`),
  });
  if (values.json) process.stdout.write(`${JSON.stringify(redactDeep(result.cost), null, 2)}\n`);
  else {
    const report = createReport({
      sections: [result.commands, result.cost],
      startedAt: started,
      finishedAt: new Date(),
      tool: { name: "gpuci", version: VERSION },
    });
    process.stderr.write(renderText(report, { color: shouldColor(process.stderr), verbose: true }));
  }
  const r = result.results[0];
  if (!r || r.spawnError) return 127;
  if (r.stopped) return 124;
  return r.exitCode ?? 128 + 9;
}

async function estimate(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(
    "cost",
    argv,
    {
      gpu: { type: "string" },
      minutes: { type: "string" },
      gpus: { type: "string" },
      config: { type: "string", short: "c" },
    },
    false,
  );
  if (!values.gpu || !values.minutes)
    throw new UsageError(
      'gpuci cost estimate needs --gpu NAME and --minutes N, e.g. --gpu "NVIDIA L4" --minutes 30.',
    );
  const minutes = positiveNumber("--minutes", values.minutes)!;
  const gpus = Math.round(positiveNumber("--gpus", values.gpus) ?? 1);
  const loaded = await loadConfig({ path: values.config });
  const { resolveRate, formatUsd } = await import("@gpuci/cost-budget");
  const rate = resolveRate(values.gpu, loaded.config.cost ?? {});
  if (rate.usdPerGpuHour === undefined)
    throw new UsageError(
      `${rate.reason}. Pass a GPU from the built-in table (gpuci help cost) or set cost.rates in gpuci.yml.`,
    );
  const usd = (rate.usdPerGpuHour * gpus * minutes) / 60;
  process.stdout.write(
    `${formatUsd(usd)} for ${minutes} min on ${gpus} × ${values.gpu} at ${formatUsd(rate.usdPerGpuHour)}/GPU-h (${rate.reason})\n`,
  );
  return 0;
}

async function ledger(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(
    "cost",
    argv,
    {
      month: { type: "string" },
      pr: { type: "string" },
      config: { type: "string", short: "c" },
      json: { type: "boolean" },
    },
    false,
  );
  if (values.month && !/^\d{4}-\d{2}$/.test(values.month))
    throw new UsageError(`--month must be YYYY-MM (got "${values.month}").`);
  if (values.pr && !/^\d+$/.test(values.pr))
    throw new UsageError(`--pr must be a pull request number (got "${values.pr}").`);
  const loaded = await loadConfig({ path: values.config });
  const { CostConfigSchema, readLedger, totalSpend, formatUsd } = await import("@gpuci/cost-budget");
  const config = CostConfigSchema.parse(loaded.config.cost ?? {});
  const path = resolve(loaded.baseDir, config.ledger);
  const { entries, invalidLines } = await readLedger(path);
  const filter = {
    ...(values.month ? { month: values.month } : {}),
    ...(values.pr ? { pr: Number(values.pr) } : {}),
  };
  const total = totalSpend(entries, filter);
  const byMonth = new Map<string, { costUsd: number; runs: number }>();
  for (const e of entries) {
    if (filter.pr !== undefined && e.pr !== filter.pr) continue;
    if (filter.month && !e.at.startsWith(filter.month)) continue;
    const m = e.at.slice(0, 7);
    const cur = byMonth.get(m) ?? { costUsd: 0, runs: 0 };
    cur.costUsd += e.costUsd;
    cur.runs += 1;
    byMonth.set(m, cur);
  }
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ ledger: path, filter, total, months: Object.fromEntries(byMonth), invalidLines }, null, 2)}\n`,
    );
    return 0;
  }
  const scope =
    [values.month ? `month ${values.month}` : "", values.pr ? `PR #${values.pr}` : ""]
      .filter(Boolean)
      .join(", ") || "all runs";
  const lines = [`${path} (${scope})`, "", "| month | runs | cost |", "|---|---|---|"];
  for (const [m, v] of [...byMonth.entries()].sort())
    lines.push(`| ${m} | ${v.runs} | ${formatUsd(v.costUsd)} |`);
  lines.push(
    `| **total** | ${total.runs} | ${formatUsd(total.costUsd)} |`,
    "",
    `${(total.seconds / 3600).toFixed(2)} h of runs, ${total.stopped} stopped by the watchdog`,
  );
  if (invalidLines) lines.push(`${invalidLines} invalid line(s) skipped`);
  process.stdout.write(`${redactText(lines.join("\n"))}\n`);
  return 0;
}
