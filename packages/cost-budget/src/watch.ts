import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import {
  cancelled,
  clampDelay,
  findMarkedProcesses,
  groupAlive,
  type MarkedProcess,
  missingWhat,
  onCancel,
  registerGroup,
  signalGroup,
  signalMarked,
  WATCH_MARKER_VAR,
} from "@gpuci/process";
import { createRedactor, isAddMaskLine, noteMasks, type Redactor } from "@gpuci/report";

/** Keeps the last `max` characters of a stream of text, in bounded memory. */
export class OutputTail {
  private chunks: string[] = [];
  private size = 0;

  constructor(private readonly max = 16_384) {}

  push(text: string): void {
    this.chunks.push(text);
    this.size += text.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.max) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  /** The kept text, starting at a line start when one is near. */
  toString(): string {
    let text = this.chunks.join("");
    if (text.length > this.max) {
      text = text.slice(text.length - this.max);
      const nl = text.indexOf("\n");
      if (nl >= 0 && nl < 200) text = text.slice(nl + 1);
    }
    return text;
  }
}

/**
 * The longest any watched command may run when nothing else limits it: 360 minutes, GitHub's
 * own limit for a job on a self-hosted runner. Every wait gpuci makes has a bound.
 */
export const DEFAULT_COMMAND_LIMIT_MS = 360 * 60_000;

/** Why the watchdog stopped a command. */
export interface StopReason {
  /**
   * Which limit: `timeout`, `budget.run`, `budget.pullRequest`, `budget.month`,
   * `budget.runMinutes`, …, or `cancelled` (gpuci received SIGINT/SIGTERM/SIGHUP).
   */
  limit: string;
  /** Human words: "the run budget of $1.00 at $2.99/GPU-h × 1 GPU allows 20 min 04 s". */
  description: string;
}

/** Options for {@link watchCommand}. */
export interface WatchOptions {
  /** A shell command line (run with /bin/sh -c) or an argv list (no shell). */
  command: string | readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Stop the command after this long (default {@link DEFAULT_COMMAND_LIMIT_MS}, 360 min). */
  limitMs?: number;
  /** Why `limitMs` is what it is; becomes `stopped` when it hits. */
  limitReason?: StopReason;
  /** Between SIGTERM and SIGKILL (default 30 s). */
  graceMs?: number;
  /** Where the command's live output goes. */
  stdout?: Writable;
  stderr?: Writable;
  /** Characters of output kept for the report (default 16 KiB). */
  tailChars?: number;
  /** Called when the watchdog starts stopping the command. */
  onStop?: (reason: StopReason) => void;
  /**
   * Processes the command started that left its process group (setsid, a double-forked daemon):
   * `warn` reports them, `stop` also stops them (by pid, SIGTERM then SIGKILL). Default warn.
   */
  escaped?: "warn" | "stop";
}

/** What happened to a watched command. */
export interface WatchResult {
  argv: string[];
  cwd: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Set when the watchdog stopped the command. */
  stopped?: StopReason & { killed: boolean };
  /** Processes of the command's group still alive after it exited, which gpuci then stopped. */
  leftovers: boolean;
  /** Processes it started that left its group and were still running after it exited. */
  escaped: Array<MarkedProcess & { stopped: boolean }>;
  spawnError?: string;
  tail: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until the group is gone or `ms` passes; true when gone. */
async function waitGroupGone(pid: number, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (!groupAlive(pid)) return true;
    await sleep(Math.min(50, Math.max(1, until - performance.now())));
  }
  return !groupAlive(pid);
}

/** A partial line longer than this is let through (all but its last {@link HOLD_BACK} characters). */
const MAX_HELD = 65_536;
/** What stays held when a long partial line is let through: room for any secret to be whole. */
const HOLD_BACK = 4096;

/**
 * Copy a command's output to a live sink, redacted and with backpressure. Redaction works on
 * whole lines: a partial line is held until its end arrives, however long that takes, so a
 * secret written in two pieces is redacted as one; only a partial line over 64 KiB is let
 * through, keeping its last 4 KiB (and at least the longest secret) held. A line
 * `::add-mask::VALUE` is the runner's to consume: it passes through as written (VALUE becomes
 * a secret for everything gpuci writes, and is redacted in files). When the sink is slow (a
 * pipe to a slow reader) the command's pipe is paused, so the command waits instead of gpuci
 * buffering its output in memory. A sink that fails (EPIPE, ENOBUFS) stops being written; the
 * tail is kept.
 */
