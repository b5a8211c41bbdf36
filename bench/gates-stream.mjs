// bench/gates-stream: median and p95 of one field of a 1,000,000-line JSONL file (~130 MB),
// with gpuci's streaming extractor, a naive Node readline + JSON.parse loop, jq, and DuckDB
// (@duckdb/node-api, read_json + median/quantile_cont), all in one run.
// gpuci's extractor validates every line as JSON.parse would (strict reading, #15).
// Each tool runs REPEAT times (default 3) and the median time is reported.
// Target: gpuci >= 1.0x DuckDB's throughput.
import { spawnSync } from "node:child_process";
import { createReadStream, createWriteStream, existsSync, rmSync, statSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../packages/gates/dist/index.js", import.meta.url));
if (!existsSync(dist)) {
  console.error("bench/gates-stream: build first (npm run build)");
  process.exit(1);
}
const { extractJsonl, quantile, quantileSorted } = await import(dist);
const lines = Number(process.env.LINES ?? 1_000_000);
const file = join(process.env.BENCH_DIR ?? tmpdir(), `gpuci-gates-stream-${process.pid}.jsonl`);

// Generate the data set: realistic rows of a generated-data QC log.
await new Promise((resolve) => {
  const out = createWriteStream(file);
  let seed = 7;
  const r = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  let i = 0;
  const write = () => {
    let ok = true;
    while (i < lines && ok) {
      const batch = [];
      for (let k = 0; k < 1000 && i < lines; k++, i++)
        batch.push(
          JSON.stringify({
            id: i,
            prompt: `task-${i % 97}`,
            f: Math.round(r() * 1e6) / 1e4,
            tokens: Math.floor(r() * 500),
            ok: r() > 0.05,
            text: "lorem ipsum dolor sit amet, consectetur",
          }),
        );
      ok = out.write(`${batch.join("\n")}\n`);
    }
    if (i < lines) out.once("drain", write);
    else out.end(resolve);
  };
  write();
});
const mb = statSync(file).size / 1e6;

const repeat = Number(process.env.REPEAT ?? 3);
const time = async (fn, times = repeat) => {
  const runs = [];
  let r;
  for (let i = 0; i < times; i++) {
    const t0 = process.hrtime.bigint();
    r = await fn();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  runs.sort((a, b) => a - b);
  return { s: runs[Math.floor(runs.length / 2)], r };
};
const rows = [];

// Warm the page cache.
spawnSync("cat", [file], { stdio: ["ignore", "ignore", "inherit"] });

rows.push({
  name: `gpuci (${availableParallelism()} workers)`,
  ...(await time(async () => {
    const ex = await extractJsonl(file, "f");
    return [quantile(ex.values, 0.5), quantile(ex.values, 0.95)];
  })),
});
rows.push({
  name: "node readline + JSON.parse",
  ...(await time(async () => {
    const v = [];
    for await (const line of createInterface({
      input: createReadStream(file),
      crlfDelay: Number.POSITIVE_INFINITY,
    }))
      if (line) v.push(JSON.parse(line).f);
    const s = Float64Array.from(v).sort();
    return [quantileSorted(s, 0.5), quantileSorted(s, 0.95)];
  })),
});
const jq = spawnSync("jq", ["--version"]);
if (jq.status === 0)
  rows.push({
    name: "jq",
    ...(await time(async () => {
      const r = spawnSync(
        "jq",
        [
          "-n",
          "[inputs.f] | sort | [(.[(length-1)*0.5|floor] + .[(length-1)*0.5|ceil])/2, (.[(length-1)*0.95|floor] + (.[(length-1)*0.95|ceil] - .[(length-1)*0.95|floor]) * (((length-1)*0.95) - ((length-1)*0.95|floor)))]",
          file,
        ],
        { encoding: "utf8", maxBuffer: 1 << 26 },
      );
      return JSON.parse(r.stdout);
    }, 1)),
  });
let duck;
try {
  duck = await import("@duckdb/node-api");
} catch {
  console.error("DuckDB (@duckdb/node-api) is not installed: npm ci installs it as a dev dependency");
}
if (duck) {
  const instance = await duck.DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  rows.push({
    name: "DuckDB read_json",
    ...(await time(async () => {
      const reader = await conn.runAndReadAll(
        `SELECT median(f), quantile_cont(f, 0.95) FROM read_json('${file}', format='newline_delimited')`,
      );
      return reader.getRows()[0].map(Number);
    })),
  });
}
rmSync(file, { force: true });

const ref = rows.find((r) => r.name.startsWith("DuckDB"));
console.log(
  `gates-stream: ${lines.toLocaleString("en")} lines, ${mb.toFixed(0)} MB, median and p95 of one field, node ${process.version}, ${availableParallelism()} cores, median of ${repeat} runs (jq: 1)\n`,
);
console.log("| tool | seconds | MB/s | vs DuckDB | median | p95 |");
console.log("|---|---|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.s.toFixed(2)} | ${(mb / r.s).toFixed(0)} | ${ref ? `${(ref.s / r.s).toFixed(2)}x` : "—"} | ${r.r[0].toFixed(4)} | ${r.r[1].toFixed(4)} |`,
  );
if (ref)
  console.log(`\ntarget: gpuci >= 1.0x DuckDB's throughput: ${ref.s / rows[0].s >= 1 ? "met" : "NOT met"}`);
