import { z } from "zod";

const usd = z.number().nonnegative();

/** The `cost:` section of gpuci.yml. */
export const CostConfigSchema = z
  .strictObject({
    rate: z
      .number()
      .positive()
      .optional()
      .describe("Flat USD per GPU-hour for any GPU (overrides the built-in table)."),
    rates: z
      .record(z.string(), z.number().positive())
      .optional()
      .describe(
        'USD per GPU-hour by GPU name, exact or glob: { "NVIDIA H100 80GB HBM3": 2.99, "*A100*": 1.5 }.',
      ),
    gpus: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("How many GPUs to price when nvidia-smi cannot tell (default: visible GPUs, else 1)."),
    budget: z
      .strictObject({
        run: usd.optional().describe("USD for one gpuci run."),
        pullRequest: usd.optional().describe("USD for all runs of one pull request."),
        month: usd.optional().describe("USD for all runs in a calendar month (UTC)."),
        runMinutes: z.number().positive().optional().describe("Wall-clock minutes for one run."),
        pullRequestMinutes: z.number().positive().optional(),
        monthMinutes: z.number().positive().optional(),
      })
      .optional(),
    warnAt: z.number().gt(0).lt(1).default(0.8).describe("Warn when a budget is this fraction spent."),
    graceSeconds: z
      .number()
      .nonnegative()
      .default(30)
      .describe("Between SIGTERM and SIGKILL when a run is stopped."),
    escaped: z
      .enum(["warn", "stop"])
      .default("warn")
      .describe(
        "Processes a command started that left its process group (setsid, daemons), found by an inherited GPUCI_WATCH_ID: warn reports them; stop also stops them by pid.",
      ),
    sampleSeconds: z.number().positive().default(5).describe("How often nvidia-smi is sampled."),
    ledger: z
      .string()
      .default(".gpuci/ledger.jsonl")
      .describe("The spend ledger (JSON lines), relative to gpuci.yml."),
  })
  .describe("GPU pricing, budgets and the spend ledger.");

/** A validated `cost:` section, defaults applied. */
export type CostConfig = z.infer<typeof CostConfigSchema>;
