import { formatDuration, redactText, type Status } from "@gpuci/report";

/** Something gpuci reports while it works, so long runs show progress. */
export type ProgressEvent =
  | { type: "stage-start"; stage: string; title: string }
  | { type: "stage-end"; stage: string; title: string; status: Status; durationMs: number }
  | { type: "command-start"; name: string }
  | { type: "command-end"; name: string; status: Status; durationMs: number }
  | { type: "note"; message: string };

/** Receives progress events. */
export type ProgressSink = (event: ProgressEvent) => void;

/** A progress sink that writes one line per event to a stream (stderr by default). */
export function lineProgress(stream: NodeJS.WritableStream = process.stderr): ProgressSink {
  return (e) => {
    const line = (() => {
      switch (e.type) {
        case "stage-start":
          return `gpuci: ${e.title}…`;
        case "stage-end":
          return `gpuci: ${e.title}: ${e.status} (${formatDuration(e.durationMs)})`;
        case "command-start":
          return `gpuci: ▶ ${e.name}`;
        case "command-end":
          return `gpuci: ■ ${e.name}: ${e.status} (${formatDuration(e.durationMs)})`;
        case "note":
          return `gpuci: ${e.message}`;
      }
    })();
    stream.write(`${redactText(line)}\n`);
  };
}

/** A progress sink that drops everything. */
export const silentProgress: ProgressSink = () => {};
