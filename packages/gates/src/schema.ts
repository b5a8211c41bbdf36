import { parseQuantity } from "@gpuci/report";
import { z } from "zod";

/** Formats gates can read a metric from. */
export const METRIC_FORMATS = [
  "json",
  "jsonl",
  "csv",
  "junit",
  "kernels",
  "pytest-benchmark",
  "google-benchmark",
  "hyperfine",
  "benchmark-action",
  "customBiggerIsBetter",
  "customSmallerIsBetter",
  "go-bench",
  "rust-libtest",
  "criterion",
  "catch2",
  "benchmarkjs",
  "jmh",
  "benchmarkdotnet",
  "vitest-bench",
  "asv",
  "julia",
  "bmf",
  "nvbench",
  "ncu",
  "lm-eval",
  "mlperf",
] as const;

/** How several benchmarks a glob or /regex/ name selects become gates: one each, or one aggregate. */
export const OVER = ["each", "mean", "median", "min", "max", "sum", "geomean"] as const;

/** Statistics over many values. */
export const STATS = [
  "mean",
  "median",
  "min",
  "max",
  "stddev",
  "p50",
  "p90",
  "p95",
  "p99",
  "sum",
  "count",
  "rate",
] as const;

/** The counts a JUnit metric can read with `field`. */
export const JUNIT_FIELDS = ["tests", "failures", "errors", "skipped", "passed"] as const;

/** A filter on a field's value, for `rate`. */
export const WhereSchema = z
  .strictObject({
    eq: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
    ne: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
    matches: z
      .string()
      .refine((src) => {
        try {
          new RegExp(src);
          return true;
        } catch {
          return false;
        }
      }, "not a valid JavaScript regular expression")
      .optional()
      .describe(
        "A regular expression the (string) value must match; reading stops at metric.timeoutSeconds if it backtracks.",
      ),
  })
  .describe("Which rows count for stat: rate. Without where, rows whose field is true count.");

/** Where a metric comes from (before the cross-field rule). */
export const MetricBaseSchema = z
  .strictObject({
    file: z
      .string()
      .min(1)
      .optional()
      .describe("The file, relative to gpuci.yml (format kernels: default this run's kernel results)."),
    format: z
      .enum(METRIC_FORMATS)
      .optional()
      .describe(
        "The tool that wrote the file. When absent: path → json, column → csv, field on .jsonl → jsonl; otherwise the file's content decides (and the finding says which reader read it).",
      ),
    path: z
      .string()
      .optional()
      .describe(
        'json: a dotted path with [index] (negative counts from the end) and quoted keys for names with dots, e.g. results.qc[0].runaway_rate or results["time_units.time_unit_parse"].',
      ),
    field: z
      .string()
      .optional()
      .meta({
        description:
          "jsonl: the field of each line (dotted for nested); junit: tests, failures, errors, skipped or passed; kernels: a result column.",
        examples: [...JUNIT_FIELDS],
      }),
    column: z.string().optional().describe("csv: the column name."),
    stat: z
      .enum(STATS)
      .optional()
      .describe("How many values become one (default: mean; benchmarks: median)."),
    where: WhereSchema.optional(),
    invalid: z
      .strictObject({
        max: z
          .union([
            z.number().int().nonnegative(),
            z.string().regex(/^\d+(\.\d+)?%$/, 'a count, or a percentage of the rows such as "1%"'),
          ])
          .describe('How many unreadable rows to tolerate: a count, or a percentage of the rows ("1%").'),
      })
      .optional()
      .describe(
        "jsonl/csv: rows that cannot be read (not JSON, wrong cell count, a value that is null or not a number) fail the gate unless tolerated here.",
      ),
    timeoutSeconds: z
      .number()
      .positive()
      .max(86_400)
      .optional()
      .describe("jsonl/csv: stop reading after this long (default 300)."),
    name: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Benchmark or test suite to select, matched exactly (brackets and dots are literal). A glob ("test_mat[*]", "BM_Sort/*") or "/regex/" selects several: one gate each, or one aggregate with over. A leading "=" forces an exact match.',
      ),
    over: z
      .enum(OVER)
      .optional()
      .describe(
        "When name selects several benchmarks: each (default: one gate per benchmark, ids gate[benchmark]) or one aggregate over them (mean, median, min, max, sum, geomean).",
      ),
    unit: z
      .string()
      .optional()
      .describe(
        "The unit, when the file does not say; when it does, values are converted into this unit (an error when the units are of different kinds).",
      ),
    direction: z
      .enum(["smaller", "bigger"])
      .optional()
      .describe(
        "Which way is better (default: smaller for times, bigger for throughputs and rates of passing).",
      ),
  })
  .describe("A number to judge, read from a file a command wrote.");

