/**
 * The base of every error gpuci raises on purpose. `code` is stable (scripts may match on it);
 * the message says what was found, what was expected and what to do.
 */
export class GpuciError extends Error {
  /** A stable identifier such as `GPUCI_CONFIG_INVALID`. */
  readonly code: string;
  /** The process exit code a top-level handler should use: 2 for usage/config, 1 otherwise. */
  readonly exitCode: number;

  constructor(code: string, message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GpuciError";
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** report.json could not be read or did not match the `gpuci.report/v1` schema. */
export class ReportInvalidError extends GpuciError {
  constructor(message: string, cause?: unknown) {
    super("GPUCI_REPORT_INVALID", message, { exitCode: 2, cause });
    this.name = "ReportInvalidError";
  }
}
