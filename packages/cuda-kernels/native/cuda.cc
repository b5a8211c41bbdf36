// The CUDA path: the driver API (libcuda.so.1) and NVRTC are loaded at run time with dlopen, and
// the kernels below are compiled by NVRTC for the device's own compute capability. Why not nvcc
// objects linked with cudart_static: the addon then builds on any machine (CI has no GPU and
// often no CUDA), one build serves every GPU architecture, and a missing or too-old driver is a
// reported reason instead of an addon that fails to load.
#include <dlfcn.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels.h"

namespace gpuci {
namespace {

// Minimal declarations of the driver and NVRTC APIs (no CUDA headers needed to build).
typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st* CUcontext;
typedef struct CUmod_st* CUmodule;
typedef struct CUfunc_st* CUfunction;
typedef struct CUevent_st* CUevent;
typedef unsigned long long CUdeviceptr;
typedef int nvrtcResult;
typedef struct _nvrtcProgram* nvrtcProgram;

struct Api {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int*);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDeviceGetCount)(int*);
  CUresult (*cuDeviceGetName)(char*, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuModuleLoadData)(CUmodule*, const void*);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuMemAlloc)(CUdeviceptr*, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void*, size_t);
  CUresult (*cuMemcpyDtoH)(void*, CUdeviceptr, size_t);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void*, void**, void**);
  CUresult (*cuEventCreate)(CUevent*, unsigned);
  CUresult (*cuEventRecord)(CUevent, void*);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float*, CUevent, CUevent);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuGetErrorName)(CUresult, const char**);
  nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram*, const char*, const char*, int, const char* const*, const char* const*);
  nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram, int, const char* const*);
  nvrtcResult (*nvrtcGetPTXSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetPTX)(nvrtcProgram, char*);
  nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram, char*);
  nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram*);
};

// Each kernel is written for correctness with the shapes gpuci checks (any size, bounds-checked).
const char* kSource = R"CUDA(
extern "C" __global__ void vector_add(const float* a, const float* b, float* c, long long n) {
  long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}
