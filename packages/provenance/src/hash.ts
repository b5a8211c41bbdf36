import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
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
// built package and from a single-file bundle (the GitHub Action). It takes a batch of paths per
// message (one round trip per batch, not per file) and hashes each file in 4 MiB blocks. Files
// are opened non-blocking and checked to be regular, so a FIFO put where a file was never blocks.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { openSync, readSync, closeSync, fstatSync, constants } = require("node:fs");
const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK || 0);
function hashOne(path, known) {
  let fd;
  try {
    fd = openSync(path, FLAGS);
    if (!known && !fstatSync(fd).isFile()) return { error: "not a regular file" };
    const h = createHash("sha256");
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(n === buf.length ? buf : buf.subarray(0, n));
      total += n;
      // A regular file reads short only at its end: no extra read to see EOF.
      if (n < buf.length) break;
    }
    return { sha256: h.digest("hex"), size: total };
  } catch (e) {
    return { error: (e && e.code ? e.code + ": " : "") + (e && e.message ? e.message : String(e)) };
  } finally {
    if (fd !== undefined) try { closeSync(fd); } catch {}
  }
}
// Results go back compact: the digests as one string of 64-character hex (blank on error), the
// sizes as numbers, and only the errors as text — not one object per file.
parentPort.on("message", ({ id, paths, known, base }) => {
  let hex = "";
  const sizes = new Float64Array(paths.length);
  const errors = {};
  for (let i = 0; i < paths.length; i++) {
    const r = hashOne(base ? base + "/" + paths[i] : paths[i], known);
    if (r.sha256) {
      hex += r.sha256;
      sizes[i] = r.size;
    } else {
      hex += " ".repeat(64);
      errors[i] = r.error;
    }
  }
  parentPort.postMessage({ id, hex, sizes, errors }, [sizes.buffer]);
});
`;

/** sha256 of a string or buffer, hex. */
export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Options for {@link hashFiles}. */
export interface HashOptions {
  /** Threads hashing, this one included (default: one per core; 1: no worker threads). */
  concurrency?: number;
  /** The caller saw each path to be a regular file (a folder listing): no second check. */
  knownRegular?: boolean;
  /** A folder the paths are relative to (joined in the workers, not here). */
  baseDir?: string;
}

/** Fewer files than this are hashed here when small: starting worker threads would cost more. */
const FEW_FILES = 64;
/** A file up to this size is hashed here (when few); a larger one goes to a worker. */
const HERE_BYTES = 1024 * 1024;
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Hash files, calling `sink(index, sha256, size)` (or `sink(index, undefined, 0, error)`) as
 * each one is done, in no particular order. Fewer than 64 files of at most 1 MiB each are
 * hashed here, synchronously (a worker thread costs more to start than they take); every other
 * file is hashed by this thread and a pool of worker threads, one per core in all, in batches
 * (one message per batch, not per file), read in 4 MiB blocks into one reused buffer.
 */
export async function hashInto(
  paths: readonly string[],
  options: HashOptions,
  sink: (index: number, sha256: string | undefined, size: number, error?: string) => void,
): Promise<void> {
  if (paths.length === 0) return;
  if (paths.length >= FEW_FILES) return hashOnWorkers(paths, [], options, sink);
  const large: number[] = [];
  const buf = Buffer.allocUnsafe(HERE_BYTES + 1);
  for (let i = 0; i < paths.length; i++) {
    const path = options.baseDir ? `${options.baseDir}/${paths[i]}` : paths[i]!;
    let fd: number | undefined;
    try {
      fd = openSync(path, OPEN_FLAGS);
      const st = fstatSync(fd);
      if (!st.isFile()) {
        sink(i, undefined, 0, "not a regular file");
        continue;
      }
      if (st.size > HERE_BYTES) {
        large.push(i);
        continue;
      }
      let got = 0;
      for (;;) {
        const n = readSync(fd, buf, got, buf.length - got, got);
        if (n === 0) break;
        got += n;
        if (got === buf.length) break;
      }
      if (got > HERE_BYTES) {
        large.push(i); // it grew past the bound: read it in blocks on a worker
        continue;
      }
      sink(i, createHash("sha256").update(buf.subarray(0, got)).digest("hex"), got);
    } catch (e) {
      const error = e as NodeJS.ErrnoException;
      sink(i, undefined, 0, `${error.code ? `${error.code}: ` : ""}${error.message}`);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  if (large.length)
    await hashOnWorkers(
      large.map((i) => paths[i]!),
      large,
      options,
      sink,
    );
}

/** One file hashed on this thread, as the workers do it (4 MiB blocks into one reused buffer). */
function hashOneHere(
  path: string,
  known: boolean,
  buf: Buffer,
): { sha256: string; size: number } | { error: string } {
  let fd: number | undefined;
  try {
    fd = openSync(path, OPEN_FLAGS);
    if (!known && !fstatSync(fd).isFile()) return { error: "not a regular file" };
    const h = createHash("sha256");
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(n === buf.length ? buf : buf.subarray(0, n));
      total += n;
      if (n < buf.length) break;
    }
    return { sha256: h.digest("hex"), size: total };
  } catch (e) {
    const error = e as NodeJS.ErrnoException;
    return { error: `${error.code ? `${error.code}: ` : ""}${error.message}` };
  } finally {
    if (fd !== undefined)
      try {
        closeSync(fd);
      } catch {}
  }
}

/**
 * The worker-pool half of {@link hashInto}; `indexes` maps back to the caller's list when given.
 * This thread hashes too, from the first moment, while the workers start (a worker costs tens of
 * milliseconds to boot): `concurrency` threads in all, this one and concurrency − 1 workers, all
 * taking batches from one queue; each worker holds two batches so it never waits for this
 * thread to hand it the next one, and this thread yields between its own small batches so the
 * workers' results are taken in.
 */
async function hashOnWorkers(
  paths: readonly string[],
  indexes: readonly number[],
  options: HashOptions,
  sink: (index: number, sha256: string | undefined, size: number, error?: string) => void,
): Promise<void> {
  const at = (i: number) => (indexes.length ? indexes[i]! : i);
  const threads = Math.max(1, Math.min(options.concurrency ?? availableParallelism(), paths.length));
  // Enough batches that every thread stays busy to the end; at most 512 files in one.
  const batch = Math.max(1, Math.min(512, Math.ceil(paths.length / (threads * 16))));
  const known = options.knownRegular === true;
  let next = 0;
  const take = (size: number): [number, number] | undefined => {
    if (next >= paths.length) return undefined;
    const from = next;
    next = Math.min(paths.length, next + size);
    return [from, next];
  };
  const workers = Array.from(
    { length: threads - 1 },
    () => new Worker(WORKER_SOURCE, { eval: true, execArgv: [] }),
  );
  const here = async () => {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    const small = Math.max(1, Math.min(batch, 16));
    for (let range = take(small); range; range = take(small)) {
      for (let i = range[0]; i < range[1]; i++) {
        const path = options.baseDir ? `${options.baseDir}/${paths[i]}` : paths[i]!;
        const r = hashOneHere(path, known, buf);
        if ("sha256" in r) sink(at(i), r.sha256, r.size);
        else sink(at(i), undefined, 0, r.error);
      }
      // Let the workers' results in (and their next batches out) before the next batch here.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  try {
    await Promise.all([
      here(),
      ...workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let inFlight = 0;
            const feed = () => {
              const range = take(batch);
              if (!range) {
                if (inFlight === 0) resolve();
                return;
              }
              inFlight += 1;
              worker.postMessage({
                id: range[0],
                paths: paths.slice(range[0], range[1]),
                known,
                base: options.baseDir,
              });
            };
            worker.on(
              "message",
              (m: { id: number; hex: string; sizes: Float64Array; errors: Record<number, string> }) => {
                inFlight -= 1;
                for (let k = 0; k < m.sizes.length; k++) {
                  const error = m.errors[k];
                  if (error === undefined) sink(at(m.id + k), m.hex.slice(k * 64, k * 64 + 64), m.sizes[k]!);
                  else sink(at(m.id + k), undefined, 0, error);
                }
                feed();
              },
            );
            worker.on("error", reject);
            feed();
            feed();
          }),
      ),
    ]);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * Hash files in parallel on a pool of worker threads (one per core by default), in batches so
 * that many small files cost one message per batch, not one per file. Files are read in 4 MiB
 * blocks, never whole. Results come back in input order; an unreadable file (or one that is
 * not a regular file) gets `error` and the rest are still hashed.
 */
export async function hashFiles(paths: readonly string[], options: HashOptions = {}): Promise<FileDigest[]> {
  const results: FileDigest[] = new Array(paths.length);
  await hashInto(paths, options, (i, sha256, size, error) => {
    const path = options.baseDir ? `${options.baseDir}/${paths[i]}` : paths[i]!;
    results[i] = sha256 ? { path, sha256, size } : { path, error: error ?? "unknown error" };
  });
  return results;
}
