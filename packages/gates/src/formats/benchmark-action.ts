import { type BenchRow, type FormatReader, isObject, MetricError, notThisFormat } from "./common.js";

function customReader(id: string, title: string, direction: "smaller" | "bigger" | undefined): FormatReader {
  return {
    id,
    title,
    url: "https://github.com/benchmark-action/github-action-benchmark#examples",
    kind: "json",
    produce: "a JSON list of {name, unit, value} objects (github-action-benchmark's custom format)",
    fields: "—",
    bencher: "no",
    gab: direction === undefined ? "customSmallerIsBetter / customBiggerIsBetter" : id,
    sniff({ json }) {
      // The same list serves three tool names: only the unit-agnostic one is sniffed.
      if (direction !== undefined || !Array.isArray(json) || json.length === 0) return undefined;
      return json.every((x) => isObject(x) && "name" in x && "value" in x && "unit" in x)
        ? "a list of {name, unit, value} (github-action-benchmark custom)"
        : undefined;
    },
    async read(input) {
      const doc = await input.json();
      if (!Array.isArray(doc))
        throw notThisFormat(
          input.label,
          "github-action-benchmark custom JSON (a list of {name, unit, value})",
          this.produce,
        );
      return doc.map((x, i): BenchRow => {
        if (!isObject(x) || typeof x.name !== "string")
          throw new MetricError(
            `${input.label}: entry ${i} is ${JSON.stringify(x)?.slice(0, 60)}, not {name, unit, value}`,
            "Each entry needs name: TEXT, unit: TEXT and value: NUMBER.",
          );
        if (typeof x.value !== "number")
          throw new MetricError(
            `${input.label}: ${x.name} has value ${JSON.stringify(x.value)}, not a number`,
            "Each entry needs value: NUMBER.",
          );
        return {
          name: x.name,
          value: x.value,
          unit: typeof x.unit === "string" ? x.unit : "",
          ...(direction
            ? {
                direction,
                directionRule: `github-action-benchmark tool ${id}: ${direction} is better`,
              }
            : {}),
        };
      });
    },
  };
}

/** github-action-benchmark's custom JSON, direction from the unit (or `metric.direction`). */
export const benchmarkAction = customReader(
  "benchmark-action",
  "github-action-benchmark custom JSON",
  undefined,
);
/** The same list under GAB's tool name that says bigger is better. */
export const customBiggerIsBetter = customReader(
  "customBiggerIsBetter",
  "github-action-benchmark customBiggerIsBetter",
  "bigger",
);
/** The same list under GAB's tool name that says smaller is better. */
export const customSmallerIsBetter = customReader(
  "customSmallerIsBetter",
  "github-action-benchmark customSmallerIsBetter",
  "smaller",
);
