/**
 * Escaping for text that comes from outside gpuci (command output, file names, metric names)
 * before it is put into GitHub-flavoured markdown. Every character that markdown or HTML
 * could act on becomes a numeric entity, `@` is followed by a zero-width space so no person
 * or team is mentioned, and control characters (ANSI colour codes included) are removed.
 */

const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-_]/g;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const ACTIVE = /[&<>"'`*_[\]~|#\\]/g;
const ZWSP = "&#8203;";

/** Remove ANSI escape sequences and control characters, keeping newlines and tabs. */
export function stripControl(text: string): string {
  return text.replace(ANSI, "").replace(/\r\n?/g, "\n").replace(CONTROL, "");
}

function entity(ch: string): string {
  return `&#${ch.codePointAt(0)};`;
}

/** Escape text for inline markdown: no HTML, no markdown syntax, no mentions, one line. */
export function escapeInline(text: string): string {
  return stripControl(text)
    .replace(ACTIVE, entity)
    .replace(/@/g, `@${ZWSP}`)
    .replace(/\s*\n\s*/g, " ");
}

/** Escape text for a markdown table cell: like inline, with newlines as `<br>`. */
export function escapeCell(text: string): string {
  return stripControl(text).replace(ACTIVE, entity).replace(/@/g, `@${ZWSP}`).replace(/\n/g, "<br>");
}

/**
 * Escape text for a `<pre>` block: HTML-escaped (GitHub does not parse markdown inside an
 * HTML block), mentions broken, control characters removed.
 */
export function escapePre(text: string): string {
  return stripControl(text)
    .replace(/[&<>`]/g, entity)
    .replace(/@/g, `@${ZWSP}`);
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
