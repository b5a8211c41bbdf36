// A test-only CUDA emulator: compiles native/kernels.cu as host C++ and runs each thread block
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
#include <vector>

#include "../kernels.h"

#define __global__
#define __device__
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
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
using std::fmaf;
using std::fmaxf;
using std::max;
using std::min;

namespace gpuci_emu {

inline GpuciDim3 threadIdx_, blockIdx_, blockDim_, gridDim_;

enum Wait { kRunning, kBarrier, kShfl, kMma16816, kMma1688, kDone };

struct Thread {
  ucontext_t ctx;
  std::vector<char> stack;
  Wait wait = kRunning;
  unsigned mask = 0;
  // Shuffle: the value offered and the partner lane; the result when released.
  float value = 0, result = 0;
  int xorLane = 0;
  // mma: this lane's fragments (a: 4 or 2 registers, b: 2 or 1) and its accumulator.
  const unsigned* a = nullptr;
  const unsigned* b = nullptr;
  float* c = nullptr;
};

inline std::vector<Thread> threads;
inline int current = -1;
inline ucontext_t scheduler;
inline std::function<void()> body;

inline float halfToFloat(uint16_t h) { return gpuci::halfToFloat(h); }
inline uint16_t floatToHalf(float f) { return gpuci::floatToHalf(f); }

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
      if (t.wait != kShfl && t.wait != kMma16816 && t.wait != kMma1688) continue;
      bool all = true;
      for (int l = 0; l < 32; l++)
        if ((t.mask >> l) & 1u)
          if (w + l >= n || threads[w + l].wait != t.wait || threads[w + l].mask != t.mask) all = false;
      if (!all) continue;
      if (t.wait == kShfl) {
        for (int l = 0; l < 32; l++)
          if ((t.mask >> l) & 1u) {
            Thread& me = threads[w + l];
            int partner = l ^ me.xorLane;
            me.result = ((t.mask >> partner) & 1u) ? threads[w + partner].value : me.value;
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

// Run the whole grid: blocks one after another, each block's threads as coroutines.
inline void launch(unsigned gx, unsigned gy, unsigned bx, const std::function<void()>& kernel) {
  gridDim_ = {gx, gy, 1};
  blockDim_ = {bx, 1, 1};
  body = kernel;
  threads.assign(bx, Thread{});
  for (Thread& t : threads) t.stack.resize(256 * 1024);
  for (unsigned by = 0; by < gy; by++)
    for (unsigned bxi = 0; bxi < gx; bxi++) {
      blockIdx_ = {bxi, by, 0};
      for (unsigned i = 0; i < bx; i++) {
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
        for (unsigned i = 0; i < bx; i++) {
          if (threads[i].wait != kRunning) continue;
          current = (int)i;
          threadIdx_ = {i, 0, 0};
          swapcontext(&scheduler, &threads[i].ctx);
          ran = true;
        }
        bool done = std::all_of(threads.begin(), threads.end(), [](const Thread& t) { return t.wait == kDone; });
        if (done) break;
        if (!ran && !release()) {
          std::fprintf(stderr, "gpuci-cuda-emu: deadlock in block (%u, %u): threads wait at a barrier or warp operation others never reach\n",
                       bxi, by);
          std::exit(3);
        }
      }
    }
}

}  // namespace gpuci_emu

#define threadIdx gpuci_emu::threadIdx_
#define blockIdx gpuci_emu::blockIdx_
#define blockDim gpuci_emu::blockDim_
#define gridDim gpuci_emu::gridDim_

inline void __syncthreads() { gpuci_emu::yield(gpuci_emu::kBarrier); }

inline float __shfl_xor_sync(unsigned mask, float v, int laneMask) {
  gpuci_emu::Thread& t = gpuci_emu::threads[gpuci_emu::current];
  t.mask = mask;
  t.value = v;
  t.xorLane = laneMask;
  gpuci_emu::yield(gpuci_emu::kShfl);
  return gpuci_emu::threads[gpuci_emu::current].result;
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
