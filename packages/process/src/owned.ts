/**
 * One owner of what gpuci started. Every process group gpuci starts (execBounded, the
 * watchdog) is registered here while it runs, and every temporary thing it creates (the A/B
 * worktree and its folder) registers a cleanup. On SIGINT, SIGTERM or SIGHUP one handler
 * (installed by the CLI and the action) stops every registered group — SIGTERM, a grace
 * period, then SIGKILL for what is left — and runs the cleanups; nothing gpuci did not start is
 * ever signalled. Stages need no signal handling of their own: once cancelled, no new process
 * is started, and the running ones see their commands end.
 */

/** A signal gpuci treats as "cancel the run". */
export type CancelSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** The signals the handler listens to, and the exit code each maps to (128 + its number). */
export const SIGNAL_EXIT_CODES: Record<CancelSignal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/** What the cancel did. */
export interface CancelOutcome {
  signal: CancelSignal;
  /** ISO time the signal arrived. */
  at: string;
  /** Process groups that were running and got SIGTERM. */
  groups: number;
  /** Of those, groups still alive after the grace period, which got SIGKILL. */
  killed: number;
  /** The cleanups that ran (worktrees, temporary folders), each with its outcome. */
  cleanups: Array<{ label: string; ok: boolean; error?: string }>;
}

interface Cleanup {
  label: string;
  run: () => Promise<void>;
}

interface OwnedState {
  groups: Map<number, string>;
  cleanups: Map<number, Cleanup>;
  nextCleanup: number;
  cancel?: { signal: CancelSignal; at: string };
  outcome?: Promise<CancelOutcome>;
  listeners: Set<(signal: CancelSignal) => void>;
  escalated: boolean;
}

// Kept on globalThis so two copies of this module (a bundle next to a package) share one owner.
const KEY = Symbol.for("gpuci.process.owned");
const holder = globalThis as unknown as Record<symbol, OwnedState | undefined>;
if (!holder[KEY])
  holder[KEY] = {
    groups: new Map(),
    cleanups: new Map(),
    nextCleanup: 1,
    listeners: new Set(),
    escalated: false,
  };
