// gpuci-cuda-emu-user: runs a user's CUDA kernel (gpuci's contract: inputs..., output, int m, n,
// k, b, h, s, d, causal, float eps) under the CPU emulator, for `gpuci kernels` on machines
// without a GPU. Built by src/emulate.ts with
//   -DGPUCI_USER_SOURCE='"/path/kernel.cu"' -DGPUCI_USER_FN=name -DGPUCI_USER_INPUTS=N
// and run as
//   gpuci-cuda-emu-user gx gy gz bx by bz m n k b h s d causal eps SIZE... OUTSIZE < in > out
// (stdin: the inputs, then the initial NaN-poisoned output, as float32; stdout: the output).
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cuda_emu.h"

#include GPUCI_USER_SOURCE

int main(int argc, char** argv) {
  const int fixed = 15, nIn = GPUCI_USER_INPUTS;
  if (argc != 1 + fixed + nIn + 1) {
    std::fprintf(stderr, "usage: gpuci-cuda-emu-user gx gy gz bx by bz m n k b h s d causal eps SIZE... OUTSIZE\n");
    return 2;
  }
  auto u = [&](int i) { return (unsigned)std::strtoul(argv[i], nullptr, 10); };
  auto n = [&](int i) { return (int)std::strtol(argv[i], nullptr, 10); };
  GpuciDim3 grid{u(1), u(2), u(3)}, block{u(4), u(5), u(6)};
  int m = n(7), nn = n(8), k = n(9), b = n(10), h = n(11), s = n(12), d = n(13), causal = n(14);
  float eps = (float)std::atof(argv[15]);
  std::vector<std::vector<float>> in(nIn);
  for (int i = 0; i <= nIn; i++) {
    size_t count = std::strtoull(argv[16 + i], nullptr, 10);
    std::vector<float> v(count);
    if (count && std::fread(v.data(), 4, count, stdin) != count) {
      std::fprintf(stderr, "gpuci-cuda-emu-user: stdin ended early\n");
      return 2;
    }
    if (i < nIn) in[i] = std::move(v);
    else in.push_back(std::move(v));
  }
  std::vector<float>& out = in[nIn];
#if GPUCI_USER_INPUTS == 1
  gpuci_emu::launch3(grid, block, [&] { GPUCI_USER_FN(in[0].data(), out.data(), m, nn, k, b, h, s, d, causal, eps); });
#elif GPUCI_USER_INPUTS == 2
  gpuci_emu::launch3(grid, block, [&] { GPUCI_USER_FN(in[0].data(), in[1].data(), out.data(), m, nn, k, b, h, s, d, causal, eps); });
#else
  gpuci_emu::launch3(grid, block,
                     [&] { GPUCI_USER_FN(in[0].data(), in[1].data(), in[2].data(), out.data(), m, nn, k, b, h, s, d, causal, eps); });
#endif
  std::fwrite(out.data(), 4, out.size(), stdout);
  return 0;
}
