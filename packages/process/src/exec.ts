import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { cancelled, registerGroup } from "./owned.js";

/** Options for {@link execBounded}. */
export interface ExecOptions {
  /** Stop the program after this long (default 10 s). */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when the timeout hits (default 1 s). */
  graceMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Text written to the program's stdin. */
  input?: string;
  /** Keep at most this many bytes of stdout and of stderr (default 8 MiB each). */
  maxOutputBytes?: number;
  /**
   * Start even after the run was cancelled (SIGINT/SIGTERM): only for the cleanups a cancel
   * runs, such as `git worktree remove`. Default false: a cancelled run starts nothing new.
   */
  evenWhenCancelled?: boolean;
}

/** What a bounded program did. */
export interface ExecResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** True when output beyond maxOutputBytes was dropped. */
  truncated: boolean;
  durationMs: number;
  /**
   * Set when the program could not be started (ENOENT: not found, or the working folder is
   * missing, as the message says; EACCES: not executable; ECANCELED: the run was cancelled).
   */
  error?: { code: string; message: string };
}

/**
 * Signal a process group that gpuci created (the group id is the leader's pid).
 * Never signals by name or pattern; a group that is gone already is not an error.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Run a program in its own process group with a timeout, capturing bounded output.
 * Never throws for the program's own failures: they are in the result.
 */
export function execBounded(
  file: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const timeoutMs = clampDelay(options.timeoutMs ?? 10_000);
  const graceMs = clampDelay(options.graceMs ?? 1000);
  const max = options.maxOutputBytes ?? 8 * 1024 * 1024;
  const started = performance.now();
  const refused = (code: string, message: string): ExecResult => ({
    exitCode: null,
    signal: null,
    stdout: "",
    stderr: "",
    timedOut: false,
    truncated: false,
    durationMs: performance.now() - started,
    error: { code, message },
  });
  const stop = cancelled();
  if (stop && !options.evenWhenCancelled)
    return Promise.resolve(refused("ECANCELED", `not started: gpuci was cancelled by ${stop.signal}`));
  return new Promise<ExecResult>((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let truncated = false;
    let timedOut = false;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        detached: true,
        stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      resolve(refused(e.code ?? "ESPAWN", e.message));
      return;
    }
    const unregister = child.pid === undefined ? () => {} : registerGroup(child.pid, file);
    const done = (exitCode: number | null, signal: NodeJS.Signals | null, error?: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      unregister();
      for (const t of timers) clearTimeout(t);
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        timedOut,
        truncated,
        durationMs: performance.now() - started,
        ...(error ? { error: { code: error.code ?? "ESPAWN", message: error.message } } : {}),
      });
    };
    child.stdout?.on("data", (b: Buffer) => {
      if (outBytes + b.length > max) truncated = true;
      else {
        out.push(b);
        outBytes += b.length;
      }
    });
    child.stderr?.on("data", (b: Buffer) => {
      if (errBytes + b.length > max) truncated = true;
      else {
        err.push(b);
        errBytes += b.length;
      }
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
    }
    child.on("error", (e: NodeJS.ErrnoException) => done(null, null, e));
    child.on("close", (code, signal) => done(code, signal));
    timers.push(
      setTimeout(() => {
        timedOut = true;
        if (child.pid !== undefined) {
          const pid = child.pid;
          signalGroup(pid, "SIGTERM");
          timers.push(
            setTimeout(() => {
              signalGroup(pid, "SIGKILL");
              // Grandchildren holding the pipes open must not keep us waiting.
              timers.push(
                setTimeout(() => {
                  child.stdout?.destroy();
                  child.stderr?.destroy();
                  done(null, "SIGKILL");
                }, 500),
              );
            }, graceMs),
          );
        }
      }, timeoutMs),
    );
  }).then(async (r) => {
    // ENOENT from spawn means the program or the working folder is missing: say which.
    if (r.error?.code === "ENOENT") r.error.message = await missingWhat(file, options.cwd);
    return r;
  });
}

/**
 * Why spawn said ENOENT, in words: the working folder does not exist (or is not a folder), or
 * the program was not found. Node reports both as "spawn /bin/sh ENOENT".
 */
export async function missingWhat(program: string, cwd: string | undefined): Promise<string> {
  if (cwd !== undefined) {
    const st = await stat(cwd).catch(() => undefined);
    if (!st) return `the working folder ${cwd} does not exist`;
    if (!st.isDirectory()) return `the working folder ${cwd} is not a folder`;
  }
  return `${program} was not found${program.includes("/") ? "" : " on PATH"}`;
}

/** Find a program on PATH the way a shell would; undefined when absent. */
export async function which(program: string, pathEnv = process.env.PATH ?? ""): Promise<string | undefined> {
  const { access, constants } = await import("node:fs/promises");
  const { join } = await import("node:path");
  if (program.includes("/")) {
    try {
      await access(program, constants.X_OK);
      return program;
    } catch {
      return undefined;
    }
  }
  for (const dir of pathEnv.split(":")) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** The longest delay Node's timers hold (2³¹ − 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A delay Node's setTimeout honours: negative or NaN becomes 0, anything past 2³¹ − 1 ms is held
 * at that (about 24.8 days) instead of firing after 1 ms with a TimeoutOverflowWarning.
 */
export function clampDelay(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.min(MAX_TIMER_MS, Math.max(0, ms));
}