const state: OwnedState = holder[KEY];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signalGroupQuietly(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Record a process group gpuci started (its leader's pid). Returns the function that forgets
 * it once gpuci has seen the group end.
 */
export function registerGroup(pgid: number, label: string): () => void {
  state.groups.set(pgid, label);
  return () => {
    if (state.groups.get(pgid) === label) state.groups.delete(pgid);
  };
}

/**
 * Record something to undo when the run is cancelled (remove a worktree, a temporary folder).
 * `run` must be safe to call twice (the stage may run it too); the returned function forgets it.
 */
export function registerCleanup(label: string, run: () => Promise<void>): () => void {
  const id = state.nextCleanup++;
  state.cleanups.set(id, { label, run });
  return () => {
    state.cleanups.delete(id);
  };
}

/** The process groups gpuci started that have not been seen to end. */
export function ownedGroups(): Array<{ pgid: number; label: string }> {
  return [...state.groups].map(([pgid, label]) => ({ pgid, label }));
}

/** Set once a cancel signal arrived: which, and when. */
export function cancelled(): { signal: CancelSignal; at: string } | undefined {
  return state.cancel;
}

/** The cancel in progress or done (groups stopped, cleanups run); undefined when not cancelled. */
export function cancellation(): Promise<CancelOutcome> | undefined {
  return state.outcome;
}

/** Call `listener` when the run is cancelled (at once if it already is). Returns an unsubscribe. */
export function onCancel(listener: (signal: CancelSignal) => void): () => void {
  if (state.cancel) {
    listener(state.cancel.signal);
    return () => {};
  }
  state.listeners.add(listener);
  return () => {
    state.listeners.delete(listener);
  };
}

/**
 * Cancel the run: from now on no process is started; every registered process group gets
 * SIGTERM, and SIGKILL when it is still alive after `graceMs`; then the cleanups run (newest
 * first). Calling it again returns the same outcome.
 */
export function cancelOwned(
  signal: CancelSignal,
  options: { graceMs?: number } = {},
): Promise<CancelOutcome> {
  if (state.outcome) return state.outcome;
  const at = new Date().toISOString();
  state.cancel = { signal, at };
  for (const listener of [...state.listeners]) {
    try {
      listener(signal);
    } catch {}
  }
  state.listeners.clear();
  state.outcome = (async () => {
    const graceMs = options.graceMs ?? 5000;
    const targets = ownedGroups().map((g) => g.pgid);
    const signalled = targets.filter((pgid) => signalGroupQuietly(pgid, "SIGTERM"));
    const until = performance.now() + graceMs;
    while (!state.escalated && signalled.some(groupExists) && performance.now() < until) await sleep(50);
    const survivors = signalled.filter(groupExists);
    for (const pgid of survivors) signalGroupQuietly(pgid, "SIGKILL");
    // Groups started and registered while we waited (there should be none) are killed too.
    for (const pgid of ownedGroups().map((g) => g.pgid))
      if (!signalled.includes(pgid)) signalGroupQuietly(pgid, "SIGKILL");
    const deadline = performance.now() + 2000;
    while (survivors.some(groupExists) && performance.now() < deadline) await sleep(20);
    const cleanups: CancelOutcome["cleanups"] = [];
    for (const [id, c] of [...state.cleanups].reverse()) {
      try {
        await c.run();
        cleanups.push({ label: c.label, ok: true });
      } catch (error) {
        cleanups.push({ label: c.label, ok: false, error: (error as Error).message });
      }
      state.cleanups.delete(id);
    }
    return { signal, at, groups: signalled.length, killed: survivors.length, cleanups };
  })();
  return state.outcome;
}

/** A second signal: SIGKILL every registered group now instead of waiting out the grace. */
export function escalateCancel(): void {
  state.escalated = true;
  for (const { pgid } of ownedGroups()) signalGroupQuietly(pgid, "SIGKILL");
}

/** Options for {@link installCancelHandler}. */
export interface CancelHandlerOptions {
  /** Between SIGTERM and SIGKILL for the groups gpuci started (default 5 s). */
  graceMs?: number;
  /**
   * How long after the groups are stopped and the cleanups ran the program may take to write
   * its report before it is made to exit (default 10 s).
   */
  finishMs?: number;
  /** Told once per signal (e.g. to print "gpuci: cancelled by SIGTERM, stopping …"). */
  onSignal?: (signal: CancelSignal, count: number) => void;
}

/**
 * Install the one handler for SIGINT, SIGTERM and SIGHUP. The first signal cancels the run
 * ({@link cancelOwned}); the program goes on to write what finished and should then exit with
 * {@link SIGNAL_EXIT_CODES} (it is made to, `finishMs` after the cleanups). A second signal
 * kills the groups at once; a third exits at once. Returns the function that uninstalls it.
 */
export function installCancelHandler(options: CancelHandlerOptions = {}): () => void {
  let count = 0;
  const handlers = (Object.keys(SIGNAL_EXIT_CODES) as CancelSignal[]).map((signal) => {
    const handler = () => {
      count++;
      options.onSignal?.(signal, count);
      const code = SIGNAL_EXIT_CODES[state.cancel?.signal ?? signal];
      if (count === 1) {
        void cancelOwned(signal, { graceMs: options.graceMs ?? 5000 }).then(() => {
          setTimeout(() => process.exit(code), options.finishMs ?? 10_000).unref();
        });
      } else if (count === 2) {
        escalateCancel();
      } else {
        for (const { pgid } of ownedGroups()) signalGroupQuietly(pgid, "SIGKILL");
        process.exit(code);
      }
    };
    process.on(signal, handler);
    return { signal, handler };
  });
  return () => {
    for (const { signal, handler } of handlers) process.off(signal, handler);
  };
}

/** The exit code for a cancelled run (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP). */
export function cancelExitCode(): number | undefined {
  return state.cancel ? SIGNAL_EXIT_CODES[state.cancel.signal] : undefined;
}
