// bench/provenance-hash: gpuci's artifact hashing against sha256sum and openssl, in one run.
// (a) one 1 GiB file; (b) 2,000 files totalling 1 GiB. Prints throughput and ratios.
// Targets: gpuci >= 0.8x openssl on (a); >= 1.5x openssl on (b) (both cores).
import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../packages/provenance/dist/index.js", import.meta.url));
if (!existsSync(dist)) {
  console.error("bench/provenance-hash: build first (npm run build)");
  process.exit(1);
}
const { hashFiles } = await import(dist);
const GiB = 1024 ** 3;
const total = Number(process.env.BYTES ?? GiB);
const root = join(process.env.BENCH_DIR ?? tmpdir(), `gpuci-hash-bench-${process.pid}`);
mkdirSync(join(root, "many"), { recursive: true });

function writeRandom(path, bytes) {
  const fd = openSync(path, "w");
  const block = randomFillSync(Buffer.alloc(Math.min(bytes, 8 * 1024 * 1024)));
  for (let left = bytes; left > 0; left -= block.length)
    writeSync(fd, block, 0, Math.min(block.length, left));
  closeSync(fd);
}

const big = join(root, "one.bin");
writeRandom(big, total);
const nFiles = 2000;
const many = [];
for (let i = 0; i < nFiles; i++) {
  const p = join(root, "many", `f${i}.bin`);
  writeRandom(p, Math.floor(total / nFiles));
  many.push(p);
}

const time = async (fn) => {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"], maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} failed`);
};
// xargs keeps argv short; -P1 so each tool is measured as it is normally run (one process).
const runMany = (cmd, args) => {
  const r = spawnSync("sh", ["-c", `cd ${root}/many && ls | xargs ${cmd} ${args.join(" ")} > /dev/null`], {
    stdio: "inherit",
  });
  if (r.status !== 0) throw new Error(`${cmd} failed`);
};

// Warm the page cache so every tool reads from memory.
run("cat", [big]);
runMany("cat", []);

const rows = [];
const measure = async (name, a, b) => rows.push({ name, a: await time(a), b: await time(b) });
await measure(
  "gpuci (worker pool)",
  () => hashFiles([big]),
  () => hashFiles(many),
);
await measure(
  "sha256sum",
  () => run("sha256sum", [big]),
  () => runMany("sha256sum", []),
);
await measure(
  "openssl dgst -sha256",
  () => run("openssl", ["dgst", "-sha256", big]),
  () => runMany("openssl", ["dgst", "-sha256"]),
);
rmSync(root, { recursive: true, force: true });

const mb = total / 1e6;
const openssl = rows.find((r) => r.name.startsWith("openssl"));
console.log(
  `provenance hashing, ${(total / GiB).toFixed(2)} GiB, ${availableParallelism()} cores, node ${process.version}\n`,
);
console.log("| tool | (a) 1 file MB/s | (b) 2,000 files MB/s | (a) vs openssl | (b) vs openssl |");
console.log("|---|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.name} | ${(mb / r.a).toFixed(0)} | ${(mb / r.b).toFixed(0)} | ${(openssl.a / r.a).toFixed(2)}x | ${(openssl.b / r.b).toFixed(2)}x |`,
  );
const g = rows[0];
console.log(
  `\ntargets: (a) >= 0.8x openssl: ${openssl.a / g.a >= 0.8 ? "met" : "NOT met"}; (b) >= 1.5x openssl: ${openssl.b / g.b >= 1.5 ? "met" : "NOT met"}`,
);
