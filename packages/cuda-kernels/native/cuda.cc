// The CUDA path: the driver API (libcuda.so.1) and NVRTC are loaded at run time with dlopen, and
// the catalog kernels (native/kernels.cu) are compiled by NVRTC for the device's own compute
// capability. Why not nvcc objects linked with cudart_static: the addon then builds on any machine
// (CI has no GPU and often no CUDA), one build serves every GPU architecture, and a missing or
// too-old driver is a reported reason instead of an addon that fails to load. NVRTC is loaded
// on its own, so CUDA sources can be compile-checked on a machine without a driver.
#include <dirent.h>
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels.h"
#include "launch.h"

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

struct Driver {
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
  CUresult (*cuMemsetD32)(CUdeviceptr, unsigned, size_t);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void*, void**, void**);
  CUresult (*cuEventCreate)(CUevent*, unsigned);
  CUresult (*cuEventRecord)(CUevent, void*);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float*, CUevent, CUevent);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuGetErrorName)(CUresult, const char**);
};

struct Nvrtc {
  nvrtcResult (*nvrtcVersion)(int*, int*);
  nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram*, const char*, const char*, int, const char* const*, const char* const*);
  nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram, int, const char* const*);
  nvrtcResult (*nvrtcGetPTXSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetPTX)(nvrtcProgram, char*);
  nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram, char*);
  nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram*);
};

// The catalog kernels (native/kernels.cu), embedded by scripts/build-native.mjs.
const char* kSource =
#include "gen/kernels_cu.inc"
    ;

Driver api;
Nvrtc rtc;
CudaStatus status;
NvrtcStatus rtcStatus;
CUcontext ctx = nullptr;
CUmodule module = nullptr;
std::once_flag once, rtcOnce;
// A buffer larger than any current L2 (H100: 50 MB), written before each timed launch when the
// caller asks for cold caches (as triton's do_bench does).
CUdeviceptr flushBuf = 0;
const size_t kFlushBytes = 256u << 20;

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

// libnvrtc loads libnvrtc-builtins by soname; when gpuci loads libnvrtc from an explicit path (a
// pip wheel's folder, say) the builtins next to it must be loaded first so that lookup succeeds.
void preloadBuiltins(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("libnvrtc-builtins.so", 0) == 0) {
      dlopen((dir + "/" + n).c_str(), RTLD_NOW | RTLD_GLOBAL);
      break;
    }
  }
  closedir(d);
}

