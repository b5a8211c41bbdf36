// Stands in for two implementations of one computation: a float64 reference and a candidate
// that rounds its intermediates to bfloat16 (as a fused GPU kernel might). Writes
// out/reference.npy, out/candidate.npy (float32, C order, shape (64, 128)) and out/candidate.json.
import { mkdirSync, writeFileSync } from "node:fs";

const rows = 64;
const cols = 128;
const toBf16 = (x) => {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = (u[0] + 0x7fff + ((u[0] >> 16) & 1)) & 0xffff0000; // round to nearest even
  return f[0];
};
const ref = new Float32Array(rows * cols);
const cand = new Float32Array(rows * cols);
for (let i = 0; i < rows; i++)
  for (let j = 0; j < cols; j++) {
    const x = Math.sin(i * 0.37 + j * 0.11) * Math.exp(-j / 200) + 0.5;
    ref[i * cols + j] = x;
    cand[i * cols + j] = toBf16(toBf16(x) * toBf16(1.0009765625)) / 1.0009765625;
  }

function npy(data, shape) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = `${header}${" ".repeat(pad % 64)}\n`;
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.from(data.buffer)]);
}
mkdirSync(new URL("./out/", import.meta.url), { recursive: true });
writeFileSync(new URL("./out/reference.npy", import.meta.url), npy(ref, [rows, cols]));
writeFileSync(new URL("./out/candidate.npy", import.meta.url), npy(cand, [rows, cols]));
const nested = Array.from({ length: rows }, (_, i) => Array.from(cand.subarray(i * cols, (i + 1) * cols)));
writeFileSync(new URL("./out/candidate.json", import.meta.url), JSON.stringify({ output: nested }));
console.log(`wrote ${rows}×${cols} outputs of both implementations`);
