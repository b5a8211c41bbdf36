import { z } from "zod";

const seconds = z.number().positive();

/** The `preflight:` section of gpuci.yml. Every key is optional; defaults suit a single-GPU runner. */
export const PreflightConfigSchema = z
  .strictObject({
    gpu: z
      .strictObject({
        min: z
          .number()
          .int()
          .nonnegative()
          .default(1)
          .describe("Fewest GPUs the job needs (0: no GPU checks fail)."),
        minFreeMemoryGiB: z
          .number()
          .nonnegative()
          .optional()
          .describe("Each GPU must have this much free memory."),
        maxTemperatureC: z
          .number()
          .positive()
          .optional()
          .describe(
            "Fail at or above this temperature (default: 5 °C under the GPU's slowdown threshold, else 85).",
          ),
        exclusive: z
          .boolean()
          .default(false)
          .describe("Fail (instead of warn) when other compute processes are on the GPU."),
        compute: z
          .boolean()
          .optional()
          .describe(
            "Run a tiny vector add on every backend (gpu.compute); default: on when kernels: is configured.",
          ),
        mig: z
          .enum(["allow", "require", "forbid"])
          .default("allow")
          .describe("Whether MIG mode may, must, or must not be enabled."),
      })
      .prefault({}),
    cuda: z
      .strictObject({
        minDriver: z
          .string()
          .regex(/^\d+(\.\d+)*$/, 'a version such as "535.104"')
          .optional()
          .describe("Lowest acceptable driver version."),
        nvcc: z.boolean().default(false).describe("Require nvcc (the CUDA toolkit) on PATH."),
        fixPath: z
          .boolean()
          .default(true)
          .describe("Put /usr/local/cuda*/bin on PATH when nvcc is missing from it but installed."),
      })
      .prefault({}),
    python: z
      .strictObject({
        executable: z.string().default("python3").describe("The Python to probe."),
        torch: z.boolean().default(false).describe("Require PyTorch with CUDA (runs a tiny CUDA op)."),
        timeoutSeconds: seconds.default(60).describe("The probe's time limit (importing torch is slow)."),
      })
      .prefault({}),
    files: z.array(z.string()).default([]).describe("Globs that must each match at least one file."),
    smoke: z
      .array(
        z.union([z.string(), z.strictObject({ command: z.string(), timeoutSeconds: seconds.optional() })]),
      )
      .default([])
      .describe("Commands that must exit 0 (import smoke tests)."),
    symbols: z
      .record(z.string(), z.array(z.string()).min(1))
      .default({})
      .describe("Shared library → symbols it must export (C++ names may be given demangled)."),
    host: z
      .strictObject({
        minFreeDiskGiB: z.number().nonnegative().default(2),
        minAvailableMemoryGiB: z.number().nonnegative().default(1),
        env: z
          .array(z.string())
          .default([])
          .describe("Environment variables that must be set (values never shown)."),
        commands: z.array(z.string()).default([]).describe("Programs that must be on PATH."),
      })
      .prefault({}),
    timeoutSeconds: seconds.default(10).describe("Each check's time limit."),
    totalTimeoutSeconds: seconds.default(90).describe("The whole preflight's time limit."),
  })
  .describe("Runner checks that run before any GPU work.");

/** A validated `preflight:` section, defaults applied. */
export type PreflightConfig = z.infer<typeof PreflightConfigSchema>;
/** A `preflight:` section as written (before defaults): what runPreflight accepts. */
export type PreflightConfigInput = z.input<typeof PreflightConfigSchema>;
