declare const __GPUCI_VERSION__: string | undefined;

/** gpuci's version, inlined at build time (so `gpuci --version` reads no file). */
export const VERSION: string = typeof __GPUCI_VERSION__ === "string" ? __GPUCI_VERSION__ : "0.0.0-dev";