#define TILE 32
extern "C" __global__ void matmul(const float* A, const float* B, float* C, int M, int N, int K) {
  __shared__ float As[TILE][TILE + 1];
  __shared__ float Bs[TILE][TILE + 1];
  int row = blockIdx.y * TILE + threadIdx.y, col = blockIdx.x * TILE + threadIdx.x;
  float acc = 0.f;
  for (int t = 0; t < K; t += TILE) {
    As[threadIdx.y][threadIdx.x] = (row < M && t + threadIdx.x < K) ? A[(long long)row * K + t + threadIdx.x] : 0.f;
    Bs[threadIdx.y][threadIdx.x] = (col < N && t + threadIdx.y < K) ? B[(long long)(t + threadIdx.y) * N + col] : 0.f;
    __syncthreads();
    #pragma unroll
    for (int i = 0; i < TILE; i++) acc += As[threadIdx.y][i] * Bs[i][threadIdx.x];
    __syncthreads();
  }
  if (row < M && col < N) C[(long long)row * N + col] = acc;
}
extern "C" __global__ void softmax(const float* x, float* y, int rows, int cols) {
  __shared__ float red[256];
  int r = blockIdx.x;
  if (r >= rows) return;
  const float* in = x + (long long)r * cols; float* out = y + (long long)r * cols;
  float m = -INFINITY;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, in[j]);
  red[threadIdx.x] = m; __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) { if (threadIdx.x < s) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]); __syncthreads(); }
  m = red[0]; __syncthreads();
  float sum = 0.f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) sum += __expf(in[j] - m);
  red[threadIdx.x] = sum; __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) { if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s]; __syncthreads(); }
  float inv = 1.f / red[0];
  for (int j = threadIdx.x; j < cols; j += blockDim.x) out[j] = __expf(in[j] - m) * inv;
}
extern "C" __global__ void layernorm(const float* x, const float* w, const float* b, float* y, int rows, int cols, float eps) {
  __shared__ float red[256];
  int r = blockIdx.x;
  if (r >= rows) return;
  const float* in = x + (long long)r * cols; float* out = y + (long long)r * cols;
  float s = 0.f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) s += in[j];
  red[threadIdx.x] = s; __syncthreads();
  for (int k = blockDim.x / 2; k > 0; k >>= 1) { if (threadIdx.x < k) red[threadIdx.x] += red[threadIdx.x + k]; __syncthreads(); }
  float mean = red[0] / cols; __syncthreads();
  float v = 0.f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) { float d = in[j] - mean; v += d * d; }
  red[threadIdx.x] = v; __syncthreads();
  for (int k = blockDim.x / 2; k > 0; k >>= 1) { if (threadIdx.x < k) red[threadIdx.x] += red[threadIdx.x + k]; __syncthreads(); }
  float inv = rsqrtf(red[0] / cols + eps);
  for (int j = threadIdx.x; j < cols; j += blockDim.x) out[j] = (in[j] - mean) * inv * w[j] + b[j];
}
// Flash-style forward: one thread block per (batch*head, 64-query tile); K/V tiles staged in
// shared memory; an online softmax per query, so no S x S matrix exists. D <= 128.
#define BQ 64
#define BK 32
extern "C" __global__ void attention(const float* Q, const float* Kt, const float* V, float* O, int S, int D, int causal) {
  __shared__ float Ks[BK][128];
  __shared__ float Vs[BK][128];
  int bh = blockIdx.y, qi = blockIdx.x * BQ + threadIdx.x;
  const float* q = Q + ((long long)bh * S + qi) * D;
  float acc[128];
  for (int t = 0; t < D; t++) acc[t] = 0.f;
  float m = -INFINITY, l = 0.f, scale = rsqrtf((float)D);
  int kEnd = causal ? min(S, (int)(blockIdx.x + 1) * BQ) : S;
  for (int k0 = 0; k0 < kEnd; k0 += BK) {
    for (int idx = threadIdx.x; idx < BK * D; idx += blockDim.x) {
      int r = idx / D, c = idx % D, kr = k0 + r;
      Ks[r][c] = kr < S ? Kt[((long long)bh * S + kr) * D + c] : 0.f;
      Vs[r][c] = kr < S ? V[((long long)bh * S + kr) * D + c] : 0.f;
    }
    __syncthreads();
    if (qi < S) {
      for (int r = 0; r < BK; r++) {
        int kr = k0 + r;
        if (kr >= S || (causal && kr > qi)) break;
        float dot = 0.f;
        for (int t = 0; t < D; t++) dot += q[t] * Ks[r][t];
        dot *= scale;
        float mn = fmaxf(m, dot), corr = __expf(m - mn), p = __expf(dot - mn);
        l = l * corr + p;
        for (int t = 0; t < D; t++) acc[t] = acc[t] * corr + p * Vs[r][t];
        m = mn;
      }
    }
    __syncthreads();
  }
  if (qi < S) for (int t = 0; t < D; t++) O[((long long)bh * S + qi) * D + t] = acc[t] / l;
}
)CUDA";

Api api;
CudaStatus status;
CUcontext ctx = nullptr;
CUmodule module = nullptr;
std::once_flag once;

template <typename T>
bool sym(void* lib, const char* name, T* out) {
  *out = reinterpret_cast<T>(dlsym(lib, name));
  return *out != nullptr;
}

std::string errName(CUresult r) {
  const char* n = nullptr;
  if (api.cuGetErrorName && api.cuGetErrorName(r, &n) == 0 && n) return n;
  return "CUDA error " + std::to_string(r);
}

// Compile CUDA C++ with NVRTC for this device and load it; false with `error` on failure.
bool compileModule(const std::string& source, const char* name, bool fastMath, CUmodule* out, std::string* error) {
  nvrtcProgram prog;
  if (api.nvrtcCreateProgram(&prog, source.c_str(), name, 0, nullptr, nullptr) != 0) {
    *error = std::string("NVRTC could not create a program from ") + name;
    return false;
  }
  std::string arch = "--gpu-architecture=compute_" + std::to_string(status.ccMajor) + std::to_string(status.ccMinor);
  std::vector<const char*> opts = {arch.c_str(), "-default-device"};
  if (fastMath) opts.push_back("--use_fast_math");
  if (api.nvrtcCompileProgram(prog, (int)opts.size(), opts.data()) != 0) {
    size_t n = 0;
    api.nvrtcGetProgramLogSize(prog, &n);
    std::string log(n, '\0');
    api.nvrtcGetProgramLog(prog, log.data());
    *error = std::string("NVRTC could not compile ") + name + ": " + log.substr(0, 2000);
    api.nvrtcDestroyProgram(&prog);
    return false;
  }
  size_t size = 0;
  api.nvrtcGetPTXSize(prog, &size);
  std::string ptx(size, '\0');
  api.nvrtcGetPTX(prog, ptx.data());
  api.nvrtcDestroyProgram(&prog);
  CUresult r = api.cuModuleLoadData(out, ptx.data());
  if (r != 0) {
    *error = std::string("could not load ") + name + ": " + errName(r);
    return false;
  }
  return true;
}

