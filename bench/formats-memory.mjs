// Reading stays bounded: a 200 MB nvbench JSON and a 200 MB Nsight Compute CSV, one value selected
// from each, in a fresh process each, with the process's peak RSS (and the same file parsed whole
// with JSON.parse, for scale). Prints a table and exits 0. Run after `npm run build`:
//   node bench/formats-memory.mjs            (SIZE_MB=200 by default)
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SIZE = Number(process.env.SIZE_MB ?? 200) * 1024 * 1024;
const root = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "gpuci-formats-memory-"));

async function write(file, head, item, tail) {
  const out = createWriteStream(file);
  out.write(head);
  let bytes = head.length;
  let i = 0;
  while (bytes < SIZE) {
    const chunk = item(i++);
    bytes += chunk.length;
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end(tail(i));
  await once(out, "finish");
  return i;
}

// nvbench: test_ref.json's meta and devices, then one benchmark whose states are the real
// copy_type_conversion_sweep states renamed (Variant=i), until the file is SIZE bytes.
const ref = JSON.parse(
  readFileSync(join(root, "packages/gates/test/fixtures/formats/nvbench/test_ref.json"), "utf8"),
);
const states = ref.benchmarks
  .find((b) => b.name === "copy_type_conversion_sweep")
  .states.filter((s) => !s.is_skipped);
const nvFile = join(dir, "big-nvbench.json");
const nvStates = await write(
  nvFile,
  `{"meta":${JSON.stringify(ref.meta)},"devices":${JSON.stringify(ref.devices)},"benchmarks":[{"name":"sweep","index":0,"axes":null,"states":[`,
  (i) => `${i ? "," : ""}${JSON.stringify({ ...states[i % states.length], name: `Device=0 Variant=${i}` })}`,
  () => "]}]}",
);

// ncu: the details page layout, four metrics per launch of one of 64 kernels.
const ncuFile = join(dir, "big-ncu.csv");
const header =
  '"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"\n';
const metrics = [
  ["Duration", "usecond"],
  ["DRAM Throughput", "%"],
  ["Memory Throughput", "Gbyte/second"],
  ["Compute (SM) Throughput", "%"],
];
const ncuLaunches = await write(
  ncuFile,
  `==PROF== Connected to process 4242\n${header}`,
  (i) =>
    metrics
      .map(
        ([m, u], k) =>
          `"${i}","4242","python3","host","void kernel_${i % 64}<128>(float *, int)","1","7","(256, 1, 1)","(4096, 1, 1)","0","9.0","GPU Speed Of Light Throughput","${m}","${u}","${(1000 + ((i * 7 + k) % 100)).toLocaleString("en-US")}.25"\n`,
      )
      .join(""),
  () => "",
);

/** Run `code` in a fresh node; with `heapMB`, under that V8 heap limit (a crash is reported). */
function measure(code, heapMB) {
  try {
    const out = execFileSync(
      process.execPath,
      [...(heapMB ? [`--max-old-space-size=${heapMB}`] : []), "--input-type=module", "-e", code],
      { cwd: root, encoding: "utf8", maxBuffer: 1 << 20, stdio: ["ignore", "pipe", "pipe"] },
    );
    return JSON.parse(out.trim().split("\n").pop());
  } catch (error) {
    return {
      failed: /heap out of memory|Allocation failed/.test(String(error.stderr))
        ? "out of memory"
        : String(error.message).slice(0, 80),
    };
  }
}
const gates = join(root, "packages/gates/dist/index.js");
const probe = (file, metric) => `
  const t0 = performance.now();
  const { readMetric } = await import(${JSON.stringify(gates)});
  const v = await readMetric(${JSON.stringify({ file, ...metric })}, "/");
  console.log(JSON.stringify({ value: v.value, unit: v.unit, n: v.samples?.length ?? 1, s: (performance.now() - t0) / 1000, rssMB: process.resourceUsage().maxRSS / 1024 }));`;
const wholeParse = (file) => `
  const t0 = performance.now();
  const { readFileSync } = await import("node:fs");
  const doc = JSON.parse(readFileSync(${JSON.stringify(file)}, "utf8"));
  console.log(JSON.stringify({ value: doc.benchmarks.length, s: (performance.now() - t0) / 1000, rssMB: process.resourceUsage().maxRSS / 1024 }));`;
const baseline = measure(`console.log(JSON.stringify({ rssMB: process.resourceUsage().maxRSS / 1024 }))`);

const HEAP = 64;
const nvProbe = probe(nvFile, { format: "nvbench", name: "sweep Device=0 Variant=1001" });
const ncuProbe = probe(ncuFile, { format: "ncu", name: "void kernel_7<128>(float *, int)" });
const rows = [
  ["nvbench JSON, one state (streamed)", nvFile, measure(nvProbe)],
  [`nvbench JSON, one state, V8 heap limited to ${HEAP} MB`, nvFile, measure(nvProbe, HEAP)],
  ["nvbench JSON, JSON.parse of the whole file (for scale)", nvFile, measure(wholeParse(nvFile))],
  [
    `nvbench JSON, JSON.parse of the whole file, heap limited to ${HEAP} MB`,
    nvFile,
    measure(wholeParse(nvFile), HEAP),
  ],
  ["Nsight Compute CSV, one kernel's launches", ncuFile, measure(ncuProbe)],
  [`Nsight Compute CSV, heap limited to ${HEAP} MB`, ncuFile, measure(ncuProbe, HEAP)],
];
const mb = (f) => (statSync(f).size / 1024 / 1024).toFixed(0);
console.log(
  `formats-memory: nvbench ${nvStates} states, ncu ${ncuLaunches} launches; an empty node process peaks at ${baseline.rssMB.toFixed(0)} MB RSS\n`,
);
console.log("| read | file | time | peak RSS | value |");
console.log("|---|---|---|---|---|");
for (const [what, file, r] of rows)
  console.log(
    r.failed
      ? `| ${what} | ${mb(file)} MB | — | — | failed: ${r.failed} |`
      : `| ${what} | ${mb(file)} MB | ${r.s.toFixed(2)} s | ${r.rssMB.toFixed(0)} MB | ${r.unit ? `${r.value} ${r.unit} (n=${r.n})` : r.value} |`,
  );
rmSync(dir, { recursive: true, force: true });
