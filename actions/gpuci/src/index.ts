// The action's entry point: nothing but the call, so tests and @github/local-action can
// import run() from main.ts.
import { run } from "./main.js";

void run();
