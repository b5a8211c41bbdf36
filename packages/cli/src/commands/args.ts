import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "../errors.js";

/** parseArgs with gpuci's usage errors (exit code 2) instead of Node's TypeError. */
export function parseVerbArgs<T extends NonNullable<ParseArgsConfig["options"]>>(
  verb: string,
  argv: string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, "");
    throw new UsageError(`${message}. Run "gpuci help ${verb}" for its options.`);
  }
}
