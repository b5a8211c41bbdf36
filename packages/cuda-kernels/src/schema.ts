import { z } from "zod";
import { KERNELS } from "./catalog.js";

const dim = z.number().int().positive();
const dispatchExpr = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(
      /^[\w\s+\-*/(),.]+$/,
      "an expression of the shape's sizes with + - * / ( ) and ceil, floor, min, max",
    ),
]);

/** One entry of the `kernels:` section. */
export const KernelEntrySchema = z
  .strictObject({
    kernel: z.enum(KERNELS),
    shapes: z
      .array(
        z.strictObject({
          n: dim.optional(),
          m: dim.optional(),
          k: dim.optional(),
          rows: dim.optional(),
          cols: dim.optional(),
          b: dim.optional(),
          h: dim.optional(),
          s: dim.optional(),
          d: dim.optional(),
          causal: z.boolean().optional(),
        }),
      )
      .optional()
      .describe("Problem sizes (default: the catalog's, which include sizes that are not tile multiples)."),
    dtypes: z.array(z.enum(["f32", "f16"])).default(["f32"]),
    backends: z.array(z.enum(["napi", "webgpu"])).default(["napi", "webgpu"]),
    time: z.boolean().default(true).describe("Time the kernel after it passes the correctness check."),
    source: z
      .union([
        z.strictObject({
          wgsl: z.string().min(1).describe("Your WGSL file, relative to gpuci.yml."),
          entryPoint: z.string().default("main"),
          dispatch: z
            .tuple([dispatchExpr, dispatchExpr, dispatchExpr])
            .describe(
              'Workgroups per dimension: numbers or expressions of the shape, e.g. ["ceil(n/16)", "ceil(m/16)", 1].',
            ),
        }),
        z.strictObject({
          cuda: z
            .string()
            .min(1)
            .describe("Your CUDA C++ file, relative to gpuci.yml (compiled by NVRTC on the runner)."),
          function: z.string().min(1).describe('The extern "C" __global__ function to launch.'),
          arch: z
            .string()
            .regex(/^compute_\d+[af]?$/, 'a virtual architecture such as "compute_80"')
            .default("compute_75")
            .describe(
              "Where no CUDA driver is present, the source is still compiled by NVRTC for this virtual architecture, so compile errors fail CI on CPU runners (default compute_75, the oldest CUDA 13 accepts). On a GPU the device's own architecture is used.",
            ),
          emulate: z
            .boolean()
            .default(true)
            .describe(
              "Where no CUDA driver is present, run the kernel in gpuci's CUDA emulator on the CPU (needs g++) and check it against the reference: correctness only, never timed. It covers a subset of CUDA (no headers, no inline PTX); a source it cannot build is skipped, saying why.",
            ),
          grid: z
            .tuple([dispatchExpr, dispatchExpr, dispatchExpr])
            .describe("Blocks per dimension (numbers or expressions of the shape)."),
          block: z.tuple([
            z.number().int().positive(),
            z.number().int().positive(),
            z.number().int().positive(),
          ]),
        }),
      ])
      .optional()
      .describe(
        "Your own kernel for this catalog entry, checked against the catalog's reference, then timed. WGSL: binding 0 is the uniform P, then the inputs in catalog order, then the output. CUDA: (inputs..., output, int m, n, k, b, h, s, d, causal, float eps).",
      ),
    reference: z
      .strictObject({
        inputs: z
          .array(z.string().min(1))
          .min(1)
          .describe("The kernel's inputs in catalog order (.npy or .json arrays), relative to gpuci.yml."),
        output: z
          .string()
          .min(1)
          .describe("The expected output for those inputs (.npy or .json), e.g. saved from PyTorch."),
      })
      .optional()
      .describe(
        "Check against your own files instead of the float64 reference on fresh random inputs: one trial on these inputs, compared with this output at the dtype's tolerance. The entry lists exactly one shape, the files' shape.",
      ),
  })
  .superRefine((entry, ctx) => {
    if (entry.reference && entry.shapes?.length !== 1)
      ctx.addIssue({
        code: "custom",
        path: ["shapes"],
        message: "an entry with reference files lists exactly one shape: the shape of those files",
      });
  })
  .describe("A catalog kernel to check (and then time) on the listed backends.");

/** The `kernels:` section. */
export const KernelsConfigSchema = z
  .array(KernelEntrySchema)
  .describe("GPU kernels checked for correctness first, then timed.");
export type KernelsConfig = z.infer<typeof KernelsConfigSchema>;
