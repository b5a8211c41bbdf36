// gpuci's CUDA catalog kernels. The addon embeds this file (scripts/build-native.mjs turns it into
// native/gen/kernels_cu.inc) and compiles it with NVRTC for the device at run time; the tests
// compile it with the real NVRTC and assemble it with ptxas for several architectures on machines
// without a GPU, so a kernel that does not compile, or spills registers, fails CI.
//
// No headers: NVRTC has no CUDA include path on a runner that only has the driver and libnvrtc,
// so half precision is plain 16-bit storage converted with PTX `cvt`, and the tensor-core matmul
// uses the PTX `mma.sync` instruction directly. With GPUCI_EMULATE the same source builds as host
// C++ against native/emu/cuda_emu.h, which the tests use to run these kernels without a GPU.
//
// Every kernel takes any size: loads past the edge read zero, stores past the edge are skipped.
// f16 kernels store binary16 and compute in f32 (like cuBLAS and PyTorch with f32 accumulation).

typedef unsigned short half_t;

#ifdef GPUCI_EMULATE
// Built as host C++ for the tests' emulator (native/emu/cuda_emu.h), with no PTX.
#define GPUCI_ARCH GPUCI_EMU_ARCH
__device__ __forceinline__ float h2f(half_t h) { return gpuci_emu::halfToFloat(h); }
__device__ __forceinline__ half_t f2h(float f) { return gpuci_emu::floatToHalf(f); }
#else
#define GPUCI_ARCH __CUDA_ARCH__
__device__ __forceinline__ float h2f(half_t h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}
__device__ __forceinline__ half_t f2h(float f) {
  half_t h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}
#endif
#define NEG_INF __int_as_float(0xff800000)  // NVRTC has no math.h, so no INFINITY

__device__ __forceinline__ float ld(const float* p) { return *p; }
__device__ __forceinline__ float ld(const half_t* p) { return h2f(*p); }
__device__ __forceinline__ void st(float* p, float v) { *p = v; }
__device__ __forceinline__ void st(half_t* p, float v) { *p = f2h(v); }

// ---------------------------------------------------------------------------------------------
// vector-add

template <typename T>
__device__ __forceinline__ void vectorAdd(const T* a, const T* b, T* c, long long n) {
  long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (i < n) st(c + i, ld(a + i) + ld(b + i));
}
extern "C" __global__ void vector_add_f32(const float* a, const float* b, float* c, long long n) { vectorAdd(a, b, c, n); }
extern "C" __global__ void vector_add_f16(const half_t* a, const half_t* b, half_t* c, long long n) { vectorAdd(a, b, c, n); }

// ---------------------------------------------------------------------------------------------
// matmul f32: 64x64 block tiles, 16x16 threads, 4x4 outputs per thread, K staged 16 at a time.

#define MM_BM 64
#define MM_BN 64
#define MM_BK 16
extern "C" __global__ void __launch_bounds__(256) matmul_f32(const float* A, const float* B, float* C, int M, int N, int K) {
  __shared__ float As[MM_BK][MM_BM + 4];  // transposed: As[k][m]
  __shared__ float Bs[MM_BK][MM_BN + 4];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int row0 = blockIdx.y * MM_BM, col0 = blockIdx.x * MM_BN;
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) acc[i][j] = 0.f;
  for (int k0 = 0; k0 < K; k0 += MM_BK) {
    // 64x16 of A and 16x64 of B: 1024 values each, 4 per thread.
#pragma unroll
    for (int l = 0; l < 4; l++) {
      int idx = threadIdx.x + l * 256;
      int ar = idx / MM_BK, ac = idx % MM_BK;
      int gr = row0 + ar, gc = k0 + ac;
      As[ac][ar] = (gr < M && gc < K) ? A[(long long)gr * K + gc] : 0.f;
      int br = idx / MM_BN, bc = idx % MM_BN;
      gr = k0 + br;
      gc = col0 + bc;
      Bs[br][bc] = (gr < K && gc < N) ? B[(long long)gr * N + gc] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < MM_BK; kk++) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) {
      int r = row0 + ty + 16 * i, c = col0 + tx + 16 * j;
      if (r < M && c < N) C[(long long)r * N + c] = acc[i][j];
    }
}

