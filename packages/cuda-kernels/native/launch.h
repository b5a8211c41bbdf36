// How each catalog kernel is launched: its function name in native/kernels.cu and its grid and
// block. Shared by the CUDA path (cuda.cc) and the host emulator the tests run the kernels in.
#pragma once
#include <string>

#include "kernels.h"

namespace gpuci {

struct Launch {
  std::string fn;  // extern "C" name in kernels.cu
  unsigned grid[2] = {1, 1};
  unsigned block = 256;
  std::string error;  // set when the kernel cannot run this shape
};

// The head-dim specialization serving d: each thread owns 32 dims, so d is padded to 32, 64 or 128.
inline int paddedHeadDim(int d) { return d <= 32 ? 32 : d <= 64 ? 64 : 128; }

inline Launch launchFor(const std::string& kernel, bool f16, const Shape& s) {
  Launch l;
  l.fn = kernel + (f16 ? "_f16" : "_f32");
  if (kernel == "vector_add") {
    l.grid[0] = (unsigned)((s.m + 255) / 256);
  } else if (kernel == "matmul") {
    int tile = f16 ? 128 : 64;
    l.grid[0] = (unsigned)((s.n + tile - 1) / tile);
    l.grid[1] = (unsigned)((s.m + tile - 1) / tile);
  } else if (kernel == "softmax" || kernel == "layernorm") {
    l.grid[0] = (unsigned)s.m;
  } else if (kernel == "attention") {
    if (s.d > 128) {
      l.error = "the CUDA attention kernel supports head dim <= 128";
      return l;
    }
    int dp = paddedHeadDim((int)s.d);
    l.fn += "_d" + std::to_string(dp);
    l.block = 64 * (dp / 32);
    l.grid[0] = (unsigned)((s.s + 63) / 64);
    l.grid[1] = (unsigned)(s.b * s.h);
  } else {
    l.error = "unknown kernel " + kernel;
  }
  return l;
}

}  // namespace gpuci
