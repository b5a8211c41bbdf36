import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/** The digest of one file, or why it could not be read. */
export interface FileDigest {
  path: string;
  sha256?: string;
  size?: number;
  error?: string;
}

// The worker is plain JavaScript kept in a string so it works unchanged from source, from the
// built package and from a single-file bundle (the GitHub Action).
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { openSync, readSync, closeSync, fstatSync } = require("node:fs");
const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
parentPort.on("message", ({ id, path }) => {
  let fd;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const h = createHash("sha256");
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(n === buf.length ? buf : buf.subarray(0, n));
      total += n;
    }
    parentPort.postMessage({ id, sha256: h.digest("hex"), size: total });
  } catch (e) {
    parentPort.postMessage({ id, error: (e && e.code ? e.code + ": " : "") + (e && e.message ? e.message : String(e)) });
  } finally {
    if (fd !== undefined) try { closeSync(fd); } catch {}
  }
});
`;

/** sha256 of a string or buffer, hex. */
export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Hash files in parallel on a pool of worker threads (one per core by default). Files are
 * read in 4 MiB blocks, never whole. Results come back in input order; an unreadable file
 * gets `error` and the rest are still hashed.
 */
export async function hashFiles(
  paths: readonly string[],
  options: { concurrency?: number } = {},
): Promise<FileDigest[]> {
  if (paths.length === 0) return [];
  const n = Math.max(1, Math.min(options.concurrency ?? availableParallelism(), paths.length));
  const results: FileDigest[] = new Array(paths.length);
  let next = 0;
  const workers = Array.from({ length: n }, () => new Worker(WORKER_SOURCE, { eval: true, execArgv: [] }));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const feed = () => {
              if (next >= paths.length) return resolve();
              const id = next++;
              worker.postMessage({ id, path: paths[id] });
            };
            worker.on("message", (m: { id: number; sha256?: string; size?: number; error?: string }) => {
              const r: FileDigest = { path: paths[m.id]! };
              if (m.sha256) {
                r.sha256 = m.sha256;
                r.size = m.size ?? 0;
              } else r.error = m.error ?? "unknown error";
              results[m.id] = r;
              feed();
            });
            worker.on("error", reject);
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
