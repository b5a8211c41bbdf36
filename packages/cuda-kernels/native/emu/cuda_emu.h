// A CUDA emulator for the CPU: compiles native/kernels.cu (in the tests) and users' CUDA kernels
// (in `gpuci kernels` on machines without a GPU) as host C++ and runs each thread block
// with one coroutine (ucontext) per CUDA thread, so the kernels' own source can be checked on a
// machine without a GPU. What it models: __syncthreads (exited threads do not count, as on the
// hardware), shared memory (one copy per block: blocks run one after another), warp shuffles
// among the lanes of a mask, and the warp-wide mma.sync shapes the kernels use, computed from
// the fragment layouts the PTX ISA documents (section "Matrix Fragments for mma.m16n8k16" and
// "m16n8k8" with .f16). What it cannot show: timing, data races (threads run one at a time
// between barriers), or hardware quirks. A kernel that deadlocks (a barrier some threads never
// reach) is reported and the process exits with status 3.
#pragma once
#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <math.h>
#include <vector>


#define __global__
#define __device__
#define __host__
#define __restrict__ __restrict
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

struct GpuciDim3 {
  unsigned x = 0, y = 0, z = 0;
};
struct uint4 {
  unsigned x, y, z, w;
};
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline float __int_as_float(unsigned v) {
  float f;
  std::memcpy(&f, &v, 4);
  return f;
}
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
template <typename T>
inline T __ldg(const T* p) {
  return *p;
}
// Threads run one at a time between barriers, so read-modify-write is already atomic here.
template <typename T>
inline T atomicAdd(T* p, T v) {
  T old = *p;
  *p = old + v;
  return old;
}
template <typename T>
inline T atomicMax(T* p, T v) {
  T old = *p;
  *p = old > v ? old : v;
  return old;
}
template <typename T>
inline T atomicMin(T* p, T v) {
  T old = *p;
  *p = old < v ? old : v;
  return old;
}
using std::fmaf;
using std::fmaxf;
using std::max;
using std::min;