function forward(
  from: Readable,
  to: Writable | undefined,
  tail: OutputTail,
  flowed: { bytes: number },
  redactor: Redactor,
): void {
  let live = to !== undefined;
  let held = "";
  to?.once("error", () => {
    live = false;
    from.resume();
  });
  const write = (text: string) => {
    if (!live || !to || text === "") return;
    try {
      if (!to.write(text)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    } catch {
      live = false;
    }
  };
  /** Whole lines (or a final piece): masks noted first, mask commands passed through, the rest redacted. */
  const emit = (text: string) => {
    if (text === "") return;
    if (!text.includes("::add-mask::")) return write(redactor.text(text));
    let block = "";
    for (const line of text.split(/(?<=\n|\r(?!\n))/)) {
      if (isAddMaskLine(line)) {
        write(redactor.text(block));
        block = "";
        // A value the command masks for GitHub Actions logs is a secret for everything gpuci writes.
        noteMasks(line);
        write(line);
      } else block += line;
    }
    write(redactor.text(block));
  };
  from.on("data", (chunk: string) => {
    flowed.bytes += chunk.length;
    tail.push(chunk);
    const text = held + chunk;
    const cut = Math.max(text.lastIndexOf("\n"), text.lastIndexOf("\r")) + 1;
    held = text.slice(cut);
    emit(text.slice(0, cut));
    if (held.length > MAX_HELD) {
      // Let through all but the last `keep` characters, redacted with the whole line in view, at
      // a cut no redaction crosses; a line that is one 64 KiB secret goes through redacted whole.
      const shown = redactor.text(held);
      let rest = "";
      for (let keep = Math.max(HOLD_BACK, redactor.longestSecret); keep < held.length; keep *= 2) {
        const keptShown = redactor.text(held.slice(held.length - keep));
        if (shown.endsWith(keptShown)) {
          rest = held.slice(held.length - keep);
          write(shown.slice(0, shown.length - keptShown.length));
          break;
        }
      }
      if (!rest) write(shown);
      held = rest;
    }
  });
  const flush = () => {
    const text = held;
    held = "";
    emit(text);
  };
  from.once("end", flush);
  from.once("close", flush);
}

/**
 * Processes the command started that are still running outside its group, found by the marker
 * each inherited. With `stop` they get SIGTERM, then SIGKILL after the grace (by pid, and only
 * while they still carry the marker).
 */
async function handleEscaped(
  marker: string,
  mode: "warn" | "stop",
  graceMs: number,
): Promise<WatchResult["escaped"]> {
  const found = findMarkedProcesses(marker);
  if (found.length === 0 || mode === "warn") return found.map((p) => ({ ...p, stopped: false }));
  const pids = found.map((p) => p.pid);
  signalMarked(pids, marker, "SIGTERM");
  const until = performance.now() + graceMs;
  const alive = () => new Set(findMarkedProcesses(marker).map((p) => p.pid));
  while (alive().size > 0 && performance.now() < until) await sleep(50);
  if (alive().size > 0) {
    signalMarked([...alive()], marker, "SIGKILL");
    await sleep(100);
  }
  const left = alive();
  return found.map((p) => ({ ...p, stopped: !left.has(p.pid) }));
}

/**
 * Run a command in its own process group under a watchdog. When `limitMs` passes, the group
 * gets SIGTERM, then SIGKILL after `graceMs`. Processes the command leaves behind in its group
 * are stopped the same way once it exits, so nothing it started outlives the watch. Only that
 * group is ever signalled: never a process by name or pattern.
 */
export function watchCommand(options: WatchOptions): Promise<WatchResult> {
  const argv =
    typeof options.command === "string" ? ["/bin/sh", "-c", options.command] : [...options.command];
  const cwd = options.cwd ?? process.cwd();
  const graceMs = options.graceMs ?? 30_000;
  const tail = new OutputTail(options.tailChars);
  // Every process the command starts inherits this marker, so what escapes the group is found.
  const marker = `${process.pid}.${randomBytes(8).toString("hex")}`;
  const started = Date.now();
  const startedAt = new Date(started).toISOString();

  const stop = cancelled();
  if (stop) {
    // A cancelled run starts nothing new.
    return Promise.resolve({
      argv,
      cwd,
      exitCode: null,
      signal: null,
      startedAt,
      finishedAt: startedAt,
      durationMs: 0,
      stopped: {
        limit: "cancelled",
        description: `not started: gpuci was cancelled by ${stop.signal}`,
        killed: false,
      },
      leftovers: false,
      escaped: [],
      tail: "",
    });
  }

  return new Promise((resolve) => {
    let stopped: WatchResult["stopped"];
    let leftovers = false;
    let escaped: WatchResult["escaped"] = [];
    let settled = false;
    let stopping: Promise<boolean> | undefined;
    const timers: NodeJS.Timeout[] = [];
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: { ...(options.env ?? process.env), [WATCH_MARKER_VAR]: marker },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pid = child.pid;
    // One owner: a cancel (SIGINT/SIGTERM) stops this group with every other gpuci started.
    const unregister = pid === undefined ? () => {} : registerGroup(pid, argv.join(" ").slice(0, 200));
    const unsubscribe = onCancel((signal) => {
      if (settled || stopped) return;
      stopped = {
        limit: "cancelled",
        description: `gpuci was cancelled by ${signal}`,
        killed: false,
      };
    });

    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: string) => {
      if (settled) return;
      settled = true;
      unregister();
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      const finished = Date.now();
      resolve({
        argv,
        cwd,
        exitCode,
        signal,
        startedAt,
        finishedAt: new Date(finished).toISOString(),
        durationMs: finished - started,
        ...(stopped ? { stopped } : {}),
        leftovers,
        escaped,
        ...(spawnError === undefined ? {} : { spawnError }),
        tail: tail.toString(),
      });
    };

    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    const flowed = { bytes: 0 };
    // One redactor for the command: its environment's secrets and their encodings, precomputed.
    const redactor = createRedactor(options.env ?? process.env);
    forward(child.stdout, options.stdout, tail, flowed, redactor);
    forward(child.stderr, options.stderr, tail, flowed, redactor);
    let spawnFailed = false;
    child.on("error", (error: NodeJS.ErrnoException) => {
      spawnFailed = true;
      // "spawn /bin/sh ENOENT" also means a missing working folder: say which it is.
      if (error.code === "ENOENT") void missingWhat(argv[0]!, cwd).then((what) => finish(null, null, what));
      else finish(null, null, error.message);
    });

    const stopGroup = async (): Promise<boolean> => {
      if (pid === undefined) return false;
      signalGroup(pid, "SIGTERM");
      if (await waitGroupGone(pid, graceMs)) return false;
      signalGroup(pid, "SIGKILL");
      await waitGroupGone(pid, 2000);
      return true;
    };

    child.on("exit", async (code, signal) => {
      if (spawnFailed) return;
      // Anything the command left running in its group is ours to stop.
      if (stopping && stopped) {
        stopped.killed = await stopping;
      } else if (stopped?.limit === "cancelled") {
        // The cancel handler stops the group (TERM, grace, KILL): killed when something in the
        // group outlived the SIGTERM.
        const survivors = pid !== undefined && groupAlive(pid);
        stopped.killed = signal === "SIGKILL" || survivors;
        if (survivors) await stopGroup();
      } else if (pid !== undefined && groupAlive(pid)) {
        leftovers = true;
        await stopGroup();
      }
      // Let the pipes drain, briefly: a process outside the group could still hold them.
      const drained = Promise.all([
        new Promise((r) => (child.stdout.closed ? r(null) : child.stdout.once("close", r))),
        new Promise((r) => (child.stderr.closed ? r(null) : child.stderr.once("close", r))),
      ]);
      // Wait while output still flows (a slow sink holds the pipe back); stop waiting after a
      // quiet second.
      let gone = false;
      void drained.then(() => {
        gone = true;
      });
      let seen = -1;
      while (!gone && seen !== flowed.bytes) {
        seen = flowed.bytes;
        await Promise.race([drained, sleep(1000)]);
      }
      child.stdout.destroy();
      child.stderr.destroy();
      escaped = await handleEscaped(marker, options.escaped ?? "warn", graceMs);
      finish(code, signal);
    });

    if (pid !== undefined) {
      const limitMs = options.limitMs ?? DEFAULT_COMMAND_LIMIT_MS;
      timers.push(
        setTimeout(() => {
          if (settled || stopped) return;
          const reason =
            options.limitReason ??
            (options.limitMs === undefined
              ? {
                  limit: "timeout",
                  description: `no time limit was set, and gpuci stops any command after ${DEFAULT_COMMAND_LIMIT_MS / 60_000} min`,
                }
              : { limit: "timeout", description: "the time limit passed" });
          stopped = { ...reason, killed: false };
          options.onStop?.(reason);
          stopping = stopGroup();
        }, clampDelay(limitMs)),
      );
    }
  });
}
