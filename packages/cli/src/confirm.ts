import { copyFile, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { EvaluateResult, Gate, MetricValue } from "@gpuci/gates";
import { convert } from "@gpuci/report";

/** A one-value-a-run gate whose regression survived Holm: what confirmation re-measures. */
export function flaggedForConfirmation(result: EvaluateResult): string[] {
  const ids: string[] = [];
  for (const f of result.section.findings) {
    const d = f.data as Record<string, unknown> | undefined;
    if (f.status !== "fail" || !d || d.verdict !== "regressed" || !Array.isArray(d.series) || d.step)
      continue;
    if ((d.family as { survives?: boolean } | undefined)?.survives === false) continue;
    if (d.unconfirmed) continue;
    ids.push(f.id.replace(/^gate\./, ""));
  }
  return ids;
}

/** The files every gate reads, resolved: what a re-run may overwrite. */
export function gateFiles(gates: readonly Gate[], baseDir: string): string[] {
  const files = new Set<string>();
  for (const g of gates) if (g.metric?.file) files.add(resolve(baseDir, g.metric.file));
  return [...files];
}

/** Modification times of files that exist (absent files are left out). */
export async function mtimes(files: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const f of files) {
    try {
      out.set(f, (await stat(f)).mtimeMs);
    } catch {
      // not written (yet)
    }
  }
  return out;
}

/** What {@link confirmRegressions} needs from the run. */
export interface ConfirmOptions {
  gates: readonly Gate[];
  baseDir: string;
  /** Evaluate the gates with these confirming values (and whether to record history). */
  evaluate(confirmations: Record<string, number[]>, record: boolean): Promise<EvaluateResult>;
  /** The command (by name) that last wrote each gate file, from the run stage. */
  producers: ReadonlyMap<string, string>;
  /** Re-run one command; false when it cannot (the budget is spent, it failed). */
  rerun(command: string): Promise<{ ok: boolean; why?: string }>;
  /** Read a gate's value again (the same metric), in the first run's unit. */
  read(gate: Gate): Promise<MetricValue>;
  /** Re-runs at most (default 2). */
  maxReruns?: number;
  note(message: string): void;
}

/**
 * Confirm before failing: one value a run cannot tell an outlier run from a regression, so a
 * one-value gate that still fails after Holm is re-measured by re-running the command that wrote
 * its file, up to twice. Each re-run must be a regression on its own; the first that is not ends
 * it (and turns the failure into a warning). The first run's files are restored afterwards, so
 * the report, the provenance and the history describe the run that was judged; the confirming
 * values are in the findings.
 */
export async function confirmRegressions(
  first: EvaluateResult,
  options: ConfirmOptions,
): Promise<{ result: EvaluateResult; reruns: number }> {
  let flagged = flaggedForConfirmation(first);
  if (flagged.length === 0) return { result: await options.evaluate({}, true), reruns: 0 };
  const byId = new Map(options.gates.map((g) => [g.id, g]));
  const fileOf = (id: string) => {
    const g = byId.get(id.replace(/\[.*$/, ""));
    return g?.metric?.file ? resolve(options.baseDir, g.metric.file) : undefined;
  };
  const confirmations: Record<string, number[]> = {};
  const files = gateFiles(options.gates, options.baseDir);
  const saved = await mkdtemp(join(tmpdir(), "gpuci-confirm-"));
  const kept = new Map<string, string>();
  for (const [i, f] of files.entries())
    try {
      await copyFile(f, join(saved, String(i)));
      kept.set(f, join(saved, String(i)));
    } catch {
      // not written by this run
    }
  let reruns = 0;
  try {
    for (let k = 0; k < (options.maxReruns ?? 2) && flagged.length > 0; k++) {
      const commands = new Map<string, string[]>();
      for (const id of flagged) {
        const file = fileOf(id);
        const producer = file ? options.producers.get(file) : undefined;
        if (!producer) {
          options.note(`cannot confirm ${id}: no command of this run wrote ${file ?? "its file"}`);
          continue;
        }
        commands.set(producer, [...(commands.get(producer) ?? []), id]);
      }
      if (commands.size === 0) break;
      const measured: string[] = [];
      for (const [command, ids] of commands) {
        options.note(
          `confirming ${ids.join(", ")}: re-running ${command} (${k + 1} of ${options.maxReruns ?? 2})`,
        );
        const r = await options.rerun(command);
        reruns++;
        if (!r.ok) {
          options.note(`cannot confirm ${ids.join(", ")}: ${r.why ?? `${command} did not finish`}`);
          continue;
        }
        for (const id of ids) {
          const gate = byId.get(id.replace(/\[.*$/, ""))!;
          const name = /\[(.*)\]$/.exec(id)?.[1];
          const v = await options.read(
            name !== undefined
              ? { ...gate, id, metric: { ...gate.metric!, name: `=${name}`, over: "each" } }
              : gate,
          );
          // In the first run's unit (a tool may pick another unit for the re-run's value).
          const unit = (
            first.section.findings.find((f) => f.id === `gate.${id}`)?.data as { unit?: string } | undefined
          )?.unit;
          const list = confirmations[id] ?? [];
          list.push(convert(v.value, v.unit, unit ?? v.unit));
          confirmations[id] = list;
          measured.push(id);
        }
      }
      if (measured.length === 0) break;
      const judged = await options.evaluate(confirmations, false);
      // Still failing (every re-run so far a regression on its own): measure again.
      flagged = measured.filter((id) => flaggedForConfirmation(judged).includes(id));
    }
  } finally {
    for (const [f, copy] of kept) await copyFile(copy, f).catch(() => undefined);
    await rm(saved, { recursive: true, force: true });
  }
  return { result: await options.evaluate(confirmations, true), reruns };
}
