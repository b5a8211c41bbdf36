import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
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

/** The largest report.json gpuci reads (gpuci's own are far smaller; the comment holds 64 KiB). */
export const MAX_REPORT_BYTES = 64 * 1024 * 1024;
/** The deepest nesting a report.json may have (gpuci's own reports nest fewer than 12 levels). */
export const MAX_REPORT_DEPTH = 64;

/** Where JSON text first nests deeper than `max` (a byte offset), or -1; strings are skipped. */
export function jsonTooDeep(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/**
 * Read and validate report.json from disk, bounded: at most {@link MAX_REPORT_BYTES} and
 * {@link MAX_REPORT_DEPTH} levels of nesting, so rendering, aggregating or commenting on a
 * hostile report ends in a clear error, never a crash.
 */
export async function readReport(path: string, options: { maxBytes?: number } = {}): Promise<Report> {
  const maxBytes = options.maxBytes ?? MAX_REPORT_BYTES;
  let text: string;
  try {
    const st = await stat(path);
    if (st.isFile() && st.size > maxBytes)
      throw new ReportInvalidError(
        `${path} is ${(st.size / 1048576).toFixed(1)} MiB; gpuci reads reports up to ${(maxBytes / 1048576).toFixed(0)} MiB. Pass the report.json that gpuci wrote.`,
      );
    text = await readFile(path, "utf8");
  } catch (error) {
    if (error instanceof ReportInvalidError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ReportInvalidError(
      code === "ENOENT"
        ? `${path} does not exist. Pass the path of a report.json written by \`gpuci run --out DIR\`.`
        : `${path} could not be read (${code ?? String(error)}).`,
      error,
    );
  }
  const deep = jsonTooDeep(text, MAX_REPORT_DEPTH);
  if (deep >= 0)
    throw new ReportInvalidError(
      `${path} nests deeper than ${MAX_REPORT_DEPTH} levels (at character ${deep}); a gpuci report never does. Pass the report.json that gpuci wrote.`,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ReportInvalidError(`${path} is not JSON (${(error as Error).message}).`, error);
  }
  return parseReport(json, path);
}

/**
 * Create a folder and its missing parents one at a time. Node's recursive mkdir loops forever
 * under /proc (it keeps seeing ENOENT and retrying); this one fails at once with the parent
 * that could not be made. A path that exists and is not a folder is ENOTDIR.
 */
export async function makeFolder(path: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    const st = await stat(at).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (st) {
      if (!st.isDirectory())
        throw Object.assign(new Error(`${at} is not a folder`), { code: "ENOTDIR", path: at });
      break;
    }
    missing.push(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const folder of missing.reverse())
    await mkdir(folder).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
}

/**
 * Write a file atomically: a temporary sibling is written first and renamed over the target,
 * so a reader never sees half a file and an interrupted write never destroys the old one.
 */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await makeFolder(dirname(path));
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
