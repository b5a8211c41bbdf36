import { open, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { makeFolder } from "@gpuci/report";
import { z } from "zod";

/** One run's spend, as appended to the ledger. */
export const LedgerEntrySchema = z.object({
  v: z.literal(1),
  at: z.string(),
  runId: z.string(),
  pr: z.number().int().optional(),
  commit: z.string().optional(),
  repository: z.string().optional(),
  gpu: z.string().optional(),
  gpus: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  costUsd: z.number().nonnegative(),
  rateUsdPerGpuHour: z.number().nonnegative().optional(),
  budgetUsd: z.number().nonnegative().optional(),
  stopped: z.boolean(),
});
/** One run's spend, as appended to the ledger. */
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

/**
 * Append one entry as one JSON line. The file is opened O_APPEND and the line written with a
 * single write, so concurrent writers (parallel jobs on one runner) interleave whole lines and
 * never lose or tear one.
 */
export async function appendLedgerEntry(path: string, entry: LedgerEntry): Promise<void> {
  const line = Buffer.from(`${JSON.stringify(LedgerEntrySchema.parse(entry))}\n`);
  await makeFolder(dirname(path));
  const handle = await open(path, "a");
  try {
    const { bytesWritten } = await handle.write(line, 0, line.length);
    if (bytesWritten !== line.length)
      throw new Error(`short write to ${path} (${bytesWritten} of ${line.length} bytes); is the disk full?`);
  } finally {
    await handle.close();
  }
}

/** Read the ledger; lines that are not valid entries are counted, not fatal. */
export async function readLedger(path: string): Promise<{ entries: LedgerEntry[]; invalidLines: number }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { entries: [], invalidLines: 0 };
    throw error;
  }
  const entries: LedgerEntry[] = [];
  let invalidLines = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const parsed = LedgerEntrySchema.safeParse(JSON.parse(line));
      if (parsed.success) entries.push(parsed.data);
      else invalidLines += 1;
    } catch {
      invalidLines += 1;
    }
  }
  return { entries, invalidLines };
}

/** Spend totals. */
export interface SpendTotals {
  runs: number;
  seconds: number;
  costUsd: number;
  stopped: number;
}

/** Sum entries, optionally only one month (`YYYY-MM`, UTC) and/or one pull request. */
export function totalSpend(
  entries: LedgerEntry[],
  filter: { month?: string; pr?: number } = {},
): SpendTotals {
  const totals: SpendTotals = { runs: 0, seconds: 0, costUsd: 0, stopped: 0 };
  for (const e of entries) {
    if (filter.month && !e.at.startsWith(filter.month)) continue;
    if (filter.pr !== undefined && e.pr !== filter.pr) continue;
    totals.runs += 1;
    totals.seconds += e.seconds;
    totals.costUsd += e.costUsd;
    if (e.stopped) totals.stopped += 1;
  }
  return totals;
}

/** The running total of one pull request, carried in a hidden data block of gpuci's sticky comment. */
export const PrCostSchema = z.object({
  v: z.literal(1),
  pr: z.number().int(),
  runs: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  costUsd: z.number().nonnegative(),
  updatedAt: z.string(),
  /** Run ids already counted, newest last (at most 50), so a re-rendered comment never counts a run twice. */
  runIds: z.array(z.string()).max(50),
});
/** The running total of one pull request. */
export type PrCost = z.infer<typeof PrCostSchema>;

/** The data block name under which the pull request's cost travels in the comment. */
export const PR_COST_BLOCK = "cost";

/** Validate a value read back from the comment's data block; undefined when absent or malformed. */
export function parsePrCost(value: unknown): PrCost | undefined {
  const r = PrCostSchema.safeParse(value);
  return r.success ? r.data : undefined;
}

/** Add a run to the pull request's running total (idempotent per run id). */
export function addRunToPrCost(previous: PrCost | undefined, pr: number, entry: LedgerEntry): PrCost {
  const base: PrCost =
    previous && previous.pr === pr
      ? previous
      : { v: 1, pr, runs: 0, seconds: 0, costUsd: 0, updatedAt: entry.at, runIds: [] };
  if (base.runIds.includes(entry.runId)) return base;
  return {
    v: 1,
    pr,
    runs: base.runs + 1,
    seconds: base.seconds + entry.seconds,
    costUsd: Math.round((base.costUsd + entry.costUsd) * 1e6) / 1e6,
    updatedAt: entry.at,
    runIds: [...base.runIds, entry.runId].slice(-50),
  };
}
