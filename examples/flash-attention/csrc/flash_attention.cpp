// A CPU stand-in for the project's CUDA kernel library, so the example builds and runs on any
// machine: the exported symbol is what preflight's symbols check looks for.
#include "flash_attention.h"

#include <cmath>
#include <vector>

extern "C" int flash_attention_forward(const float* q, const float* k, const float* v, float* o, int b, int h, int s, int d, int causal) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (int bh = 0; bh < b * h; bh++)
    for (int i = 0; i < s; i++) {
      std::vector<float> acc(d, 0.0f);
      float m = -INFINITY, l = 0.0f;
      for (int j = 0; j < (causal ? i + 1 : s); j++) {
        float dot = 0.0f;
        for (int t = 0; t < d; t++) dot += q[(bh * s + i) * d + t] * k[(bh * s + j) * d + t];
        dot *= scale;
        float mn = std::fmax(m, dot), corr = std::exp(m - mn), p = std::exp(dot - mn);
        l = l * corr + p;
        for (int t = 0; t < d; t++) acc[t] = acc[t] * corr + p * v[(bh * s + j) * d + t];
        m = mn;
      }
      for (int t = 0; t < d; t++) o[(bh * s + i) * d + t] = acc[t] / l;
    }
  return 0;
}
