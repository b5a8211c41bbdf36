import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { ReportInvalidError } from "./errors.js";
import { type Report, ReportSchema } from "./model.js";
import { redactDeep } from "./redact.js";

/**
 * Validate an unknown value as a `gpuci.report/v1` report.
 * Throws ReportInvalidError naming the first bad fields and where `source` came from.
 */
export function parseReport(value: unknown, source = "report"): Report {
  const result = ReportSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((i) => `  - ${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("\n");
  const schemaHint =
    value &&
    typeof value === "object" &&
    "schema" in value &&
    (value as { schema: unknown }).schema !== "gpuci.report/v1"
      ? ` It declares schema ${JSON.stringify((value as { schema: unknown }).schema)}; this gpuci reads "gpuci.report/v1".`
      : "";
  throw new ReportInvalidError(
    `${source} is not a valid gpuci report.${schemaHint}\n${problems}\nRegenerate it with \`gpuci run\` or pass the report.json that gpuci wrote.`,
  );
}

/** Read and validate report.json from disk. */
export async function readReport(path: string): Promise<Report> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ReportInvalidError(
      code === "ENOENT"
        ? `${path} does not exist. Pass the path of a report.json written by \`gpuci run --out DIR\`.`
        : `${path} could not be read (${code ?? String(error)}).`,
      error,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ReportInvalidError(`${path} is not JSON (${(error as Error).message}).`, error);
  }
  return parseReport(json, path);
}

/**
 * Write a file atomically: a temporary sibling is written first and renamed over the target,
 * so a reader never sees half a file and an interrupted write never destroys the old one.
 */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, content);
    await rename(tmp, path);
  } catch (error) {
    // A full disk or a vanished folder leaves neither a partial file nor a stray temporary one.
    await rm(tmp, { force: true }).catch(() => {});
    throw error;
  }
}

/** Validate and write report.json (pretty-printed, trailing newline). */
export async function writeReport(path: string, report: Report): Promise<void> {
  const valid = parseReport(report, "the report being written");
  // Everything gpuci writes passes the one redaction (secrets in output tails, argv, summaries).
  await writeFileAtomic(path, `${JSON.stringify(redactDeep(valid), null, 2)}\n`);
}
