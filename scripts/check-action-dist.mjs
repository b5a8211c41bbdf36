// CI check: the committed actions/gpuci/dist matches a fresh build (run after `npm run build`).
// GitHub runs dist/index.js straight from the repository, so a stale bundle would ship old code.
import { execFileSync } from "node:child_process";

const status = execFileSync("git", ["status", "--porcelain", "--", "actions/gpuci/dist"], {
  encoding: "utf8",
});
if (status.trim()) {
  console.error(
    `actions/gpuci/dist differs from a fresh build:\n${status}Run \`npm run build\` and commit actions/gpuci/dist.`,
  );
  process.exit(1);
}
console.log("actions/gpuci/dist matches a fresh build.");
