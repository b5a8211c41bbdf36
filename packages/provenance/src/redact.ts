// The one redaction gpuci applies to everything it writes lives in @gpuci/report; provenance
// uses the same (and keeps exporting it for its users).
export { redactDeep, redactText, SECRET_NAME, stripUrlCredentials } from "@gpuci/report";
