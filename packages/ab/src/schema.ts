import { AlphaSchema, MarginSchema, MetricBaseSchema, minPairedRounds, sequentialPlan } from "@gpuci/gates";
import { z } from "zod";

/** An argv list: its first element (the program) is not empty. */
const ArgvSchema = z
  .array(z.string())
  .min(1)
  .refine((argv) => argv[0]!.trim() !== "", "the program (the list's first element) is empty");

/** One metric an A/B round reads, in each tree, from the files the command wrote. */
export const AbMetricSchema = MetricBaseSchema.extend({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' (it becomes a finding id)"),
  title: z.string().optional(),
  file: z
    .string()
    .min(1)
    .describe("The file the command wrote; {out} is that round's folder, e.g. {out}/bench.json."),
}).describe("A metric read after every round, with the gates' readers (any format they support).");

/** The `ab:` section of gpuci.yml. */
export const AbConfigSchema = z
  .strictObject({
    base: z
      .string()
      .min(1)
      .default("merge-base")
      .describe("merge-base (of HEAD with history.baseBranch), or any git ref or commit."),
    build: z
      .union([z.string().min(1), ArgvSchema])
      .optional()
      .describe("Run once in each tree before the rounds (e.g. make kernels)."),
    command: z
      .union([z.string().min(1), ArgvSchema])
      .describe(
        'Run once per round in each tree; {out} is that round\'s folder for the results (in a shell line it becomes "$GPUCI_AB_OUT", quoted for where it stands).',
      ),
    timeoutMinutes: z
      .number()
      .positive()
      .max(10_000)
      .default(30)
      .describe(
        "Stop one build or one round's command after this many minutes (default 30): a hang is an error.",
      ),
    workingDirectory: z
      .string()
      .optional()
      .describe("Where build and command run in each tree, relative to the folder of gpuci.yml."),
    metrics: z.array(AbMetricSchema).min(1).describe("One verdict each."),
    maxRegression: MarginSchema.default("5%").describe(
      'The change you accept: "5%" or 0.05. Beyond it with confidence is a regression.',
    ),
    alpha: AlphaSchema.describe(
      "Error rate of each verdict over all looks (Pocock-type spending: one level at every look); the looks' intervals together cover 1 − 2·alpha.",
    ),
    rounds: z
      .strictObject({
        min: z
          .number()
          .int()
          .min(1)
          .default(6)
          .describe("Rounds before the first look (6 at least count: 5 pairs can never decide at 95 %)."),
        max: z.number().int().min(1).max(1000).default(40).describe("Rounds at most."),
      })
      .prefault({})
      .refine((r) => r.min <= r.max, "rounds.min must not exceed rounds.max"),
    order: z
      .enum(["abba", "random"])
      .default("abba")
      .describe("abba: base first in odd rounds, head first in even ones; random: a seeded coin per round."),
    budget: z
      .strictObject({
        minutes: z
          .number()
          .positive()
          .max(10_000)
          .default(120)
          .describe("Wall-clock minutes for builds and rounds (default 120)."),
        usd: z.number().positive().optional().describe("USD at the cost: section's GPU rate."),
      })
      .prefault({})
      .describe("The watchdog stops the A/B, never past these; the verdicts use the rounds finished."),
    inconclusive: z
      .enum(["warn", "fail"])
      .default("warn")
      .describe("What an inconclusive verdict (rounds or budget ran out) does to the run."),
    keepWorktree: z.boolean().default(false).describe("Keep the base worktree afterwards (debugging)."),
    clocks: z
      .strictObject({
        mode: z
          .enum(["auto", "cycles", "stratify", "off"])
          .default("auto")
          .describe(
            "auto: when the SM clock varied, judge times and rates in cycle space if they follow the clock, else only the rounds whose sides ran at one clock state; cycles; stratify; off (wall time, clocks shown).",
          ),
        tolerance: MarginSchema.default("1%").describe(
          'Clocks within this of each other are one clock state: "1%" or 0.01.',
        ),
        sampleSeconds: z
          .number()
          .min(0.05)
          .max(60)
          .default(0.25)
          .describe("Seconds between nvidia-smi readings while a round's command runs."),
      })
      .prefault({})
      .describe(
        "The SM clock, temperature and power read around every round's command (nvidia-smi), and how verdicts use them.",
      ),
  })
  .superRefine((ab, ctx) => {
    // A verdict needs rounds enough for the paired interval at the level of the last look.
    const decides = (max: number) => {
      const plan = sequentialPlan(ab.rounds.min, max, ab.alpha, true);
      const last = plan.looks[plan.looks.length - 1]!;
      return { plan, ok: last <= max && minPairedRounds(plan.alphaPerLook) <= last };
    };
    const { plan, ok } = decides(ab.rounds.max);
    if (!ok) {
      let max = ab.rounds.max + 1;
      while (max < 1000 && !decides(max).ok) max++;
      const need = minPairedRounds(plan.alphaPerLook);
      ctx.addIssue({
        code: "custom",
        path: ["rounds", "max"],
        message: `rounds.max ${ab.rounds.max} can never decide: a paired (signed-rank) interval at ${Number(((1 - 2 * plan.alphaPerLook) * 100).toPrecision(4))} % needs at least ${need} rounds. Raise rounds.max to ${max} or more (or raise alpha).`,
      });
    }
    const seen = new Set<string>();
    ab.metrics.forEach((m, i) => {
      if (seen.has(m.id))
        ctx.addIssue({ code: "custom", path: ["metrics", i, "id"], message: `duplicate id "${m.id}"` });
      seen.add(m.id);
    });
  })
  .describe("A/B: the base of the pull request against its head, in one job, decided with confidence.");

/** A validated `ab:` section, defaults applied. */
export type AbConfig = z.infer<typeof AbConfigSchema>;
export type AbMetric = z.infer<typeof AbMetricSchema>;
