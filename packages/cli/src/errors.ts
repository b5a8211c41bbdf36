// The errors subpath only: a verb that fails early (or `provenance verify`) never loads the
// report model and renderers.
import { GpuciError } from "@gpuci/report/errors";

/** The command line was wrong: an unknown verb or flag, a missing argument. Exit code 2. */
export class UsageError extends GpuciError {
  constructor(message: string) {
    super("GPUCI_USAGE", message, { exitCode: 2 });
    this.name = "UsageError";
  }
}

/** gpuci.yml is missing. Exit code 2. */
export class ConfigNotFoundError extends GpuciError {
  constructor(message: string) {
    super("GPUCI_CONFIG_NOT_FOUND", message, { exitCode: 2 });
    this.name = "ConfigNotFoundError";
  }
}

/** One problem in gpuci.yml, located by YAML path and line. */
export interface ConfigProblem {
  /** The YAML path, e.g. `run[0].timeoutMinutes`. */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

/** gpuci.yml is not valid YAML or does not match the schema. Exit code 2. */
export class ConfigInvalidError extends GpuciError {
  readonly file: string;
  readonly problems: ConfigProblem[];

  constructor(file: string, problems: ConfigProblem[]) {
    const lines = problems.map(
      (p) =>
        `  ${file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ""}` : ""}  ${p.path || "(top level)"}: ${p.message}`,
    );
    super(
      "GPUCI_CONFIG_INVALID",
      `${file} has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${lines.join("\n")}\nFix the lines above; the schema is in schema/gpuci.schema.json (editors can autocomplete with it).`,
      { exitCode: 2 },
    );
    this.name = "ConfigInvalidError";
    this.file = file;
    this.problems = problems;
  }
}

/** The output folder cannot take the report (not a folder, not writable, no space). Exit code 2. */
export class OutDirError extends GpuciError {
  constructor(message: string) {
    super("GPUCI_OUT_UNUSABLE", message, { exitCode: 2 });
    this.name = "OutDirError";
  }
}
