// gpuci-cuda-emu: runs one catalog kernel from native/kernels.cu under the host emulator
// (cuda_emu.h), launched exactly as the CUDA path launches it (launch.h). Test-only.
//
//   gpuci-cuda-emu KERNEL f32|f16 m n k b h s d causal eps < in.f32 > out.f32
//
// stdin: the inputs in catalog order, then the initial (NaN-poisoned) output, as little-endian
// float32; for f16 they are converted to binary16 buffers as the CUDA path does. stdout: the
// output as float32. Exit status 2 on bad usage, 3 on a deadlock.
#include <cstdio>
#include <string>
#include <vector>

#include "../launch.h"
#include "cuda_emu.h"

#define GPUCI_EMULATE 1
#include "../kernels.cu"

using gpuci::Shape;

namespace {

template <typename T>
struct Buf {
  std::vector<T> data;
};

std::vector<float> readFloats(size_t n) {
  std::vector<float> v(n);
  if (n && std::fread(v.data(), 4, n, stdin) != n) {
    std::fprintf(stderr, "gpuci-cuda-emu: stdin ended early (wanted %zu floats)\n", n);
    std::exit(2);
  }
  return v;
}

template <typename T>
std::vector<T> convert(const std::vector<float>& v) {
  std::vector<T> out(v.size());
  for (size_t i = 0; i < v.size(); i++) {
    if constexpr (sizeof(T) == 2) out[i] = gpuci::floatToHalf(v[i]);
    else out[i] = v[i];
  }
  return out;
}

template <typename T>
std::vector<float> widen(const std::vector<T>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); i++) {
    if constexpr (sizeof(T) == 2) out[i] = gpuci::halfToFloat(v[i]);
    else out[i] = v[i];
  }
  return out;
}

template <typename T>
int run(const std::string& kernel, const Shape& s, const gpuci::Launch& l) {
  std::vector<size_t> sizes;
  size_t outSize;
  if (kernel == "vector_add") sizes = {(size_t)s.m, (size_t)s.m}, outSize = s.m;
  else if (kernel == "matmul") sizes = {(size_t)(s.m * s.k), (size_t)(s.k * s.n)}, outSize = s.m * s.n;
  else if (kernel == "softmax") sizes = {(size_t)(s.m * s.n)}, outSize = s.m * s.n;
  else if (kernel == "layernorm") sizes = {(size_t)(s.m * s.n), (size_t)s.n, (size_t)s.n}, outSize = s.m * s.n;
  else {
    size_t n = s.b * s.h * s.s * s.d;
    sizes = {n, n, n};
    outSize = n;
  }
  std::vector<std::vector<T>> in;
  for (size_t n : sizes) in.push_back(convert<T>(readFloats(n)));
  std::vector<T> out = convert<T>(readFloats(outSize));
  const int M = (int)s.m, N = (int)s.n, K = (int)s.k, S = (int)s.s, D = (int)s.d, causal = s.causal ? 1 : 0;
  const long long total = s.m;
  const float eps = s.eps;
  const std::string& fn = l.fn;
  std::function<void()> k;
#define KERNEL(NAME, ...) \
  if (fn == #NAME) k = [&] { NAME(__VA_ARGS__); };
  if constexpr (sizeof(T) == 4) {
    KERNEL(vector_add_f32, in[0].data(), in[1].data(), out.data(), total)
    KERNEL(matmul_f32, in[0].data(), in[1].data(), out.data(), M, N, K)
    KERNEL(softmax_f32, in[0].data(), out.data(), M, N)
    KERNEL(layernorm_f32, in[0].data(), in[1].data(), in[2].data(), out.data(), M, N, eps)
    KERNEL(attention_f32_d32, in[0].data(), in[1].data(), in[2].data(), out.data(), S, D, causal)
    KERNEL(attention_f32_d64, in[0].data(), in[1].data(), in[2].data(), out.data(), S, D, causal)
    KERNEL(attention_f32_d128, in[0].data(), in[1].data(), in[2].data(), out.data(), S, D, causal)
  } else {
    KERNEL(vector_add_f16, in[0].data(), in[1].data(), out.data(), total)
    KERNEL(matmul_f16, in[0].data(), in[1].data(), out.data(), M, N, K)
    KERNEL(softmax_f16, in[0].data(), out.data(), M, N)
    KERNEL(layernorm_f16, in[0].data(), in[1].data(), in[2].data(), out.data(), M, N, eps)
    KERNEL(attention_f16_d32, in[0].data(), in[1].data(), in[2].data(), out.data(), S, D, causal)
    KERNEL(attention_f16_d64, in[0].data(), in[1].data(), in[2].data(), out.data(), S, D, causal)
    KERNEL(attention_f16_d128, in[0].data(), in[1].data(), in[2].data(), out.data(), S, D, causal)
  }
#undef KERNEL
  if (!k) {
    std::fprintf(stderr, "gpuci-cuda-emu: no kernel %s\n", fn.c_str());
    return 2;
  }
  gpuci_emu::launch(l.grid[0], l.grid[1], l.block, k);
  std::vector<float> result = widen(out);
  std::fwrite(result.data(), 4, result.size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 12) {
    std::fprintf(stderr, "usage: gpuci-cuda-emu KERNEL f32|f16 m n k b h s d causal eps < inputs > output\n");
    return 2;
  }
  std::string kernel = argv[1], dtype = argv[2];
  Shape s;
  s.m = std::atoll(argv[3]);
  s.n = std::atoll(argv[4]);
  s.k = std::atoll(argv[5]);
  s.b = std::atoll(argv[6]);
  s.h = std::atoll(argv[7]);
  s.s = std::atoll(argv[8]);
  s.d = std::atoll(argv[9]);
  s.causal = std::atoi(argv[10]) != 0;
  s.eps = (float)std::atof(argv[11]);
  gpuci::Launch l = gpuci::launchFor(kernel, dtype == "f16", s);
  if (!l.error.empty()) {
    std::fprintf(stderr, "gpuci-cuda-emu: %s\n", l.error.c_str());
    return 2;
  }
  return dtype == "f16" ? run<uint16_t>(kernel, s, l) : run<float>(kernel, s, l);
}
