#!/usr/bin/env node
// The committed entry point npm links as `gpuci` at install time (npm links a bin only if
// its file exists then, and dist/ is built afterwards). It loads the built command.
import { existsSync } from "node:fs";

const built = new URL("../dist/bin.js", import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(
    "gpuci: the command is not built yet (packages/cli/dist/bin.js is missing). Run `npm run build` in the repository root, then try again.\n",
  );
  process.exitCode = 2;
} else {
  await import(built.href);
}