void init() {
  void* cuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!cuda) {
    status.reason = std::string("libcuda.so.1 not found: no NVIDIA driver on this machine (") + dlerror() + ")";
    return;
  }
  bool ok = sym(cuda, "cuInit", &api.cuInit) && sym(cuda, "cuDriverGetVersion", &api.cuDriverGetVersion) &&
            sym(cuda, "cuDeviceGet", &api.cuDeviceGet) && sym(cuda, "cuDeviceGetCount", &api.cuDeviceGetCount) &&
            sym(cuda, "cuDeviceGetName", &api.cuDeviceGetName) && sym(cuda, "cuDeviceGetAttribute", &api.cuDeviceGetAttribute) &&
            sym(cuda, "cuDevicePrimaryCtxRetain", &api.cuDevicePrimaryCtxRetain) && sym(cuda, "cuCtxSetCurrent", &api.cuCtxSetCurrent) &&
            sym(cuda, "cuModuleLoadData", &api.cuModuleLoadData) && sym(cuda, "cuModuleGetFunction", &api.cuModuleGetFunction) &&
            sym(cuda, "cuMemAlloc_v2", &api.cuMemAlloc) && sym(cuda, "cuMemFree_v2", &api.cuMemFree) &&
            sym(cuda, "cuMemcpyHtoD_v2", &api.cuMemcpyHtoD) && sym(cuda, "cuMemcpyDtoH_v2", &api.cuMemcpyDtoH) &&
            sym(cuda, "cuLaunchKernel", &api.cuLaunchKernel) && sym(cuda, "cuEventCreate", &api.cuEventCreate) &&
            sym(cuda, "cuEventRecord", &api.cuEventRecord) && sym(cuda, "cuEventSynchronize", &api.cuEventSynchronize) &&
            sym(cuda, "cuEventElapsedTime", &api.cuEventElapsedTime) && sym(cuda, "cuEventDestroy_v2", &api.cuEventDestroy) &&
            sym(cuda, "cuCtxSynchronize", &api.cuCtxSynchronize) && sym(cuda, "cuGetErrorName", &api.cuGetErrorName);
  if (!ok) {
    status.reason = "libcuda.so.1 lacks driver API symbols gpuci needs: the driver is too old";
    return;
  }
  CUresult r = api.cuInit(0);
  if (r != 0) {
    // 35 = CUDA_ERROR_INSUFFICIENT_DRIVER, 100 = CUDA_ERROR_NO_DEVICE.
    status.reason = errName(r) + (r == 35 ? " (cudaErrorInsufficientDriver: the driver is older than this CUDA)" : "");
    return;
  }
  api.cuDriverGetVersion(&status.driverVersion);
  int count = 0;
  if (api.cuDeviceGetCount(&count) != 0 || count == 0) {
    status.reason = "the driver sees no CUDA device (CUDA_ERROR_NO_DEVICE)";
    return;
  }
  CUdevice dev;
  api.cuDeviceGet(&dev, 0);
  char name[256] = {0};
  api.cuDeviceGetName(name, sizeof name, dev);
  status.device = name;
  api.cuDeviceGetAttribute(&status.ccMajor, 75, dev);  // COMPUTE_CAPABILITY_MAJOR
  api.cuDeviceGetAttribute(&status.ccMinor, 76, dev);  // COMPUTE_CAPABILITY_MINOR
  const char* nvrtcNames[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"};
  void* nvrtc = nullptr;
  for (const char* n : nvrtcNames)
    if ((nvrtc = dlopen(n, RTLD_NOW | RTLD_LOCAL))) break;
  if (!nvrtc) {
    status.reason = "NVRTC (libnvrtc.so) not found: install the CUDA toolkit's nvrtc (or pip install nvidia-cuda-nvrtc) and add it to LD_LIBRARY_PATH";
    return;
  }
  ok = sym(nvrtc, "nvrtcCreateProgram", &api.nvrtcCreateProgram) && sym(nvrtc, "nvrtcCompileProgram", &api.nvrtcCompileProgram) &&
       sym(nvrtc, "nvrtcGetPTXSize", &api.nvrtcGetPTXSize) && sym(nvrtc, "nvrtcGetPTX", &api.nvrtcGetPTX) &&
       sym(nvrtc, "nvrtcGetProgramLogSize", &api.nvrtcGetProgramLogSize) && sym(nvrtc, "nvrtcGetProgramLog", &api.nvrtcGetProgramLog) &&
       sym(nvrtc, "nvrtcDestroyProgram", &api.nvrtcDestroyProgram);
  if (!ok) {
    status.reason = "libnvrtc lacks the symbols gpuci needs";
    return;
  }
  if ((r = api.cuDevicePrimaryCtxRetain(&ctx, dev)) != 0 || (r = api.cuCtxSetCurrent(ctx)) != 0) {
    status.reason = "could not create a CUDA context: " + errName(r);
    return;
  }
  std::string compileError;
  if (!compileModule(kSource, "gpuci_kernels.cu", true, &module, &compileError)) {
    status.reason = compileError;
    return;
  }
  status.available = true;
}

