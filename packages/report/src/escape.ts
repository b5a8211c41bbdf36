/**
 * The one escaping for text that comes from outside gpuci (command output, file names, metric
 * names and units, titles, summaries and remedies in a report a pull request may have written)
 * before it is put into GitHub-flavoured markdown. Untrusted text stays text:
 * - every character markdown, math or HTML could act on becomes a numeric entity;
 * - what GitHub turns into links or pings after rendering is broken by a zero-width space
 *   (U+200B) placed where an entity would decode back: mentions (`@user`, `@org/team`), issue
 *   references (`#123`, `owner/repo#7`, `GH-45`), bare URLs (`https://…`, `www.…`, `mailto:`),
 *   e-mail addresses and emoji shortcodes (`:rocket:`);
 * - control characters (ANSI colour codes included) are removed.
 * Mermaid strings have their own escaping ({@link escapeMermaid}).
 */

const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-_]/g;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const ACTIVE = /[&<>"'`*_[\]~|#\\$]/g;
/** U+200B ZERO WIDTH SPACE: invisible, and no link or mention spans it. */
const ZW = "\u200b";
/**
 * Where GitHub's post-processing would find a link, a reference, a mention or an emoji, and
 * the place to break it: after `@`, after `#` before a digit, inside `GH-`, before the `:` of
 * a URL scheme, after `www`, and after the first `:` of a shortcode.
 */
const LIVE =
  /@|#(?=\d)|GH(?=-\d)|www(?=\.)|(?:mailto|xmpp|tel|sms|data|javascript)(?=:)|[a-z][a-z0-9+.-]*(?=:\/\/)|:(?=[a-z0-9_+-]+:)/gi;

/** Break what GitHub would make live (links, references, mentions, emoji) with a zero-width space. */
function neutralize(text: string): string {
  return text.replace(LIVE, (m) => `${m}${ZW}`);
}

/**
 * Where escaped text goes: a line of text (also inside `<code>`, `<summary>`, `<sub>`), a table
 * cell, or a `<pre>` block. Never a markdown code span: code spans show entities literally.
 */
export type MarkdownPlace = "inline" | "cell" | "pre";

/**
 * Escape untrusted text for one place in GitHub-flavoured markdown. `inline`: one line, no
 * markdown, no HTML; `cell`: the same, newlines as `<br>`; `pre`: HTML-escaped for a `<pre>`
 * block (GitHub renders no markdown inside HTML blocks).
 */
export function escapeMarkdown(text: string, place: MarkdownPlace): string {
  const clean = stripControl(text);
  switch (place) {
    case "pre":
      return neutralize(clean).replace(/[&<>`$]/g, entity);
    case "cell":
      return neutralize(clean).replace(ACTIVE, entity).replace(/\n/g, "<br>");
    default:
      return neutralize(clean)
        .replace(ACTIVE, entity)
        .replace(/\s*\n\s*/g, " ");
  }
}

/** Remove ANSI escape sequences and control characters, keeping newlines and tabs. */
export function stripControl(text: string): string {
  return text.replace(ANSI, "").replace(/\r\n?/g, "\n").replace(CONTROL, "");
}

function entity(ch: string): string {
  return `&#${ch.codePointAt(0)};`;
}

/** Escape text for inline markdown: no HTML, no markdown syntax, no mentions or links, one line. */
export function escapeInline(text: string): string {
  return escapeMarkdown(text, "inline");
}

/** Escape text for a markdown table cell: like inline, with newlines as `<br>`. */
export function escapeCell(text: string): string {
  return escapeMarkdown(text, "cell");
}

/**
 * Escape text for a `<pre>` block: HTML-escaped (GitHub does not parse markdown inside an
 * HTML block), mentions and links broken, control characters removed.
 */
export function escapePre(text: string): string {
  return escapeMarkdown(text, "pre");
}

/**
 * Text safe inside a Mermaid double-quoted string, and never a directive: quotes, backticks and
 * backslashes become `'`; `%`, braces, angle brackets, `#` and `;` become their full-width
 * look-alikes (so `%%{init: …}%%` cannot form, whole or cut, and no entity or tag can); line
 * breaks become spaces; at most `max` characters.
 */
export function escapeMermaid(text: string, max = 80): string {
  const map: Record<string, string> = {
    "%": "\uff05",
    "{": "\uff5b",
    "}": "\uff5d",
    "<": "\u2039",
    ">": "\u203a",
    "#": "\uff03",
    ";": "\uff1b",
    "&": "\uff06",
  };
  const out = stripControl(text)
    .replace(/["`\\]/g, "'")
    .replace(/[%{}<>#;&]/g, (c) => map[c]!)
    .replace(/\s*\n\s*/g, " ");
  return headText(out, max);
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** Cut text to at most `max` characters, keeping the end (where errors usually are); never half a character. */
export function tailText(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = `… (${text.length - max} characters cut)\n`;
  let from = text.length - Math.max(0, max - marker.length);
  if (from < text.length && isLow(text.charCodeAt(from))) from++;
  return marker + text.slice(from);
}

/** Cut text to at most `max` characters, keeping the start; never half a character. */
export function headText(text: string, max: number): string {
  if (text.length <= max) return text;
  let to = Math.max(0, max - 1);
  if (to > 0 && isHigh(text.charCodeAt(to - 1))) to--;
  return `${text.slice(0, to)}…`;
}

/**
 * Cut markdown to at most `max` characters at a line boundary (a table row, a list item), never
 * inside a character or an entity, and close any `<details>` the cut left open.
 */
export function cutAtLine(markdown: string, max: number, note: string): string {
  const closing = "\n</details>";
  let end = markdown.lastIndexOf("\n", Math.max(0, max - note.length - 2 - closing.length * 8));
  if (end < 0) end = 0;
  let text = markdown.slice(0, end);
  const open = (text.match(/<details>/g) ?? []).length - (text.match(/<\/details>/g) ?? []).length;
  for (let i = 0; i < Math.min(open, 8); i++) text += closing;
  return `${text}\n\n${note}`;
}
