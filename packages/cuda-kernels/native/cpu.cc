// CPU kernels: multi-threaded, cache-blocked. The matmul packs panels of A and B and runs a
// 6x16 register-blocked micro-kernel written with GCC vector extensions, which the compiler
// turns into AVX2/FMA (or whatever -march=native offers) without intrinsics.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "kernels.h"

namespace gpuci {

int cpuThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

// Run body(i) for i in [0, count) over the CPU's threads, chunked dynamically.
static void parallelFor(int64_t count, const std::function<void(int64_t)>& body) {
  int threads = std::min<int64_t>(cpuThreads(), count);
  if (threads <= 1) {
    for (int64_t i = 0; i < count; i++) body(i);
    return;
  }
  std::atomic<int64_t> next{0};
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int t = 0; t < threads; t++)
    pool.emplace_back([&] {
      for (int64_t i; (i = next.fetch_add(1)) < count;) body(i);
    });
  for (auto& th : pool) th.join();
}

void cpuVectorAdd(const float* a, const float* b, float* c, int64_t n) {
  const int64_t chunk = 1 << 16;
  parallelFor((n + chunk - 1) / chunk, [&](int64_t t) {
    int64_t end = std::min(n, (t + 1) * chunk);
    for (int64_t i = t * chunk; i < end; i++) c[i] = a[i] + b[i];
  });
}

typedef float v8 __attribute__((vector_size(32)));
constexpr int MR = 6, NR = 16;          // micro-tile of C held in registers
constexpr int64_t KC = 256, MC = 96, NC = 2048;  // cache blocks: A panel in L2, B panel in L3

static inline v8 load8(const float* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
static inline void store8(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }

// C[MR x NR] += Apack[kc x MR] * Bpack[kc x NR]
static void microKernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int mr, int nr) {
  v8 acc[MR][2] = {};
  for (int64_t p = 0; p < kc; p++) {
    v8 b0 = load8(bp + p * NR), b1 = load8(bp + p * NR + 8);
    for (int i = 0; i < MR; i++) {
      v8 a = {ap[p * MR + i], ap[p * MR + i], ap[p * MR + i], ap[p * MR + i],
              ap[p * MR + i], ap[p * MR + i], ap[p * MR + i], ap[p * MR + i]};
      acc[i][0] += a * b0;
      acc[i][1] += a * b1;
    }
  }
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; i++) {
      store8(c + i * ldc, load8(c + i * ldc) + acc[i][0]);
      store8(c + i * ldc + 8, load8(c + i * ldc + 8) + acc[i][1]);
    }
    return;
  }
  float tmp[MR][NR];
  for (int i = 0; i < MR; i++) {
    store8(tmp[i], acc[i][0]);
    store8(tmp[i] + 8, acc[i][1]);
  }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) c[i * ldc + j] += tmp[i][j];
}

void cpuMatmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k) {
  std::fill(c, c + m * n, 0.0f);
  for (int64_t jc = 0; jc < n; jc += NC) {
    int64_t nc = std::min(NC, n - jc);
    int64_t nPanels = (nc + NR - 1) / NR;
    for (int64_t pc = 0; pc < k; pc += KC) {
      int64_t kc = std::min(KC, k - pc);
      // Pack B[pc:pc+kc, jc:jc+nc] into NR-wide panels (zero-padded), shared by all threads.
      std::vector<float> bpack(static_cast<size_t>(nPanels * kc * NR), 0.0f);
      parallelFor(nPanels, [&](int64_t jp) {
        float* dst = bpack.data() + jp * kc * NR;
        int64_t j0 = jc + jp * NR, nr = std::min<int64_t>(NR, jc + nc - j0);
        for (int64_t p = 0; p < kc; p++) {
          const float* src = b + (pc + p) * n + j0;
          for (int64_t j = 0; j < nr; j++) dst[p * NR + j] = src[j];
        }
      });
      int64_t mBlocks = (m + MC - 1) / MC;
      parallelFor(mBlocks, [&](int64_t ib) {
        int64_t ic = ib * MC, mc = std::min(MC, m - ic);
        std::vector<float> apack(static_cast<size_t>(((mc + MR - 1) / MR) * MR * kc), 0.0f);
        for (int64_t ir = 0; ir < mc; ir += MR) {
          float* dst = apack.data() + (ir / MR) * MR * kc;
          int64_t mr = std::min<int64_t>(MR, mc - ir);
          for (int64_t p = 0; p < kc; p++)
            for (int64_t i = 0; i < mr; i++) dst[p * MR + i] = a[(ic + ir + i) * k + pc + p];
        }
        for (int64_t jp = 0; jp < nPanels; jp++) {
          int64_t j0 = jc + jp * NR, nr = std::min<int64_t>(NR, jc + nc - j0);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            microKernel(kc, apack.data() + (ir / MR) * MR * kc, bpack.data() + jp * kc * NR, c + (ic + ir) * n + j0, n, mr,
                        static_cast<int>(nr));
          }
        }
      });
    }
  }
}

void cpuSoftmax(const float* x, float* y, int64_t rows, int64_t cols) {
  parallelFor(rows, [&](int64_t r) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    float mx = -INFINITY;
    for (int64_t j = 0; j < cols; j++) mx = std::max(mx, in[j]);
    double sum = 0;
    for (int64_t j = 0; j < cols; j++) {
      float e = std::exp(in[j] - mx);
      out[j] = e;
      sum += e;
    }
    float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < cols; j++) out[j] *= inv;
  });
}

void cpuLayernorm(const float* x, const float* w, const float* bias, float* y, int64_t rows, int64_t cols, float eps) {
  parallelFor(rows, [&](int64_t r) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < cols; j++) mean += in[j];
    mean /= cols;
    for (int64_t j = 0; j < cols; j++) var += (in[j] - mean) * (in[j] - mean);
    var /= cols;
    float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    for (int64_t j = 0; j < cols; j++) out[j] = static_cast<float>((in[j] - mean) * inv) * w[j] + bias[j];
  });
}

// Flash-style attention on the CPU: one query row at a time with an online softmax, so no
// S x S matrix is ever held.
void cpuAttention(const float* q, const float* k, const float* v, float* o, const Shape& s) {
  const int64_t S = s.s, D = s.d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  parallelFor(s.b * s.h * S, [&](int64_t row) {
    int64_t bh = row / S, i = row % S;
    const float* qi = q + (bh * S + i) * D;
    const float* kb = k + bh * S * D;
    const float* vb = v + bh * S * D;
    float* oi = o + (bh * S + i) * D;
    std::vector<float> acc(static_cast<size_t>(D), 0.0f);
    float mx = -INFINITY, denom = 0.0f;
    int64_t last = s.causal ? i + 1 : S;
    for (int64_t j = 0; j < last; j++) {
      float dot = 0.0f;
      for (int64_t t = 0; t < D; t++) dot += qi[t] * kb[j * D + t];
      dot *= scale;
      float newMax = std::max(mx, dot);
      float correction = std::exp(mx - newMax);
      float p = std::exp(dot - newMax);
      denom = denom * correction + p;
      for (int64_t t = 0; t < D; t++) acc[t] = acc[t] * correction + p * vb[j * D + t];
      mx = newMax;
    }
    for (int64_t t = 0; t < D; t++) oi[t] = acc[t] / denom;
  });
}

}  // namespace gpuci