// ---------------------------------------------------------------------------------------------
// matmul f16 on tensor cores: C[M,N] = A[M,K] B[K,N], binary16 in and out, f32 accumulation.
// 128x128 block tiles, K staged 32 at a time, 8 warps in a 2x4 grid, each warp 64x32 of C as
// 4x4 mma tiles of 16x8. Both shared tiles hold 32-bit words, each a pair of halves consecutive
// in k (the low half first), which is exactly one mma fragment register: A row-major (As[m][k/2]),
// B transposed (Bt[n][k/2]). Words are built with shifts, never by type punning. Rows are padded
// to 20 words: the 32 lanes of a fragment load hit 32 different banks.
// sm_80+: mma.m16n8k16; sm_75: two mma.m16n8k8 per k16 step.

#define TC_BM 128
#define TC_BN 128
#define TC_BK 32
#define TC_LDW (TC_BK / 2 + 4)  // words per shared row

__device__ __forceinline__ void mma16816(float* c, const unsigned* a, const unsigned* b) {
#ifdef GPUCI_EMULATE
#if GPUCI_ARCH >= 800
  gpuci_emu_mma_m16n8k16(c, a, b);
#else
  gpuci_emu_mma_m16n8k8(c, a[0], a[1], b[0]);
  gpuci_emu_mma_m16n8k8(c, a[2], a[3], b[1]);
#endif
#elif GPUCI_ARCH >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(b[0]));
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[2]), "r"(a[3]), "r"(b[1]));
#endif
}

__device__ __forceinline__ unsigned pack2(half_t lo, half_t hi) { return (unsigned)lo | ((unsigned)hi << 16); }
__device__ __forceinline__ half_t halfOf(const uint4& v, int j) {
  unsigned w = (j >> 1) == 0 ? v.x : (j >> 1) == 1 ? v.y : (j >> 1) == 2 ? v.z : v.w;
  return (half_t)((j & 1) ? (w >> 16) : (w & 0xffffu));
}

extern "C" __global__ void __launch_bounds__(256) matmul_f16(const half_t* A, const half_t* B, half_t* C, int M, int N, int K) {
  __shared__ unsigned As[TC_BM][TC_LDW];
  __shared__ unsigned Bt[TC_BN][TC_LDW];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, t = lane & 3;  // mma groupID and thread-in-group
  const int wm = (warp >> 2) * 64, wn = (warp & 3) * 32;
  const int row0 = blockIdx.y * TC_BM, col0 = blockIdx.x * TC_BN;
  // 16-byte global loads when every row starts 16-byte aligned (cudaMalloc'd bases are).
  const bool vec = (K % 8 == 0) && (N % 8 == 0);
  float acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) acc[i][j][e] = 0.f;

  for (int k0 = 0; k0 < K; k0 += TC_BK) {
    if (vec) {
      // A: 128 rows x 4 chunks of 8 halves (4 words), 2 chunks a thread.
#pragma unroll
      for (int l = 0; l < 2; l++) {
        int chunk = tid + l * 256;
        int r = chunk >> 2, c = (chunk & 3) * 8;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (row0 + r < M && k0 + c < K) v = *reinterpret_cast<const uint4*>(A + (long long)(row0 + r) * K + k0 + c);
        As[r][c / 2] = v.x;
        As[r][c / 2 + 1] = v.y;
        As[r][c / 2 + 2] = v.z;
        As[r][c / 2 + 3] = v.w;
      }
      // B: a thread reads 8 columns of rows 2kp and 2kp+1 and writes the 8 (k pair) words.
      {
        int kp = tid & 15, nn = (tid >> 4) * 8, kr = k0 + 2 * kp;
        uint4 lo = make_uint4(0, 0, 0, 0), hi = make_uint4(0, 0, 0, 0);
        if (col0 + nn < N) {
          if (kr < K) lo = *reinterpret_cast<const uint4*>(B + (long long)kr * N + col0 + nn);
          if (kr + 1 < K) hi = *reinterpret_cast<const uint4*>(B + (long long)(kr + 1) * N + col0 + nn);
        }
#pragma unroll
        for (int j = 0; j < 8; j++) Bt[nn + j][kp] = pack2(halfOf(lo, j), halfOf(hi, j));
      }
    } else {
      for (int idx = tid; idx < TC_BM * (TC_BK / 2); idx += 256) {
        int r = idx / (TC_BK / 2), cp = idx % (TC_BK / 2), gr = row0 + r, gc = k0 + 2 * cp;
        half_t lo = (gr < M && gc < K) ? A[(long long)gr * K + gc] : (half_t)0;
        half_t hi = (gr < M && gc + 1 < K) ? A[(long long)gr * K + gc + 1] : (half_t)0;
        As[r][cp] = pack2(lo, hi);
        int n = idx / (TC_BK / 2), kp = idx % (TC_BK / 2), gn = col0 + n, gk = k0 + 2 * kp;
        lo = (gn < N && gk < K) ? B[(long long)gk * N + gn] : (half_t)0;
        hi = (gn < N && gk + 1 < K) ? B[(long long)(gk + 1) * N + gn] : (half_t)0;
        Bt[n][kp] = pack2(lo, hi);
      }
    }
    __syncthreads();
#pragma unroll
    for (int ks = 0; ks < TC_BK / 2; ks += 8) {  // in words: 16 k = 8 words
      unsigned af[4][4], bf[4][2];
#pragma unroll
      for (int i = 0; i < 4; i++) {
        int r = wm + i * 16 + g;
        af[i][0] = As[r][ks + t];
        af[i][1] = As[r + 8][ks + t];
        af[i][2] = As[r][ks + t + 4];
        af[i][3] = As[r + 8][ks + t + 4];
      }
#pragma unroll
      for (int j = 0; j < 4; j++) {
        int n = wn + j * 8 + g;
        bf[j][0] = Bt[n][ks + t];
        bf[j][1] = Bt[n][ks + t + 4];
      }
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) mma16816(acc[i][j], af[i], bf[j]);
    }
    __syncthreads();
  }
  // Accumulator layout: c0,c1 at (g, 2t..2t+1), c2,c3 at (g+8, 2t..2t+1) of each 16x8 tile.
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        int r = row0 + wm + i * 16 + g + (e >> 1) * 8, c = col0 + wn + j * 8 + t * 2 + (e & 1);
        if (r < M && c < N) C[(long long)r * N + c] = f2h(acc[i][j][e]);
      }
}

