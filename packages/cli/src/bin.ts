#!/usr/bin/env node
// The gpuci command. This file stays tiny: each verb's code is loaded only when that verb
// runs, so `gpuci --version` costs little more than starting node.
import { VERSION } from "./version.js";

type VerbModule = { main(argv: string[]): Promise<number> };

const VERBS: Record<string, () => Promise<VerbModule>> = {
  run: () => import("./commands/run.js"),
  preflight: () => import("./commands/preflight.js"),
  cost: () => import("./commands/cost.js"),
  provenance: () => import("./commands/provenance.js"),
  gates: () => import("./commands/gates.js"),
  ab: () => import("./commands/ab.js"),
  history: () => import("./commands/history.js"),
  dashboard: () => import("./commands/dashboard.js"),
  kernels: () => import("./commands/kernels.js"),
  render: () => import("./commands/render.js"),
  aggregate: () => import("./commands/aggregate.js"),
  init: () => import("./commands/init.js"),
  help: () => import("./commands/help.js"),
};

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === "--version" || verb === "-v" || verb === "version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (verb === undefined || verb === "--help" || verb === "-h") return (await VERBS.help!()).main([]);
  const load = VERBS[verb];
  if (!load) {
    const { UsageError } = await import("./errors.js");
    const { didYouMean } = await import("./config/load.js");
    const guess = didYouMean(verb, Object.keys(VERBS));
    throw new UsageError(
      `unknown command "${verb}".${guess ? ` Did you mean "gpuci ${guess}"?` : ""} Run "gpuci help" for the list.`,
    );
  }
  if (rest.includes("--help") || rest.includes("-h")) return (await VERBS.help!()).main([verb]);
  // One owner of what gpuci started: on SIGINT/SIGTERM/SIGHUP the process groups it started are
  // stopped (SIGTERM, 5 s, SIGKILL), its worktrees removed, and the verb writes what finished.
  const { installCancelHandler } = await import("@gpuci/process");
  installCancelHandler({
    onSignal: (signal, count) =>
      process.stderr.write(
        count === 1
          ? `gpuci: received ${signal}: stopping the commands gpuci started (SIGTERM, SIGKILL after 5 s), removing its worktrees, writing what finished\n`
          : count === 2
            ? `gpuci: received ${signal} again: killing the commands gpuci started now\n`
            : `gpuci: received ${signal} a third time: exiting now\n`,
      ),
  });
  return (await load()).main(rest);
}

// A reader that goes away (`gpuci run | head`, a closed log pipe) ends what gpuci prints, not
// the run: the report is still written and the exit code is still the verdict's.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});

main(process.argv.slice(2)).then(
  async (code) => {
    // A cancelled run exits 128 + the signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP)
    // once its report is written, whatever timers or workers are still about.
    const { cancelExitCode } = await import("@gpuci/process");
    const cancelled = cancelExitCode();
    if (cancelled !== undefined) process.exit(cancelled);
    process.exitCode = code;
  },
  async (error: unknown) => {
    const { cancelExitCode } = await import("@gpuci/process");
    const cancelled = cancelExitCode();
    if (cancelled !== undefined) {
      process.stderr.write(`gpuci: cancelled: ${(error as Error)?.message ?? String(error)}\n`);
      process.exit(cancelled);
    }
    const e = error as { code?: unknown; exitCode?: unknown; message?: string; stack?: string };
    const { redactText } = await import("@gpuci/report");
    if (typeof e?.code === "string" && e.code.startsWith("GPUCI_") && typeof e.exitCode === "number") {
      process.stderr.write(`gpuci: ${redactText(e.message ?? "")}\n  (${e.code})\n`);
      process.exitCode = e.exitCode;
    } else {
      process.stderr.write(
        `gpuci: internal error: ${redactText(e?.stack ?? String(error))}\nThis is a bug in gpuci; please report it with the command you ran.\n`,
      );
      process.exitCode = 1;
    }
  },
);
