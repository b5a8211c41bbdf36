import { loadConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import { parseVerbArgs } from "./args.js";

/** `gpuci history [-c gpuci.yml] [--metric ID] [--json]`. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseVerbArgs(
    "history",
    argv,
    {
      config: { type: "string", short: "c" },
      metric: { type: "string", short: "m" },
      json: { type: "boolean" },
    },
    false,
  );
  const loaded = await loadConfig({ path: values.config });
  const gates = await import("@gpuci/gates");
  const { sparkline, formatValue, formatRatioChange, redactDeep, redactText } = await import("@gpuci/report");
  const historyConfig = gates.HistoryConfigSchema.parse(loaded.config.history ?? {});
  const store = gates.openHistory(historyConfig, loaded.baseDir);
  const read = await store.read();
  const refused = gates.describeRefused(read, store.description);
  // Recording order: the order the store holds, never a runner's clock.
  const onBase = read.entries.filter((e) => e.branch === historyConfig.baseBranch);
  const ids = [...new Set(onBase.flatMap((e) => Object.keys(e.results)))].sort();
  if (values.metric && !ids.includes(values.metric))
    throw new UsageError(
      `no results for "${values.metric}" on ${historyConfig.baseBranch} in ${store.description}${ids.length ? `; metrics there: ${ids.join(", ")}` : " (it is empty)"}.`,
    );
  const margin = gates.parseFraction(loaded.config.ab?.maxRegression ?? "5%");
  const maxRounds = loaded.config.ab?.rounds.max ?? 40;
  const out = [];
  for (const id of values.metric ? [values.metric] : ids) {
    const points = onBase
      .map((e) => ({
        commit: e.commit,
        at: e.at,
        gpu: e.gpu,
        value: e.results[id]?.value,
        unit: e.results[id]?.unit,
      }))
      .filter((p): p is typeof p & { value: number } => typeof p.value === "number")
      .slice(-historyConfig.window * 10);
    const series = points.map((p) => p.value);
    const cv = gates.coefficientOfVariation(series);
    const steps = gates.changePoints(series);
    // Noise within the last level only: a step would inflate it.
    const lastLevel = series.slice(steps.length ? steps[steps.length - 1]!.at : 0);
    const cvLevel = gates.coefficientOfVariation(lastLevel);
    const rounds = Number.isFinite(cvLevel) ? gates.roundsNeeded(cvLevel, margin) : undefined;
    out.push({
      id,
      unit: points.find((p) => p.unit)?.unit,
      n: series.length,
      cv,
      cvLastLevel: cvLevel,
      roundsForMargin: rounds,
      noisy: rounds !== undefined && rounds > maxRounds,
      points: points.map((p) => ({ commit: p.commit, at: p.at, value: p.value })),
      changePoints: steps.map((s) => ({
        at: s.at,
        from: points[s.at - 1]!.commit,
        to: points[s.at]!.commit,
        ratio: s.ratio,
        p: s.p,
      })),
    });
  }
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify(redactDeep({ store: store.description, baseBranch: historyConfig.baseBranch, margin, refused: read.refused, metrics: out }), null, 2)}\n`,
    );
    return 0;
  }
  const lines = [
    `gpuci history: ${onBase.length} runs on ${historyConfig.baseBranch} in ${store.description}`,
    ...(refused ? [`  refused: ${refused}`] : []),
  ];
  if (out.length === 0)
    lines.push("  no metrics yet: runs on the base branch record their gate results here");
  for (const m of out) {
    const last = m.points[m.points.length - 1];
    lines.push(
      "",
      `${m.id}: ${m.n} results, last ${last ? formatValue(last.value, m.unit) : "—"}  ${sparkline(m.points.map((p) => p.value))}`,
      `  noise: CV ${(m.cvLastLevel * 100).toFixed(1)} % at the current level${m.roundsForMargin !== undefined ? `; an A/B needs about ${m.roundsForMargin} paired rounds to decide a ${(margin * 100).toFixed(1)} % change${m.noisy ? ` — noisy: more than ab.rounds.max (${maxRounds}); add repeats inside the benchmark, pin clocks, or use a quieter runner` : ""}` : ""}`,
    );
    if (m.changePoints.length === 0) lines.push("  change points: none");
    for (const c of m.changePoints)
      lines.push(
        `  change point: ${formatRatioChange(c.ratio)} between ${c.from.slice(0, 12)} and ${c.to.slice(0, 12)} (result ${c.at + 1} of ${m.n}; permutation p = ${c.p.toFixed(3)})`,
      );
  }
  process.stdout.write(`${redactText(lines.join("\n"))}\n`);
  return 0;
}
