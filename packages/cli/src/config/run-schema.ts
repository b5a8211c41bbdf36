import { z } from "zod";

/** One named command of the `run:` section. */
export const RunCommandSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
        "use letters, digits, '.', '_' and '-' (it becomes a finding id)",
      )
      .describe("A short name; the finding id is run.<name>."),
    command: z
      .union([
        z.string().min(1),
        z
          .array(z.string())
          .min(1)
          .refine((argv) => argv[0]!.trim() !== "", "the program (the list's first element) is empty"),
      ])
      .describe("A shell command line (run with /bin/sh -c), or an argv list run without a shell."),
    timeoutMinutes: z.number().positive().optional().describe("Stop the command after this many minutes."),
    workingDirectory: z
      .string()
      .optional()
      .describe("Where the command runs, relative to the folder of gpuci.yml (default: that folder)."),
    env: z
      .record(
        z
          .string()
          .regex(
            /^[A-Za-z_][A-Za-z0-9_]*$/,
            "an environment variable name: letters, digits and '_', not starting with a digit (no '=')",
          ),
        z.union([z.string(), z.number(), z.boolean()]),
      )
      .optional()
      .describe("Extra environment variables for this command."),
    continueOnError: z
      .boolean()
      .optional()
      .describe(
        "Run the next commands even when this one fails (default false: later commands are skipped).",
      ),
  })
  .describe("A named command gpuci runs, streams and records.");

/** The `run:` section: commands run in order. */
export const RunSectionSchema = z
  .array(RunCommandSchema)
  .describe("Commands gpuci runs in order, after preflight and before gates.")
  .superRefine((commands, ctx) => {
    const seen = new Set<string>();
    commands.forEach((c, i) => {
      if (seen.has(c.name))
        ctx.addIssue({
          code: "custom",
          path: [i, "name"],
          message: `duplicate name "${c.name}": names must be unique`,
        });
      seen.add(c.name);
    });
  });

export type RunCommand = z.infer<typeof RunCommandSchema>;
