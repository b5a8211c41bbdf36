import { z } from "zod";

/** The `provenance:` section of gpuci.yml. */
export const ProvenanceConfigSchema = z
  .strictObject({
    artifacts: z
      .array(z.string())
      .default([])
      .describe("Globs (relative to gpuci.yml) of the files the run produces."),
    env: z
      .array(z.string())
      .default([])
      .describe("Extra environment variable names to record (names that look secret are never recorded)."),
    python: z
      .string()
      .default("python3")
      .describe("The Python whose (and whose torch's) version is recorded."),
    timeoutSeconds: z.number().positive().default(10).describe("Each toolchain probe's time limit."),
  })
  .describe("What gpuci records about the run and the files it produced.");

/** A validated `provenance:` section, defaults applied. */
export type ProvenanceConfig = z.infer<typeof ProvenanceConfigSchema>;