void initNvrtc() {
  std::vector<std::string> paths;
  if (const char* p = std::getenv("GPUCI_NVRTC")) paths.push_back(p);
  for (const char* n : {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"}) paths.push_back(n);
  for (const char* env : {"CUDA_HOME", "CUDA_PATH"})
    if (const char* home = std::getenv(env)) paths.push_back(std::string(home) + "/lib64/libnvrtc.so");
  paths.push_back("/usr/local/cuda/lib64/libnvrtc.so");
  void* lib = nullptr;
  std::string tried;
  for (const std::string& p : paths) {
    size_t slash = p.rfind('/');
    if (slash != std::string::npos) preloadBuiltins(p.substr(0, slash));
    if ((lib = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL))) {
      rtcStatus.library = p;
      break;
    }
    tried += (tried.empty() ? "" : ", ") + p;
  }
  if (!lib) {
    rtcStatus.reason =
        "NVRTC (libnvrtc.so) not found (tried " + tried +
        "): install the CUDA toolkit's nvrtc, or `pip install nvidia-cuda-nvrtc`, and set GPUCI_NVRTC to the path of libnvrtc.so.*";
    return;
  }
  bool ok = sym(lib, "nvrtcVersion", &rtc.nvrtcVersion) && sym(lib, "nvrtcCreateProgram", &rtc.nvrtcCreateProgram) &&
            sym(lib, "nvrtcCompileProgram", &rtc.nvrtcCompileProgram) && sym(lib, "nvrtcGetPTXSize", &rtc.nvrtcGetPTXSize) &&
            sym(lib, "nvrtcGetPTX", &rtc.nvrtcGetPTX) && sym(lib, "nvrtcGetProgramLogSize", &rtc.nvrtcGetProgramLogSize) &&
            sym(lib, "nvrtcGetProgramLog", &rtc.nvrtcGetProgramLog) && sym(lib, "nvrtcDestroyProgram", &rtc.nvrtcDestroyProgram);
  if (!ok) {
    rtcStatus.reason = rtcStatus.library + " lacks the NVRTC symbols gpuci needs";
    return;
  }
  rtc.nvrtcVersion(&rtcStatus.major, &rtcStatus.minor);
  rtcStatus.available = true;
}

// Load a module's PTX on the current device; false with `error` on failure.
bool loadModule(const std::string& ptx, const char* name, CUmodule* out, std::string* error) {
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
            sym(cuda, "cuMemsetD32_v2", &api.cuMemsetD32) && sym(cuda, "cuLaunchKernel", &api.cuLaunchKernel) &&
            sym(cuda, "cuEventCreate", &api.cuEventCreate) && sym(cuda, "cuEventRecord", &api.cuEventRecord) &&
            sym(cuda, "cuEventSynchronize", &api.cuEventSynchronize) && sym(cuda, "cuEventElapsedTime", &api.cuEventElapsedTime) &&
            sym(cuda, "cuEventDestroy_v2", &api.cuEventDestroy) && sym(cuda, "cuCtxSynchronize", &api.cuCtxSynchronize) &&
            sym(cuda, "cuGetErrorName", &api.cuGetErrorName);
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
  api.cuDeviceGetAttribute(&status.smCount, 16, dev);  // MULTIPROCESSOR_COUNT
  api.cuDeviceGetAttribute(&status.clockKHz, 13, dev); // CLOCK_RATE (kHz)
  const NvrtcStatus& n = nvrtcStatus();
  if (!n.available) {
    status.reason = n.reason;
    return;
  }
  if ((r = api.cuDevicePrimaryCtxRetain(&ctx, dev)) != 0 || (r = api.cuCtxSetCurrent(ctx)) != 0) {
    status.reason = "could not create a CUDA context: " + errName(r);
    return;
  }
  std::string ptx, log, error;
  std::string arch = "compute_" + std::to_string(status.ccMajor) + std::to_string(status.ccMinor);
  if (!nvrtcCompile(kSource, "gpuci_kernels.cu", arch, true, &ptx, &log, &error) || !loadModule(ptx, "gpuci_kernels.cu", &module, &error)) {
    status.reason = error;
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
  std::string ptx, log;
  std::string arch = "compute_" + std::to_string(status.ccMajor) + std::to_string(status.ccMinor);
  CUmodule mod;
  if (!nvrtcCompile(source, "user_kernel.cu", arch, false, &ptx, &log, error) || !loadModule(ptx, "user_kernel.cu", &mod, error))
    return false;
  userModules[source] = mod;
  *out = mod;
  return true;
}

// IEEE binary16 <-> binary32 on the host (round to nearest even), for the f16 kernels' buffers.
uint16_t toHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u);  // Inf / NaN
  if (ax >= 0x477ff000u) return sign | 0x7c00u;                                       // rounds past 65504
  if (ax < 0x38800000u) {                                                             // subnormal or zero
    float a;
    std::memcpy(&a, &ax, 4);
    return sign | (uint16_t)std::nearbyint(a * 16777216.0f);  // units of 2^-24, ties to even
  }
  uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u);
  return sign | (uint16_t)((r - 0x38000000u) >> 13);
}

float fromHalf(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  float f;
  if (e == 0) {
    f = std::ldexp((float)m, -24);
    return sign ? -f : f;
  }
  uint32_t x = e == 31 ? (sign | 0x7f800000u | (m << 13)) : (sign | ((e + 112u) << 23) | (m << 13));
  std::memcpy(&f, &x, 4);
  return f;
}

}  // namespace

const NvrtcStatus& nvrtcStatus() {
  std::call_once(rtcOnce, initNvrtc);
  return rtcStatus;
}

bool nvrtcCompile(const std::string& source, const char* name, const std::string& arch, bool fastMath, std::string* ptx, std::string* log,
                  std::string* error) {
  if (!nvrtcStatus().available) {
    *error = rtcStatus.reason;
    return false;
  }
  nvrtcProgram prog;
  if (rtc.nvrtcCreateProgram(&prog, source.c_str(), name, 0, nullptr, nullptr) != 0) {
    *error = std::string("NVRTC could not create a program from ") + name;
    return false;
  }
  std::string archOpt = "--gpu-architecture=" + arch;
  std::vector<const char*> opts = {archOpt.c_str(), "-default-device"};
  if (fastMath) opts.push_back("--use_fast_math");
  nvrtcResult r = rtc.nvrtcCompileProgram(prog, (int)opts.size(), opts.data());
  size_t n = 0;
  rtc.nvrtcGetProgramLogSize(prog, &n);
  log->assign(n, '\0');
  if (n) rtc.nvrtcGetProgramLog(prog, log->data());
  while (!log->empty() && (log->back() == '\0' || log->back() == '\n')) log->pop_back();
  if (r != 0) {
    *error = std::string("NVRTC could not compile ") + name + " for " + arch + ":\n" + log->substr(0, 4000);
    rtc.nvrtcDestroyProgram(&prog);
    return false;
  }
  size_t size = 0;
  rtc.nvrtcGetPTXSize(prog, &size);
  ptx->assign(size, '\0');
  rtc.nvrtcGetPTX(prog, ptx->data());
  rtc.nvrtcDestroyProgram(&prog);
  return true;
}

const char* catalogSource() { return kSource; }