// ---------------------------------------------------------------------------------------------
// softmax and layernorm: one 256-thread block per row, block reductions through shared memory.

__device__ __forceinline__ float blockReduce(float v, float* red, bool isMax) {
  red[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] = isMax ? fmaxf(red[threadIdx.x], red[threadIdx.x + s]) : red[threadIdx.x] + red[threadIdx.x + s];
    __syncthreads();
  }
  float r = red[0];
  __syncthreads();
  return r;
}

template <typename T>
__device__ __forceinline__ void softmaxRow(const T* x, T* y, int rows, int cols) {
  __shared__ float red[256];
  int r = blockIdx.x;
  if (r >= rows) return;
  const T* in = x + (long long)r * cols;
  T* out = y + (long long)r * cols;
  float m = NEG_INF;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, ld(in + j));
  m = blockReduce(m, red, true);
  float sum = 0.f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) sum += __expf(ld(in + j) - m);
  float inv = 1.f / blockReduce(sum, red, false);
  for (int j = threadIdx.x; j < cols; j += blockDim.x) st(out + j, __expf(ld(in + j) - m) * inv);
}
extern "C" __global__ void softmax_f32(const float* x, float* y, int rows, int cols) { softmaxRow(x, y, rows, cols); }
extern "C" __global__ void softmax_f16(const half_t* x, half_t* y, int rows, int cols) { softmaxRow(x, y, rows, cols); }

template <typename T>
__device__ __forceinline__ void layernormRow(const T* x, const T* w, const T* b, T* y, int rows, int cols, float eps) {
  __shared__ float red[256];
  int r = blockIdx.x;
  if (r >= rows) return;
  const T* in = x + (long long)r * cols;
  T* out = y + (long long)r * cols;
  float s = 0.f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) s += ld(in + j);
  float mean = blockReduce(s, red, false) / cols;
  float v = 0.f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) {
    float d = ld(in + j) - mean;
    v += d * d;
  }
  float inv = rsqrtf(blockReduce(v, red, false) / cols + eps);
  for (int j = threadIdx.x; j < cols; j += blockDim.x) st(out + j, (ld(in + j) - mean) * inv * ld(w + j) + ld(b + j));
}
extern "C" __global__ void layernorm_f32(const float* x, const float* w, const float* b, float* y, int rows, int cols, float eps) {
  layernormRow(x, w, b, y, rows, cols, eps);
}
extern "C" __global__ void layernorm_f16(const half_t* x, const half_t* w, const half_t* b, half_t* y, int rows, int cols, float eps) {
  layernormRow(x, w, b, y, rows, cols, eps);
}

