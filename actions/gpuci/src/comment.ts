import { commentMarker, readCommentMeta } from "@gpuci/report";
import type { Octokit } from "octokit";

/** Identifies one run for the stale guard. */
export interface RunStamp {
  runId: number;
  attempt: number;
  sha?: string;
}

/** What happened to the sticky comment. */
export type CommentOutcome =
  | { action: "created" | "updated"; url: string; id: number }
  | { action: "unchanged"; url: string; id: number }
  | { action: "stale"; url: string; id: number; newer: RunStamp }
  | { action: "forbidden"; message: string };

/** The login whose comments the workflow's own token (GITHUB_TOKEN) writes. */
export const ACTIONS_BOT = "github-actions[bot]";

/**
 * Whose comments are gpuci's: the `comment-author` input when given, else the token's own
 * identity — `GET /user` for a personal or user token; a workflow's GITHUB_TOKEN (an app
 * installation token, which `GET /user` refuses) writes as github-actions[bot].
 */
export async function commentAuthor(octokit: Octokit, configured?: string): Promise<string> {
  if (configured) return configured;
  try {
    const r = await octokit.rest.users.getAuthenticated();
    if (typeof r.data.login === "string" && r.data.login) return r.data.login;
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status !== 401 && status !== 403 && status !== 404) throw error;
  }
  return ACTIONS_BOT;
}

/** An existing gpuci comment found in a thread. */
export interface FoundComment {
  id: number;
  url: string;
  body: string;
  stamp?: RunStamp;
}

function stampOf(body: string): RunStamp | undefined {
  const meta = readCommentMeta(body);
  if (!meta || meta.runId === undefined) return undefined;
  return {
    runId: Number(meta.runId),
    attempt: Number(meta.attempt ?? 1),
    ...(meta.sha ? { sha: String(meta.sha) } : {}),
  };
}

/** True when `a` is a later run (or a later attempt of the same run) than `b`. */
export function isNewer(a: RunStamp, b: RunStamp): boolean {
  return a.runId > b.runId || (a.runId === b.runId && a.attempt > b.attempt);
}

/** Strip the meta line so that "on-change" compares what people read, not run ids. */
export function visibleBody(body: string): string {
  return body.replace(/^<!-- gpuci:meta .*? -->\n?/m, "");
}

/** Whether an error is GitHub refusing the token (forks: "Resource not accessible by integration"). */
export function isForbidden(error: unknown): boolean {
  const e = error as { status?: number; message?: string };
  return e?.status === 403 && !/rate limit/i.test(e.message ?? "");
}

/**
 * Find gpuci's comment with this id in an issue/pull request thread, paging through every
 * comment (long threads have hundreds). Only a comment written by `author` (the token's
 * identity) is a candidate: anyone can write a comment that starts with gpuci's marker, and
 * such a comment is never read (its meta, its cost) nor written to.
 */
export async function findComment(
  octokit: Octokit,
  target: { owner: string; repo: string; issue_number: number },
  id: string,
  author: string,
): Promise<FoundComment | undefined> {
  const marker = commentMarker(id);
  const me = author.toLowerCase();
  for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, {
    ...target,
    per_page: 100,
  })) {
    for (const c of page.data) {
      if (c.user?.login?.toLowerCase() !== me) continue;
      if (c.body?.startsWith(marker) || c.body?.split("\n", 1)[0] === marker) {
        const stamp = stampOf(c.body);
        return { id: c.id, url: c.html_url, body: c.body, ...(stamp ? { stamp } : {}) };
      }
    }
  }
  return undefined;
}

/**
 * Create or update the one gpuci comment with this id. An older run never overwrites a newer
 * run's comment; with `onlyWhenChanged` an identical body is left alone. A 403 (a fork's
 * read-only token) is returned as `forbidden`, never thrown.
 */
export async function upsertComment(
  octokit: Octokit,
  target: { owner: string; repo: string; issue_number: number },
  options: {
    id: string;
    body: string;
    stamp: RunStamp;
    onlyWhenChanged?: boolean;
    existing?: FoundComment | null;
    createIfMissing?: boolean;
    /** Whose comments are gpuci's (see {@link commentAuthor}); needed when `existing` is not given. */
    author?: string;
  },
): Promise<CommentOutcome | undefined> {
  try {
    const existing =
      options.existing === undefined
        ? await findComment(octokit, target, options.id, options.author ?? (await commentAuthor(octokit)))
        : (options.existing ?? undefined);
    if (existing) {
      if (existing.stamp && isNewer(existing.stamp, options.stamp))
        return { action: "stale", url: existing.url, id: existing.id, newer: existing.stamp };
      if (options.onlyWhenChanged && visibleBody(existing.body) === visibleBody(options.body))
        return { action: "unchanged", url: existing.url, id: existing.id };
      const r = await octokit.rest.issues.updateComment({
        owner: target.owner,
        repo: target.repo,
        comment_id: existing.id,
        body: options.body,
      });
      return { action: "updated", url: r.data.html_url, id: r.data.id };
    }
    if (options.createIfMissing === false) return undefined;
    const r = await octokit.rest.issues.createComment({ ...target, body: options.body });
    return { action: "created", url: r.data.html_url, id: r.data.id };
  } catch (error) {
    if (isForbidden(error)) return { action: "forbidden", message: (error as Error).message };
    throw error;
  }
}