std::unordered_map<std::string, CUmodule> userModules;
std::mutex userMutex;

// Compile a user's source once per (source, device) and keep the module.
bool userModule(const std::string& source, CUmodule* out, std::string* error) {
  std::lock_guard<std::mutex> lock(userMutex);
  auto it = userModules.find(source);
  if (it != userModules.end()) {
    *out = it->second;
    return true;
  }
  CUmodule mod;
  if (!compileModule(source, "user_kernel.cu", false, &mod, error)) return false;
  userModules[source] = mod;
  *out = mod;
  return true;
}

}  // namespace

bool cudaRunSource(const std::string& source, const std::string& fnName, const unsigned grid[3], const unsigned block[3], const Shape& s,
                   const float* const* inputs, const size_t* inputSizes, int nInputs, float* output, size_t outputSize, double* msOut,
                   std::string* error) {
  if (!cudaStatus().available) {
    *error = status.reason;
    return false;
  }
  api.cuCtxSetCurrent(ctx);
  CUmodule mod;
  if (!userModule(source, &mod, error)) return false;
  CUfunction fn;
  if (api.cuModuleGetFunction(&fn, mod, fnName.c_str()) != 0) {
    *error = "the user source has no extern \"C\" __global__ function " + fnName;
    return false;
  }
  std::vector<CUdeviceptr> bufs(nInputs + 1, 0);
  auto cleanup = [&] {
    for (auto p : bufs)
      if (p) api.cuMemFree(p);
  };
  CUresult r = 0;
  for (int i = 0; i < nInputs && r == 0; i++) {
    r = api.cuMemAlloc(&bufs[i], inputSizes[i] * sizeof(float));
    if (r == 0) r = api.cuMemcpyHtoD(bufs[i], inputs[i], inputSizes[i] * sizeof(float));
  }
  if (r == 0) r = api.cuMemAlloc(&bufs[nInputs], outputSize * sizeof(float));
  if (r == 0) r = api.cuMemcpyHtoD(bufs[nInputs], output, outputSize * sizeof(float));
  if (r != 0) {
    *error = "device memory: " + errName(r);
    cleanup();
    return false;
  }
  int m = (int)s.m, n = (int)s.n, k = (int)s.k, b = (int)s.b, h = (int)s.h, S = (int)s.s, d = (int)s.d, causal = s.causal ? 1 : 0;
  float eps = s.eps;
  std::vector<void*> args;
  for (int i = 0; i <= nInputs; i++) args.push_back(&bufs[i]);
  for (void* p : {(void*)&m, (void*)&n, (void*)&k, (void*)&b, (void*)&h, (void*)&S, (void*)&d, (void*)&causal}) args.push_back(p);
  args.push_back(&eps);
  CUevent start, stop;
  api.cuEventCreate(&start, 0);
  api.cuEventCreate(&stop, 0);
  api.cuEventRecord(start, nullptr);
  r = api.cuLaunchKernel(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], 0, nullptr, args.data(), nullptr);
  api.cuEventRecord(stop, nullptr);
  float ms = 0;
  if (r == 0) r = api.cuEventSynchronize(stop);
  if (r == 0) api.cuEventElapsedTime(&ms, start, stop);
  api.cuEventDestroy(start);
  api.cuEventDestroy(stop);
  if (r != 0) {
    *error = "the user kernel failed: " + errName(r);
    cleanup();
    return false;
  }
  api.cuMemcpyDtoH(output, bufs[nInputs], outputSize * sizeof(float));
  cleanup();
  *msOut = ms;
  return true;
}

