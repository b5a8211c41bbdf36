import { readdirSync, readFileSync } from "node:fs";

/**
 * The live (not zombie) processes of a process group, read from /proc. Undefined where /proc
 * cannot be read (not Linux), so callers fall back to `kill(-pgid, 0)`.
 */
export function liveGroupMembers(pgid: number): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  const members: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = rest[0];
    const pgrp = Number(rest[2]);
    if (pgrp === pgid && state !== "Z" && state !== "X") members.push(Number(name));
  }
  return members;
}

/**
 * True while any live process of the group is running. Zombies do not count: an orphan that
 * has exited but whose reaper is slow (some container inits) holds nothing and needs no signal.
 */
export function groupAlive(pgid: number): boolean {
  const members = liveGroupMembers(pgid);
  if (members) return members.length > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The environment variable gpuci sets on every command it watches, inherited by all it starts. */
export const WATCH_MARKER_VAR = "GPUCI_WATCH_ID";

/** A process that carries a watch marker: started (at any depth) by a command gpuci ran. */
export interface MarkedProcess {
  pid: number;
  /** Its command line, as /proc shows it (arguments joined by spaces, at most 300 characters). */
  command: string;
}

function hasMarker(pid: number, needle: Buffer): boolean {
  try {
    const env = readFileSync(`/proc/${pid}/environ`);
    // Variables are NUL-separated; match a whole entry, not a prefix of a longer value.
    let at = env.indexOf(needle);
    while (at >= 0) {
      if (
        (at === 0 || env[at - 1] === 0) &&
        (at + needle.length === env.length || env[at + needle.length] === 0)
      )
        return true;
      at = env.indexOf(needle, at + 1);
    }
  } catch {}
  return false;
}

/**
 * Live processes whose environment carries `GPUCI_WATCH_ID=<marker>`: what a command started,
 * found by inheritance (lineage), never by name, even after it left the process group with
 * setsid or a double fork. Only the current user's processes can be read, which is all a
 * command can start. Empty where /proc cannot be read.
 */
export function findMarkedProcesses(marker: string): MarkedProcess[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const needle = Buffer.from(`${WATCH_MARKER_VAR}=${marker}`);
  const found: MarkedProcess[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid || !hasMarker(pid, needle)) continue;
    let state = "";
    let command = "";
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "";
      command = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    } catch {
      continue;
    }
    if (state === "Z" || state === "X") continue;
    found.push({ pid, command: command.length > 300 ? `${command.slice(0, 299)}…` : command });
  }
  return found;
}

/**
 * Signal processes found by {@link findMarkedProcesses}, each by pid and only while it still
 * carries the marker (a pid reused by an unrelated process is never signalled).
 */
export function signalMarked(pids: readonly number[], marker: string, signal: NodeJS.Signals): number[] {
  const needle = Buffer.from(`${WATCH_MARKER_VAR}=${marker}`);
  const signalled: number[] = [];
  for (const pid of pids) {
    if (!hasMarker(pid, needle)) continue;
    try {
      process.kill(pid, signal);
      signalled.push(pid);
    } catch {}
  }
  return signalled;
}
