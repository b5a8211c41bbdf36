// gpuci's native kernels: CPU implementations (always available) and a CUDA path whose driver
// and NVRTC are loaded at run time with dlopen, so the addon builds and loads on machines
// without CUDA and reports why CUDA is unavailable instead of failing to load.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace gpuci {

struct Shape {
  int64_t m = 0, n = 0, k = 0;           // matmul: C[m,n] = A[m,k] B[k,n]; softmax/layernorm: rows=m, cols=n
  int64_t b = 0, h = 0, s = 0, d = 0;    // attention
  bool causal = false;
  float eps = 1e-5f;
};

// CPU kernels (multi-threaded). Return false and fill `error` on bad arguments.
int cpuThreads();
void cpuVectorAdd(const float* a, const float* b, float* c, int64_t n);
void cpuMatmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k);
void cpuSoftmax(const float* x, float* y, int64_t rows, int64_t cols);
void cpuLayernorm(const float* x, const float* w, const float* bias, float* y, int64_t rows, int64_t cols, float eps);
void cpuAttention(const float* q, const float* k, const float* v, float* o, const Shape& s);

// NVRTC, loaded at run time on its own: CUDA sources compile without a driver or a GPU.
struct NvrtcStatus {
  bool available = false;
  std::string reason;   // why not: where gpuci looked, and how to install it
  std::string library;  // the path or soname that loaded
  int major = 0, minor = 0;
};
const NvrtcStatus& nvrtcStatus();
// Compile CUDA C++ to PTX for `arch` (e.g. "compute_90"); false with `error` (NVRTC's log) on failure.
bool nvrtcCompile(const std::string& source, const char* name, const std::string& arch, bool fastMath, std::string* ptx,
                  std::string* log, std::string* error);
// The catalog kernels' CUDA source (native/kernels.cu) as built into the addon.
const char* catalogSource();
// binary16 bits of f, rounded to nearest even: how the CUDA path fills f16 buffers on the host.
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);

// CUDA (driver API loaded at run time; kernels compiled by NVRTC for the device).
struct CudaStatus {
  bool available = false;
  std::string reason;   // why not, e.g. "libcuda.so.1 not found (no NVIDIA driver)", "cudaErrorInsufficientDriver"
  std::string device;
  int driverVersion = 0;
  int ccMajor = 0, ccMinor = 0;
  int smCount = 0, clockKHz = 0;
};
const CudaStatus& cudaStatus();
// Runs one catalog kernel (`f16`: binary16 buffers, converted on the host) on the GPU: copies the
// inputs, launches `repeats` times (each after writing a 256 MiB buffer when `flushL2`), and
// times the last launch with CUDA events. Returns false with `error` on failure.
bool cudaRun(const std::string& kernel, bool f16, const Shape& s, const float* const* inputs, const size_t* inputSizes, int nInputs,
             float* output, size_t outputSize, int repeats, bool flushL2, double* msOut, std::string* error);

// Runs a user's CUDA C++ kernel `fn` from `source` (compiled by NVRTC for this device, cached by
// source) with the arguments (inputs..., output, m, n, k, b, h, s, d, causal, eps).
bool cudaRunSource(const std::string& source, const std::string& fn, const unsigned grid[3], const unsigned block[3], const Shape& s,
                   const float* const* inputs, const size_t* inputSizes, int nInputs, float* output, size_t outputSize, double* msOut,
                   std::string* error);

}  // namespace gpuci