namespace gpuci_emu {

inline GpuciDim3 threadIdx_, blockIdx_, blockDim_, gridDim_;

enum Wait { kRunning, kBarrier, kShfl, kSyncWarp, kMma16816, kMma1688, kDone };

struct Thread {
  ucontext_t ctx;
  std::vector<char> stack;
  Wait wait = kRunning;
  unsigned mask = 0;
  // Shuffle: the value offered, how the source lane is chosen, the result when released.
  uint64_t value = 0, result = 0;  // the bytes of any value up to 8 bytes
  int shflMode = 0, shflArg = 0, shflWidth = 32;  // mode 0 xor, 1 idx, 2 down, 3 up
  // mma: this lane's fragments (a: 4 or 2 registers, b: 2 or 1) and its accumulator.
  const unsigned* a = nullptr;
  const unsigned* b = nullptr;
  float* c = nullptr;
};

inline std::vector<Thread> threads;
inline int current = -1;
inline ucontext_t scheduler;
inline std::function<void()> body;

// The device's cvt.f32.f16 and cvt.rn.f16.f32 (IEEE binary16, round to nearest even), written
// here independently of the host conversion in cuda.cc.
inline float halfToFloat(uint16_t h) {
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const float mag = e == 0 ? std::ldexp((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(1.0f + m / 1024.0f, e - 15);
  return (h & 0x8000) ? -mag : mag;
}
inline uint16_t floatToHalf(float f) {
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const float a = std::fabs(f);
  if (std::isnan(f)) return sign | 0x7e00;
  if (a >= 65520.0f) return sign | 0x7c00;  // rounds past the largest half, 65504
  if (a < 6.103515625e-05f) return sign | (uint16_t)std::nearbyint(a * 16777216.0f);  // subnormal: units of 2^-24
  int e;
  const float frac = std::frexp(a, &e);                       // a = frac * 2^e, frac in [0.5, 1)
  const float mant = std::nearbyint(frac * 2048.0f);         // 11 significant bits, ties to even
  const int bits = ((e + 14) << 10) + (int)mant - 1024;      // mant == 2048 carries into the exponent
  return sign | (uint16_t)bits;
}

inline void yield(Wait w) {
  Thread& t = threads[current];
  t.wait = w;
  swapcontext(&t.ctx, &scheduler);
}

inline void entry() {
  body();
  threads[current].wait = kDone;
}

inline unsigned laneOf(int tid) { return (unsigned)tid & 31u; }

// The A/B/C element a lane's register half holds, by the PTX ISA's fragment tables (f16 A and
// B, f32 C). m16n8k16: A elements a0..a7 in 4 registers, B b0..b3 in 2, C c0..c3.
inline void mma16816Row(int lane, int i, int* row, int* col) {  // A
  int g = lane >> 2, t = lane & 3;
  *row = (i < 2 || (i >= 4 && i < 6)) ? g : g + 8;
  *col = t * 2 + (i & 1) + (i >= 4 ? 8 : 0);
}
inline void mma16816B(int lane, int i, int* row, int* col) {
  int g = lane >> 2, t = lane & 3;
  *row = t * 2 + (i & 1) + (i >= 2 ? 8 : 0);
  *col = g;
}
// m16n8k8: A a0..a3 in 2 registers, B b0..b1 in 1.
inline void mma1688A(int lane, int i, int* row, int* col) {
  int g = lane >> 2, t = lane & 3;
  *row = i < 2 ? g : g + 8;
  *col = t * 2 + (i & 1);
}
inline void mma1688B(int lane, int i, int* row, int* col) {
  int g = lane >> 2, t = lane & 3;
  *row = t * 2 + i;
  *col = g;
}
inline void accumulatorRC(int lane, int i, int* row, int* col) {
  int g = lane >> 2, t = lane & 3;
  *row = i < 2 ? g : g + 8;
  *col = t * 2 + (i & 1);
}
inline float halfOf(unsigned reg, int i) { return halfToFloat((uint16_t)(i & 1 ? reg >> 16 : reg & 0xffffu)); }

// One warp's mma (all 32 lanes arrived): rebuild A and B from the lanes' fragments, then give
// each lane its four D = A*B + C values.
inline void runMma(int warpBase, bool k16) {
  const int K = k16 ? 16 : 8;
  float A[16][16] = {}, B[16][8] = {};
  for (int lane = 0; lane < 32; lane++) {
    const Thread& th = threads[warpBase + lane];
    for (int i = 0; i < (k16 ? 8 : 4); i++) {
      int r, c;
      if (k16) mma16816Row(lane, i, &r, &c);
      else mma1688A(lane, i, &r, &c);
      A[r][c] = halfOf(th.a[i / 2], i);
    }
    for (int i = 0; i < (k16 ? 4 : 2); i++) {
      int r, c;
      if (k16) mma16816B(lane, i, &r, &c);
      else mma1688B(lane, i, &r, &c);
      B[r][c] = halfOf(th.b[i / 2], i);
    }
  }
  for (int lane = 0; lane < 32; lane++) {
    Thread& th = threads[warpBase + lane];
    for (int i = 0; i < 4; i++) {
      int r, c;
      accumulatorRC(lane, i, &r, &c);
      float acc = th.c[i];
      for (int k = 0; k < K; k++) acc = std::fma(A[r][k], B[k][c], acc);
      th.c[i] = acc;
    }
  }
}

// Release what can be released: warp operations whose lanes have all arrived, then a block
// barrier once every live thread waits at it. False when nothing moved (a deadlock).
inline bool release() {
  bool moved = false;
  const int n = (int)threads.size();
  for (int w = 0; w < n; w += 32) {
    for (int lane = 0; lane < 32 && w + lane < n; lane++) {
      Thread& t = threads[w + lane];
      if (t.wait != kShfl && t.wait != kSyncWarp && t.wait != kMma16816 && t.wait != kMma1688) continue;
      bool all = true;
      for (int l = 0; l < 32; l++)
        if ((t.mask >> l) & 1u)
          if (w + l >= n || threads[w + l].wait != t.wait || threads[w + l].mask != t.mask) all = false;
      if (!all) continue;
      if (t.wait == kSyncWarp) {
        // Nothing to exchange: the lanes of the mask only meet.
      } else if (t.wait == kShfl) {
        for (int l = 0; l < 32; l++)
          if ((t.mask >> l) & 1u) {
            Thread& me = threads[w + l];
            // As the CUDA guide defines __shfl*_sync: lanes in segments of `width`.
            const int width = me.shflWidth, base = l & ~(width - 1);
            int partner = l;
            if (me.shflMode == 0) partner = l ^ me.shflArg;
            else if (me.shflMode == 1) partner = base + (me.shflArg & (width - 1));
            else if (me.shflMode == 2) partner = (l - base) + me.shflArg < width ? l + me.shflArg : l;
            else partner = (l - base) - me.shflArg >= 0 ? l - me.shflArg : l;
            me.result = (partner >= 0 && partner < 32 && ((t.mask >> partner) & 1u)) ? threads[w + partner].value : me.value;
          }
      } else {
        if (t.mask != 0xffffffffu) {
          std::fprintf(stderr, "gpuci-cuda-emu: mma.sync needs all 32 lanes (mask %08x)\n", t.mask);
          std::exit(3);
        }
        runMma(w, t.wait == kMma16816);
      }
      const Wait kind = t.wait;
      const unsigned mask = t.mask;
      for (int l = 0; l < 32; l++)
        if ((mask >> l) & 1u && threads[w + l].wait == kind) threads[w + l].wait = kRunning;
      moved = true;
    }
  }
  if (moved) return true;
  bool anyBarrier = false, allBarrier = true;
  for (const Thread& t : threads) {
    if (t.wait == kDone) continue;
    if (t.wait == kBarrier) anyBarrier = true;
    else allBarrier = false;
  }
  if (anyBarrier && allBarrier) {
    for (Thread& t : threads)
      if (t.wait == kBarrier) t.wait = kRunning;
    return true;
  }
  return false;
}

// Run the whole grid: blocks one after another, each block's threads as coroutines (x fastest,
// so warps are runs of 32 consecutive linear thread indices, as on the hardware).
inline void launch3(GpuciDim3 grid, GpuciDim3 block, const std::function<void()>& kernel) {
  gridDim_ = grid;
  blockDim_ = block;
  body = kernel;
  const unsigned nt = block.x * block.y * block.z;
  if (nt == 0 || nt > 1024) {
    std::fprintf(stderr, "gpuci-cuda-emu: a block of %u threads; CUDA allows 1 to 1024\n", nt);
    std::exit(2);
  }
  threads.assign(nt, Thread{});
  for (Thread& t : threads) t.stack.resize(256 * 1024);
  for (unsigned bz = 0; bz < grid.z; bz++)
    for (unsigned by = 0; by < grid.y; by++)
      for (unsigned bx = 0; bx < grid.x; bx++) {
        blockIdx_ = {bx, by, bz};
        for (unsigned i = 0; i < nt; i++) {
          Thread& t = threads[i];
          t.wait = kRunning;
          getcontext(&t.ctx);
          t.ctx.uc_stack.ss_sp = t.stack.data();
          t.ctx.uc_stack.ss_size = t.stack.size();
          t.ctx.uc_link = &scheduler;
          makecontext(&t.ctx, entry, 0);
        }
        for (;;) {
          bool ran = false;
          for (unsigned i = 0; i < nt; i++) {
            if (threads[i].wait != kRunning) continue;
            current = (int)i;
            threadIdx_ = {i % block.x, (i / block.x) % block.y, i / (block.x * block.y)};
            swapcontext(&scheduler, &threads[i].ctx);
            ran = true;
          }
          bool done = std::all_of(threads.begin(), threads.end(), [](const Thread& t) { return t.wait == kDone; });
          if (done) break;
          if (!ran && !release()) {
            std::fprintf(stderr,
                         "gpuci-cuda-emu: deadlock in block (%u, %u, %u): threads wait at a barrier or warp operation others never reach\n",
                         bx, by, bz);
            std::exit(3);
          }
        }
      }
}

inline void launch(unsigned gx, unsigned gy, unsigned bx, const std::function<void()>& kernel) {
  launch3({gx, gy, 1}, {bx, 1, 1}, kernel);
}

}  // namespace gpuci_emu

#define threadIdx gpuci_emu::threadIdx_
#define blockIdx gpuci_emu::blockIdx_
#define blockDim gpuci_emu::blockDim_
#define gridDim gpuci_emu::gridDim_

inline void __syncthreads() { gpuci_emu::yield(gpuci_emu::kBarrier); }

template <typename T>
inline T gpuci_emu_shfl(unsigned mask, T v, int mode, int arg, int width) {
  static_assert(sizeof(T) <= 8, "shuffles move values of up to 8 bytes");
  gpuci_emu::Thread& t = gpuci_emu::threads[gpuci_emu::current];
  t.mask = mask;
  t.value = 0;
  std::memcpy(&t.value, &v, sizeof(T));
  t.shflMode = mode;
  t.shflArg = arg;
  t.shflWidth = width;
  gpuci_emu::yield(gpuci_emu::kShfl);
  T out;
  std::memcpy(&out, &gpuci_emu::threads[gpuci_emu::current].result, sizeof(T));
  return out;
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int laneMask, int width = 32) {
  return gpuci_emu_shfl(mask, v, 0, laneMask, width);
}
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int srcLane, int width = 32) {
  return gpuci_emu_shfl(mask, v, 1, srcLane, width);
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return gpuci_emu_shfl(mask, v, 2, (int)delta, width);
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return gpuci_emu_shfl(mask, v, 3, (int)delta, width);
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  gpuci_emu::Thread& t = gpuci_emu::threads[gpuci_emu::current];
  t.mask = mask;
  gpuci_emu::yield(gpuci_emu::kSyncWarp);
}

inline void gpuci_emu_mma_m16n8k16(float* c, const unsigned* a, const unsigned* b) {
  gpuci_emu::Thread& t = gpuci_emu::threads[gpuci_emu::current];
  t.mask = 0xffffffffu;
  t.a = a;
  t.b = b;
  t.c = c;
  gpuci_emu::yield(gpuci_emu::kMma16816);
}

inline void gpuci_emu_mma_m16n8k8(float* c, unsigned a0, unsigned a1, unsigned b0) {
  gpuci_emu::Thread& t = gpuci_emu::threads[gpuci_emu::current];
  unsigned a[2] = {a0, a1}, b[1] = {b0};
  t.mask = 0xffffffffu;
  t.a = a;
  t.b = b;
  t.c = c;
  gpuci_emu::yield(gpuci_emu::kMma1688);  // a and b live on this coroutine's stack until it resumes
}