/** Where a metric comes from: a file, except for gpuci's own kernel results. */
export const MetricSchema = MetricBaseSchema.refine((m) => m.file !== undefined || m.format === "kernels", {
  message: 'missing required key "file"',
  path: ["file"],
});
export type Metric = z.infer<typeof MetricSchema>;

/** The margin of a regression verdict: "5%" or 0.05 (shared by baseline gates and gpuci ab). */
export const MarginSchema = z
  .union([z.number().nonnegative().lt(1), z.string().regex(/^\d+(\.\d+)?%$/, 'a percentage such as "5%"')])
  .describe('How much worse is a regression: "5%" or 0.05.');

/** The error rate of each verdict (shared by baseline gates and gpuci ab). */
export const AlphaSchema = z
  .number()
  .gt(0)
  .lt(0.5)
  .default(0.025)
  .describe(
    "Error rate of each verdict (regressed, unchanged, improved); intervals are 1 − 2·alpha (0.025: 95 %).",
  );

/** A parity check between two numeric artifacts. */
export const ParitySchema = z
  .strictObject({
    a: MetricBaseSchema.pick({ path: true, column: true }).extend({
      file: z.string().min(1),
      format: z.enum(["json", "csv", "npy"]).optional(),
    }),
    b: MetricBaseSchema.pick({ path: true, column: true }).extend({
      file: z.string().min(1),
      format: z.enum(["json", "csv", "npy"]).optional(),
    }),
    rtol: z.number().nonnegative().optional(),
    atol: z.number().nonnegative().optional(),
    maxDrift: z
      .number()
      .nonnegative()
      .optional()
      .describe("Largest relative L2 drift ‖a−b‖/‖b‖ allowed (0.002 = 0.2 %)."),
  })
  .refine(
    (p) => p.rtol !== undefined || p.atol !== undefined || p.maxDrift !== undefined,
    "set rtol/atol or maxDrift",
  );

/**
 * A threshold: a bare number is in the metric's own unit (the unit its file reports, or
 * metric.unit); a number with a unit ("2ms", "1.5 GB/s", "95%") is converted to it.
 */
export const ThresholdSchema = z
  .union([
    z.number(),
    z
      .string()
      .refine(
        (t) => parseQuantity(t) !== undefined,
        'a number, or a number with a unit such as "2ms", "1.5 GB/s" or "95%"',
      ),
  ])
  .describe(
    'A number in the metric\'s own unit, or a number with a unit ("2ms", "1.5 GB/s", "95%") converted to it.',
  );
export type Threshold = z.infer<typeof ThresholdSchema>;

/** A comparison against a baseline. */
export const BaselineSchema = z
  .strictObject({
    /** Same-job A/B: the base build's results, read like `metric` (samples where the format has them). */
    file: z
      .string()
      .optional()
      .describe("Same-job A/B: the base build's result file (the metric's file is the head)."),
    history: z.boolean().optional().describe("Compare against earlier runs in the history store."),
    maxRegression: MarginSchema.default("5%"),
    alpha: AlphaSchema,
    minSamples: z.number().int().positive().default(5),
    inconclusive: z
      .enum(["warn", "fail"])
      .default("warn")
      .describe(
        "What an inconclusive verdict (the interval reaches both sides of the margin) does to the gate.",
      ),
  })
  .refine(
    (b) => b.file !== undefined || b.history,
    "set baseline.file (same-job A/B) or baseline.history: true",
  );

