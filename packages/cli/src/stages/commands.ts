import { spawn } from "node:child_process";
import { resolve } from "node:path";
import type { Writable } from "node:stream";
import { createSection, type Finding, formatDuration, type Section } from "@gpuci/report";
import type { RunCommand } from "../config/run-schema.js";
import type { ProgressSink } from "../progress.js";

/** Keeps the last `max` characters of a stream of text, in bounded memory. */
export class OutputTail {
  private chunks: string[] = [];
  private size = 0;
  total = 0;

  constructor(private readonly max = 16_384) {}

  push(text: string): void {
    this.total += text.length;
    this.chunks.push(text);
    this.size += text.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  /** The kept text, cut at a line start when possible. */
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

/** What happened to one command. */
export interface CommandResult {
  name: string;
  argv: string[];
  cwd: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  timedOut: boolean;
  spawnError?: string;
  tail: string;
}

/** Where a command's live output goes. */
export interface OutputSinks {
  stdout?: Writable;
  stderr?: Writable;
}

const GRACE_MS = 10_000;

/**
 * Run one command in its own process group, streaming its output live and keeping a tail.
 * On timeout the whole group (the command and anything it started) gets SIGTERM, then
 * SIGKILL after a grace period; nothing outside that group is ever signalled.
 */
export function runCommand(
  command: RunCommand,
  baseDir: string,
  sinks: OutputSinks = {},
): Promise<CommandResult> {
  const cwd = resolve(baseDir, command.workingDirectory ?? ".");
  const argv = typeof command.command === "string" ? ["/bin/sh", "-c", command.command] : command.command;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(command.env ?? {})) env[k] = String(v);
  const tail = new OutputTail();
  const started = Date.now();
  const startedAt = new Date(started).toISOString();

  return new Promise((resolvePromise) => {
    let timedOut = false;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });

    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: string) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      const finished = Date.now();
      resolvePromise({
        name: command.name,
        argv,
        cwd,
        exitCode,
        signal,
        startedAt,
        finishedAt: new Date(finished).toISOString(),
        durationMs: finished - started,
        timedOut,
        ...(spawnError === undefined ? {} : { spawnError }),
        tail: tail.toString(),
      });
    };

    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      tail.push(chunk);
      sinks.stdout?.write(chunk);
    });
    child.stderr.on("data", (chunk: string) => {
      tail.push(chunk);
      sinks.stderr?.write(chunk);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      finish(null, null, error.code === "ENOENT" ? `${argv[0]} was not found` : error.message);
    });
    // Finish once the process has exited and its pipes have drained; never wait long on a
    // grandchild that keeps the pipes open after the command itself exited.
    let closed = 0;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const maybeFinish = () => {
      if (exited && closed === 2) finish(exited.code, exited.signal);
    };
    child.stdout.once("close", () => {
      closed += 1;
      maybeFinish();
    });
    child.stderr.once("close", () => {
      closed += 1;
      maybeFinish();
    });
    child.on("exit", (code, signal) => {
      exited = { code, signal };
      maybeFinish();
      if (settled) return;
      timers.push(
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          finish(code, signal);
        }, 2000),
      );
    });

    if (command.timeoutMinutes !== undefined && child.pid !== undefined) {
      const pid = child.pid;
      timers.push(
        setTimeout(() => {
          timedOut = true;
          signalGroup(pid, "SIGTERM");
          timers.push(setTimeout(() => signalGroup(pid, "SIGKILL"), GRACE_MS));
        }, command.timeoutMinutes * 60_000),
      );
    }
  });
}

/** Signal the process group gpuci created for a command (never anything else). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Turn a command's result into its finding. */
export function commandFinding(result: CommandResult, command: RunCommand): Finding {
  const base = {
    id: `run.${command.name}`,
    title: command.name,
    durationMs: result.durationMs,
    details: result.tail || undefined,
    data: {
      argv: result.argv,
      cwd: result.cwd,
      exitCode: result.exitCode,
      signal: result.signal,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
      timedOut: result.timedOut,
    },
  };
  if (result.spawnError) {
    return {
      ...base,
      status: "fail",
      summary: `could not start: ${result.spawnError}`,
      remedy: `Check that the program exists on PATH and that workingDirectory "${command.workingDirectory ?? "."}" exists.`,
    };
  }
  if (result.timedOut) {
    return {
      ...base,
      status: "fail",
      summary: `stopped after its timeout of ${command.timeoutMinutes} min (${formatDuration(result.durationMs)})`,
      remedy: `Speed the command up or raise run[].timeoutMinutes for "${command.name}".`,
    };
  }
  if (result.exitCode === 0) {
    return { ...base, status: "pass", summary: "exited 0" };
  }
  return {
    ...base,
    status: "fail",
    summary:
      result.signal !== null
        ? `killed by ${result.signal} after ${formatDuration(result.durationMs)}`
        : `exited with code ${result.exitCode} after ${formatDuration(result.durationMs)}`,
    remedy: `Read the output tail, fix "${command.name}", and re-run it alone with: ${typeof command.command === "string" ? command.command : command.command.join(" ")}`,
  };
}

/**
 * Run the `run:` commands in order. A failed command skips the ones after it unless it sets
 * `continueOnError`.
 */
export async function runCommandsStage(
  commands: RunCommand[],
  baseDir: string,
  progress: ProgressSink,
  sinks: OutputSinks = {},
): Promise<{ section: Section; results: CommandResult[] }> {
  const started = Date.now();
  const findings: Finding[] = [];
  const results: CommandResult[] = [];
  let blockedBy: string | undefined;
  for (const command of commands) {
    if (blockedBy) {
      findings.push({
        id: `run.${command.name}`,
        title: command.name,
        status: "skip",
        summary: `not run: "${blockedBy}" failed before it`,
      });
      continue;
    }
    progress({ type: "command-start", name: command.name });
    const result = await runCommand(command, baseDir, sinks);
    results.push(result);
    const finding = commandFinding(result, command);
    findings.push(finding);
    progress({
      type: "command-end",
      name: command.name,
      status: finding.status,
      durationMs: result.durationMs,
    });
    if (finding.status === "fail" && !command.continueOnError) blockedBy = command.name;
  }
  return { section: createSection("run", "Commands", findings, Date.now() - started), results };
}
