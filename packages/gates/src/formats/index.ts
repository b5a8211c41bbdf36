import { open, readFile } from "node:fs/promises";
import { extname } from "node:path";
import { asv, bmf, julia } from "./asv-julia-bmf.js";
import { benchmarkAction, customBiggerIsBetter, customSmallerIsBetter } from "./benchmark-action.js";
import { catch2 } from "./catch2.js";
import { type FormatInput, type FormatReader, isObject, MetricError } from "./common.js";
import { goBench } from "./go-bench.js";
import { googleBenchmark } from "./google-benchmark.js";
import { hyperfine } from "./hyperfine.js";
import { benchmarkDotNet, benchmarkJs, jmh, vitestBench } from "./js-jvm-dotnet.js";
import { lmEval, mlperf } from "./ml.js";
import { ncu } from "./ncu.js";
import { nvbench } from "./nvbench.js";
import { pytestBenchmark } from "./pytest-benchmark.js";
import { criterion, rustLibtest } from "./rust.js";

export * from "./common.js";
export { type PathStep, streamJson } from "./json-stream.js";
export { isPattern, listNames, nameMatcher, type SelectedValue, selectRows, valueOfRow } from "./select.js";

/**
 * Every benchmark format gates reads, in sniffing order: the most specific signatures first, the
 * generic shapes (a list of {name, unit, value}, Bencher Metric Format) last.
 */
export const FORMATS: readonly FormatReader[] = [
  googleBenchmark,
  pytestBenchmark,
  hyperfine,
  nvbench,
  jmh,
  benchmarkDotNet,
  vitestBench,
  asv,
  julia,
  lmEval,
  criterion,
  goBench,
  rustLibtest,
  catch2,
  benchmarkJs,
  mlperf,
  ncu,
  benchmarkAction,
  customBiggerIsBetter,
  customSmallerIsBetter,
  bmf,
];

/** The reader for a `format:` value, if it is a benchmark format. */
export function formatById(id: string | undefined): FormatReader | undefined {
  return id === undefined ? undefined : FORMATS.find((f) => f.id === id);
}

/** The largest file parsed whole to sniff its JSON shape; larger files are sniffed by their start. */
const SNIFF_PARSE_BYTES = 64 * 1024 * 1024;

/** Remove a UTF-8 BOM and turn CRLF/CR into LF. */
export function normalizeText(text: string): string {
  return (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n?/g, "\n");
}

/** A lazily read file for the readers, parsed once. */
export function formatInput(file: string, label: string, parse: (text: string) => unknown): FormatInput {
  let text: Promise<string> | undefined;
  let json: Promise<unknown> | undefined;
  const input: FormatInput = {
    file,
    label,
    text: () => {
      text ??= readFile(file, "utf8").then(normalizeText);
      return text;
    },
    json: () => {
      json ??= input.text().then((t) => {
        try {
          return parse(t);
        } catch (error) {
          throw new MetricError(
            `${label} is not valid JSON (${(error as Error).message})`,
            "Check that the command that writes it finished; a truncated file usually means it crashed.",
          );
        }
      });
      return json;
    },
  };
  return input;
}

/** What sniffing decided: a benchmark reader and why, or one of the generic formats. */
export type Sniffed =
  | { kind: "reader"; reader: FormatReader; evidence: string }
  | { kind: "generic"; format: "json" | "jsonl" | "csv" | "junit"; evidence: string };

/**
 * Choose the reader for a file by its content (and extension): the finding says which and why.
 * Content that no reader accepts is an error naming what the file looks like, the formats closest
 * to it and the config line that reads it.
 */
export async function sniffFile(
  file: string,
  label: string,
  size: number,
  parse: (text: string) => unknown,
): Promise<Sniffed> {
  const ext = extname(file).toLowerCase();
  const fh = await open(file, "r");
  let head: string;
  try {
    const buf = Buffer.alloc(Math.min(size, 64 * 1024));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = normalizeText(buf.subarray(0, bytesRead).toString("utf8"));
  } finally {
    await fh.close();
  }
  const start = head.trimStart();
  let json: unknown;
  let jsonError: string | undefined;
  if ((start.startsWith("{") || start.startsWith("[")) && size <= SNIFF_PARSE_BYTES) {
    try {
      json = parse(normalizeText(await readFile(file, "utf8")));
    } catch (error) {
      jsonError = (error as Error).message;
    }
  }
  for (const reader of FORMATS) {
    const evidence = reader.sniff({ ...(json !== undefined ? { json } : {}), head, ext });
    if (evidence) return { kind: "reader", reader, evidence };
  }
  if (start.startsWith("<") && /<testsuites?[\s>]/.test(head))
    return { kind: "generic", format: "junit", evidence: "a <testsuite> element (JUnit XML)" };
  // Nothing accepted it: say what it looks like, and what would read it.
  const looks =
    json !== undefined
      ? Array.isArray(json)
        ? `a JSON list of ${json.length} ${json.length && isObject(json[0]) ? `objects with keys ${Object.keys(json[0]).slice(0, 6).join(", ")}` : "values"}`
        : isObject(json)
          ? `a JSON object with keys ${Object.keys(json).slice(0, 8).join(", ")}`
          : "a single JSON value"
      : jsonError
        ? `text that starts like JSON but does not parse (${jsonError.slice(0, 80)})`
        : start.startsWith("<")
          ? "XML that is neither JUnit nor a Catch2 report"
          : `text starting "${start.slice(0, 60).replace(/\n/g, "⏎")}"`;
  const closest = FORMATS.filter((f) =>
    json !== undefined
      ? f.kind === "json"
      : start.startsWith("<")
        ? f.kind === "xml" || f.id === "catch2"
        : f.kind !== "json",
  )
    .slice(0, 6)
    .map((f) => f.id);
  throw new MetricError(
    `no format reader accepts ${label}: it is ${looks}`,
    `Set metric.format to the tool that wrote it (closest: ${closest.join(", ")}; all: ${FORMATS.map((f) => f.id).join(", ")}), or read a plain value with metric.path (JSON) or metric.column (CSV).`,
  );
}