/** One gate. */
export const GateSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-'"),
    title: z.string().optional(),
    severity: z.enum(["fail", "warn"]).default("fail"),
    metric: MetricSchema.optional(),
    min: ThresholdSchema.optional(),
    max: ThresholdSchema.optional(),
    equals: z.union([z.number(), z.boolean(), z.string()]).optional(),
    range: z.tuple([ThresholdSchema, ThresholdSchema]).optional(),
    baseline: BaselineSchema.optional(),
    parity: ParitySchema.optional(),
    after: z
      .array(z.string())
      .default([])
      .describe("Gates that must pass first; when one fails this gate is skipped."),
    allowNaN: z.boolean().default(false),
    blockExisting: z
      .boolean()
      .default(false)
      .describe("Fail even when the baseline already violated the threshold."),
    remedy: z.string().optional().describe("What to do when the gate fails (shown in the report)."),
  })
  .superRefine((g, ctx) => {
    if (g.range && g.range[0] > g.range[1])
      ctx.addIssue({
        code: "custom",
        path: ["range"],
        message: `range [${g.range[0]}, ${g.range[1]}] is inverted: no value can be in it. Write [low, high].`,
      });
    if (g.min !== undefined && g.max !== undefined && g.min > g.max)
      ctx.addIssue({
        code: "custom",
        path: ["min"],
        message: `min ${g.min} is above max ${g.max}: no value can pass. Swap them.`,
      });
    if (g.parity && g.metric)
      ctx.addIssue({
        code: "custom",
        path: ["parity"],
        message: "a gate has either metric or parity, not both",
      });
    if (!g.parity && !g.metric)
      ctx.addIssue({
        code: "custom",
        path: ["metric"],
        message: 'missing required key "metric" (or parity)',
      });
    if (
      g.metric &&
      g.min === undefined &&
      g.max === undefined &&
      g.equals === undefined &&
      !g.range &&
      !g.baseline
    )
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "a metric gate needs min, max, equals, range or baseline",
      });
  });
export type Gate = z.infer<typeof GateSchema>;

/** The `gates:` section: a list of gates. Ids are unique; `after` names existing gates without cycles. */
export const GatesConfigSchema = z
  .array(GateSchema)
  .superRefine((gates, ctx) => {
    const ids = new Map<string, number>();
    gates.forEach((g, i) => {
      if (ids.has(g.id))
        ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate gate id "${g.id}"` });
      ids.set(g.id, i);
    });
    gates.forEach((g, i) => {
      g.after.forEach((a, j) => {
        if (!ids.has(a) && a !== "kernels")
          ctx.addIssue({
            code: "custom",
            path: [i, "after", j],
            message: `no gate "${a}" to run after (known: ${[...ids.keys()].join(", ")})`,
          });
      });
    });
    const cycle = findCycle(gates);
    if (cycle)
      ctx.addIssue({
        code: "custom",
        path: [ids.get(cycle[0]!)!, "after"],
        message: `gates form a cycle: ${cycle.join(" → ")}`,
      });
  })
  .describe("Verdicts over numbers the run produced.");

/** A cycle in the `after` graph, as a list of ids ending where it started; undefined when none. */
export function findCycle(
  gates: ReadonlyArray<{ id: string; after: readonly string[] }>,
): string[] | undefined {
  const after = new Map(gates.map((g) => [g.id, g.after]));
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 2) return undefined;
    if (state.get(id) === 1) return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 1);
    stack.push(id);
    for (const dep of after.get(id) ?? []) {
      if (!after.has(dep)) continue;
      const c = visit(dep);
      if (c) return c;
    }
    stack.pop();
    state.set(id, 2);
    return undefined;
  };
  for (const g of gates) {
    const c = visit(g.id);
    if (c) return c;
  }
  return undefined;
}
