import { AbConfigSchema } from "@gpuci/ab";
import { CostConfigSchema } from "@gpuci/cost-budget";
// The schema subpath has no native parts, so loading a config never loads dawn.node or the addon.
import { KernelsConfigSchema } from "@gpuci/cuda-kernels/schema";
import { GatesConfigSchema, HistoryConfigSchema } from "@gpuci/gates";
import { PreflightConfigSchema } from "@gpuci/preflight";
import { ProvenanceConfigSchema } from "@gpuci/provenance";
import { z } from "zod";
import { RunSectionSchema } from "./run-schema.js";

/**
 * The whole gpuci.yml: the composition point where each package's section schema is plugged
 * in. Unknown keys are errors (with a did-you-mean), so a typo never silently disables a check.
 */
export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe("Path or URL of gpuci.schema.json, for editors."),
    version: z.literal(1).optional().describe("Config format version (1)."),
    preflight: PreflightConfigSchema.optional(),
    run: RunSectionSchema.optional(),
    cost: CostConfigSchema.optional(),
    kernels: KernelsConfigSchema.optional(),
    ab: AbConfigSchema.optional(),
    provenance: ProvenanceConfigSchema.optional(),
    gates: GatesConfigSchema.optional(),
    history: HistoryConfigSchema.optional(),
    comment: z
      .strictObject({
        charts: z
          .enum(["mermaid", "sparkline", "none"])
          .default("mermaid")
          .describe(
            "Trends of metrics with a base-branch history: Mermaid xychart-beta charts, Unicode sparklines in the table, or none.",
          ),
      })
      .optional()
      .describe("How the pull-request comment looks."),
    dashboard: z
      .strictObject({
        url: z
          .url({ protocol: /^https?$/ })
          .optional()
          .describe(
            "Where the dashboard (gpuci dashboard) is published, e.g. https://OWNER.github.io/REPO/: the comment links each history metric to its chart there.",
          ),
      })
      .optional()
      .describe("The static dashboard of the history store (gpuci dashboard)."),
  })
  .describe("gpuci configuration (gpuci.yml).");

/** A validated gpuci.yml. */
export type Config = z.infer<typeof ConfigSchema>;