const CudaStatus& cudaStatus() {
  std::call_once(once, init);
  return status;
}

bool cudaRun(const std::string& kernel, const Shape& s, const float* const* inputs, const size_t* inputSizes, int nInputs,
             float* output, size_t outputSize, int repeats, double* msOut, std::string* error) {
  if (!cudaStatus().available) {
    *error = status.reason;
    return false;
  }
  api.cuCtxSetCurrent(ctx);
  CUfunction fn;
  CUresult r = api.cuModuleGetFunction(&fn, module, kernel.c_str());
  if (r != 0) {
    *error = "no CUDA kernel " + kernel;
    return false;
  }
  std::vector<CUdeviceptr> bufs(nInputs + 1, 0);
  auto cleanup = [&] {
    for (auto p : bufs)
      if (p) api.cuMemFree(p);
  };
  for (int i = 0; i < nInputs; i++) {
    if ((r = api.cuMemAlloc(&bufs[i], inputSizes[i] * sizeof(float))) != 0 ||
        (r = api.cuMemcpyHtoD(bufs[i], inputs[i], inputSizes[i] * sizeof(float))) != 0) {
      *error = "cuMemAlloc/cuMemcpyHtoD failed: " + errName(r);
      cleanup();
      return false;
    }
  }
  CUdeviceptr out = 0;
  if ((r = api.cuMemAlloc(&out, outputSize * sizeof(float))) != 0) {
    *error = "cuMemAlloc failed: " + errName(r);
    cleanup();
    return false;
  }
  bufs[nInputs] = out;
  // The output is poisoned with NaN on the host side; copy it so unwritten elements stay NaN.
  api.cuMemcpyHtoD(out, output, outputSize * sizeof(float));
  int m = (int)s.m, n = (int)s.n, k = (int)s.k, S = (int)s.s, D = (int)s.d, causal = s.causal ? 1 : 0;
  long long total = (long long)(s.m);
  float eps = s.eps;
  std::vector<void*> args;
  unsigned gx = 1, gy = 1, bx = 1, by = 1;
  if (kernel == "vector_add") {
    args = {&bufs[0], &bufs[1], &bufs[nInputs], &total};
    bx = 256;
    gx = (unsigned)((total + 255) / 256);
  } else if (kernel == "matmul") {
    args = {&bufs[0], &bufs[1], &bufs[nInputs], &m, &n, &k};
    bx = by = 32;
    gx = (n + 31) / 32;
    gy = (m + 31) / 32;
  } else if (kernel == "softmax") {
    args = {&bufs[0], &bufs[nInputs], &m, &n};
    bx = 256;
    gx = m;
  } else if (kernel == "layernorm") {
    args = {&bufs[0], &bufs[1], &bufs[2], &bufs[nInputs], &m, &n, &eps};
    bx = 256;
    gx = m;
  } else if (kernel == "attention") {
    if (D > 128) {
      *error = "the CUDA attention kernel supports head dim <= 128";
      cleanup();
      return false;
    }
    args = {&bufs[0], &bufs[1], &bufs[2], &bufs[nInputs], &S, &D, &causal};
    bx = 64;
    gx = (S + 63) / 64;
    gy = (unsigned)(s.b * s.h);
  } else {
    *error = "unknown kernel " + kernel;
    cleanup();
    return false;
  }
  CUevent start, stop;
  api.cuEventCreate(&start, 0);
  api.cuEventCreate(&stop, 0);
  float ms = 0;
  for (int rep = 0; rep < std::max(1, repeats); rep++) {
    api.cuEventRecord(start, nullptr);
    r = api.cuLaunchKernel(fn, gx, gy, 1, bx, by, 1, 0, nullptr, args.data(), nullptr);
    api.cuEventRecord(stop, nullptr);
    if (r != 0) break;
    api.cuEventSynchronize(stop);
    api.cuEventElapsedTime(&ms, start, stop);
  }
  if (r == 0) r = api.cuCtxSynchronize();
  api.cuEventDestroy(start);
  api.cuEventDestroy(stop);
  if (r != 0) {
    *error = "kernel launch failed: " + errName(r);
    cleanup();
    return false;
  }
  api.cuMemcpyDtoH(output, out, outputSize * sizeof(float));
  cleanup();
  *msOut = ms;
  return true;
}

}  // namespace gpuci
