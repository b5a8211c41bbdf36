import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { execBounded } from "@gpuci/process";

/** A problem with the repository or the base ref: a finding with a remedy, never a crash. */
export class AbSetupError extends Error {
  constructor(
    message: string,
    readonly remedy: string,
  ) {
    super(message);
    this.name = "AbSetupError";
  }
}

async function git(cwd: string, args: string[], timeoutMs = 60_000) {
  const r = await execBounded("git", args, { cwd, timeoutMs });
  if (r.error)
    throw new AbSetupError(`git could not be started: ${r.error.message}`, "Install git on the runner.");
  return r;
}

/** The repository that holds `dir`, and `dir`'s path inside it. */
export async function repositoryOf(dir: string): Promise<{ root: string; subdir: string; head: string }> {
  const top = await git(dir, ["rev-parse", "--show-toplevel"]);
  if (top.exitCode !== 0)
    throw new AbSetupError(
      `${dir} is not inside a git repository, so there is no base to compare with`,
      "Run gpuci ab inside the repository checkout (actions/checkout with fetch-depth: 0).",
    );
  const root = top.stdout.trim();
  const head = await git(dir, ["rev-parse", "--verify", "HEAD"]);
  if (head.exitCode !== 0)
    throw new AbSetupError("the repository has no commit yet", "Commit the base version first.");
  return { root, subdir: relative(await realpath(root), await realpath(dir)), head: head.stdout.trim() };
}

/** How the base commit was found, for the report. */
export interface ResolvedBase {
  commit: string;
  /** "merge-base of HEAD and main", or the ref given. */
  how: string;
}

/**
 * The base commit: `merge-base` is the merge base of HEAD with the base branch (tried as a
 * local branch, then as `<remote>/<branch>`), anything else is resolved as a git ref.
 */
export async function resolveBase(
  root: string,
  base: string,
  baseBranch: string,
  remote = "origin",
): Promise<ResolvedBase> {
  if (base === "merge-base") {
    for (const ref of [baseBranch, `${remote}/${baseBranch}`]) {
      const r = await git(root, ["merge-base", "HEAD", ref]);
      if (r.exitCode === 0) return { commit: r.stdout.trim(), how: `merge-base of HEAD and ${ref}` };
    }
    throw new AbSetupError(
      `no merge base of HEAD with ${baseBranch} or ${remote}/${baseBranch}`,
      `Fetch the base branch (actions/checkout with fetch-depth: 0, or git fetch ${remote} ${baseBranch}), set history.baseBranch, or set ab.base to a ref.`,
    );
  }
  const r = await git(root, ["rev-parse", "--verify", "--end-of-options", `${base}^{commit}`]);
  if (r.exitCode !== 0)
    throw new AbSetupError(
      `ab.base "${base}" is not a commit in this repository`,
      `Fetch it (git fetch ${remote} ${base}) or name an existing branch, tag or commit.`,
    );
  return { commit: r.stdout.trim(), how: base };
}

/** A checkout of the base commit in a folder of its own, outside the user's tree. */
export interface BaseWorktree {
  dir: string;
  remove(): Promise<void>;
}

/**
 * Check out `commit` in a new git worktree under the system temp folder (detached, so no
 * branch is created or moved). `remove()` deletes the worktree and its administrative files;
 * the user's working tree and index are never touched.
 */
export async function addWorktree(root: string, commit: string): Promise<BaseWorktree> {
  const parent = await mkdtemp(join(tmpdir(), "gpuci-ab-"));
  const dir = join(parent, "base");
  const r = await git(root, ["worktree", "add", "--detach", "--quiet", dir, commit], 300_000);
  if (r.exitCode !== 0) {
    await rm(parent, { recursive: true, force: true });
    throw new AbSetupError(
      `git worktree add failed: ${r.stderr.trim().split("\n").pop()}`,
      "Check that the repository is writable and not a shallow clone missing the base commit.",
    );
  }
  return {
    dir,
    async remove() {
      await git(root, ["worktree", "remove", "--force", dir]);
      await rm(parent, { recursive: true, force: true });
      await git(root, ["worktree", "prune"]);
    },
  };
}