uint16_t floatToHalf(float f) { return toHalf(f); }

float halfToFloat(uint16_t h) { return fromHalf(h); }

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

bool cudaRun(const std::string& kernel, bool f16, const Shape& s, const float* const* inputs, const size_t* inputSizes, int nInputs,
             float* output, size_t outputSize, int repeats, bool flushL2, double* msOut, std::string* error) {
  if (!cudaStatus().available) {
    *error = status.reason;
    return false;
  }
  api.cuCtxSetCurrent(ctx);
  int m = (int)s.m, n = (int)s.n, k = (int)s.k, S = (int)s.s, D = (int)s.d, causal = s.causal ? 1 : 0;
  long long total = (long long)(s.m);
  float eps = s.eps;
  Launch launch = launchFor(kernel, f16, s);
  if (!launch.error.empty()) {
    *error = launch.error;
    return false;
  }
  const std::string& fnName = launch.fn;
  unsigned gx = launch.grid[0], gy = launch.grid[1], bx = launch.block;
  CUfunction fn;
  CUresult r = api.cuModuleGetFunction(&fn, module, fnName.c_str());
  if (r != 0) {
    *error = "no CUDA kernel " + fnName;
    return false;
  }
  const size_t elem = f16 ? 2 : 4;
  std::vector<CUdeviceptr> bufs(nInputs + 1, 0);
  auto cleanup = [&] {
    for (auto p : bufs)
      if (p) api.cuMemFree(p);
  };
  // Host buffers in the kernel's storage type (f16: binary16 bits).
  auto upload = [&](CUdeviceptr dst, const float* src, size_t count) {
    if (!f16) return api.cuMemcpyHtoD(dst, src, count * 4);
    std::vector<uint16_t> h(count);
    for (size_t i = 0; i < count; i++) h[i] = toHalf(src[i]);
    return api.cuMemcpyHtoD(dst, h.data(), count * 2);
  };
  for (int i = 0; i < nInputs; i++) {
    if ((r = api.cuMemAlloc(&bufs[i], inputSizes[i] * elem)) != 0 || (r = upload(bufs[i], inputs[i], inputSizes[i])) != 0) {
      *error = "cuMemAlloc/cuMemcpyHtoD failed: " + errName(r);
      cleanup();
      return false;
    }
  }
  CUdeviceptr out = 0;
  if ((r = api.cuMemAlloc(&out, outputSize * elem)) != 0) {
    *error = "cuMemAlloc failed: " + errName(r);
    cleanup();
    return false;
  }
  bufs[nInputs] = out;
  // The output arrives poisoned with NaN; copy it so unwritten elements stay NaN.
  upload(out, output, outputSize);
  if (flushL2 && !flushBuf && api.cuMemAlloc(&flushBuf, kFlushBytes) != 0) flushBuf = 0;
  std::vector<void*> args;
  if (kernel == "vector_add") args = {&bufs[0], &bufs[1], &bufs[nInputs], &total};
  else if (kernel == "matmul") args = {&bufs[0], &bufs[1], &bufs[nInputs], &m, &n, &k};
  else if (kernel == "softmax") args = {&bufs[0], &bufs[nInputs], &m, &n};
  else if (kernel == "layernorm") args = {&bufs[0], &bufs[1], &bufs[2], &bufs[nInputs], &m, &n, &eps};
  else args = {&bufs[0], &bufs[1], &bufs[2], &bufs[nInputs], &S, &D, &causal};
  CUevent start, stop;
  api.cuEventCreate(&start, 0);
  api.cuEventCreate(&stop, 0);
  float ms = 0;
  for (int rep = 0; rep < std::max(1, repeats); rep++) {
    if (flushL2 && flushBuf) api.cuMemsetD32(flushBuf, (unsigned)rep, kFlushBytes / 4);
    api.cuEventRecord(start, nullptr);
    r = api.cuLaunchKernel(fn, gx, gy, 1, bx, 1, 1, 0, nullptr, args.data(), nullptr);
    api.cuEventRecord(stop, nullptr);
    if (r != 0) break;
    if ((r = api.cuEventSynchronize(stop)) != 0) break;
    api.cuEventElapsedTime(&ms, start, stop);
  }
  if (r == 0) r = api.cuCtxSynchronize();
  api.cuEventDestroy(start);
  api.cuEventDestroy(stop);
  if (r != 0) {
    *error = "kernel " + fnName + " failed: " + errName(r);
    cleanup();
    return false;
  }
  if (f16) {
    std::vector<uint16_t> h(outputSize);
    api.cuMemcpyDtoH(h.data(), out, outputSize * 2);
    for (size_t i = 0; i < outputSize; i++) output[i] = fromHalf(h[i]);
  } else {
    api.cuMemcpyDtoH(output, out, outputSize * 4);
  }
  cleanup();
  *msOut = ms;
  return true;
}

}  // namespace gpuci
