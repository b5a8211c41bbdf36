// The host's binary16 conversions live in @gpuci/report (shared with its .npy reader).
export { fromHalfBits, packHalf, roundToF16, toHalfBits } from "@gpuci/report";