// ---------------------------------------------------------------------------------------------
// attention forward, flash style: no S x S matrix exists. One block per (batch*head, 64 queries);
// K and V staged through shared memory 32 keys at a time; an online softmax per query.
// Each query belongs to DP/32 consecutive threads that own 32 of its (zero-padded) head dims
// each, so q and the output accumulator stay in registers (64 per thread) for DP up to 128;
// partial dot products meet through warp shuffles among those threads only. Shared rows are
// laid out as 33-float segments so the segments of one key fall in different banks.

#define AT_BQ 64
#define AT_BK 32

template <typename T, int DP>
__device__ __forceinline__ void attentionTile(const T* Q, const T* Kt, const T* V, T* O, int S, int D, int causal) {
  constexpr int TPQ = DP / 32;   // threads per query
  constexpr int SEG = 33;        // floats per 32-dim segment in shared memory
  __shared__ float Ks[AT_BK][TPQ * SEG];
  __shared__ float Vs[AT_BK][TPQ * SEG];
  const int bh = blockIdx.y;
  const int part = threadIdx.x % TPQ;   // which 32 dims this thread owns
  const int qi = blockIdx.x * AT_BQ + threadIdx.x / TPQ;
  const int lane = threadIdx.x & 31;
  const unsigned groupMask = TPQ == 32 ? 0xffffffffu : (((1u << TPQ) - 1u) << (lane & ~(TPQ - 1)));
  const float scale = rsqrtf((float)D);
  float q[32], acc[32];
#pragma unroll
  for (int t = 0; t < 32; t++) {
    int c = part * 32 + t;
    q[t] = (qi < S && c < D) ? ld(Q + ((long long)bh * S + qi) * D + c) * scale : 0.f;
    acc[t] = 0.f;
  }
  float m = NEG_INF, l = 0.f;
  const int kEnd = causal ? min(S, (int)(blockIdx.x + 1) * AT_BQ) : S;
  for (int k0 = 0; k0 < kEnd; k0 += AT_BK) {
    for (int idx = threadIdx.x; idx < AT_BK * DP; idx += blockDim.x) {
      int r = idx / DP, c = idx % DP, kr = k0 + r;
      bool in = kr < S && c < D;
      long long off = ((long long)bh * S + kr) * D + c;
      Ks[r][(c >> 5) * SEG + (c & 31)] = in ? ld(Kt + off) : 0.f;
      Vs[r][(c >> 5) * SEG + (c & 31)] = in ? ld(V + off) : 0.f;
    }
    __syncthreads();
    if (qi < S) {
      const int rEnd = min(AT_BK, (causal ? qi + 1 : S) - k0);
      for (int r = 0; r < rEnd; r++) {
        const float* kr = &Ks[r][part * SEG];
        float dot = 0.f;
#pragma unroll
        for (int t = 0; t < 32; t++) dot = fmaf(q[t], kr[t], dot);
#pragma unroll
        for (int o = TPQ / 2; o > 0; o >>= 1) dot += __shfl_xor_sync(groupMask, dot, o);
        float mn = fmaxf(m, dot), corr = __expf(m - mn), p = __expf(dot - mn);
        l = l * corr + p;
        const float* vr = &Vs[r][part * SEG];
#pragma unroll
        for (int t = 0; t < 32; t++) acc[t] = fmaf(p, vr[t], acc[t] * corr);
        m = mn;
      }
    }
    __syncthreads();
  }
  if (qi < S) {
    float inv = 1.f / l;
#pragma unroll
    for (int t = 0; t < 32; t++) {
      int c = part * 32 + t;
      if (c < D) st(O + ((long long)bh * S + qi) * D + c, acc[t] * inv);
    }
  }
}

#define ATTENTION(T, NAME, DP)                                                                        \
  extern "C" __global__ void __launch_bounds__(AT_BQ*(DP / 32)) NAME(const T* Q, const T* K, const T* V, T* O, int S, int D, \
                                                                      int causal) {                    \
    attentionTile<T, DP>(Q, K, V, O, S, D, causal);                                                   \
  }
ATTENTION(float, attention_f32_d32, 32)
ATTENTION(float, attention_f32_d64, 64)
ATTENTION(float, attention_f32_d128, 128)
ATTENTION(half_t, attention_f16_d32, 32)
ATTENTION(half_t, attention_f16_d64, 64)
ATTENTION(half_t, attention_f16_d128, 128)
