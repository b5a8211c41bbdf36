// The project's CUDA attention kernel, written to gpuci's CUDA kernel contract so `gpuci kernels`
// can check it against the float64 reference and time it on a GPU runner, and compile it with
// NVRTC on a CPU runner: inputs (q, k, v) in catalog order, then the output, then the sizes.
// One thread per query row with an online softmax (flash style: no S x S matrix). head dim <= 128.
extern "C" __global__ void flash_attention_forward(const float* q, const float* k, const float* v, float* o, int m, int n,
                                                   int kdim, int b, int h, int s, int d, int causal, float eps) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;  // query row
  const int bh = blockIdx.y;                              // batch * heads
  if (i >= s || d > 128) return;
  const float* qi = q + ((long long)bh * s + i) * d;
  float acc[128];
  for (int t = 0; t < d; t++) acc[t] = 0.f;
  float mx = -3.402823466e38f, l = 0.f;
  const float scale = rsqrtf((float)d);
  const int last = causal ? i + 1 : s;
  for (int j = 0; j < last; j++) {
    const float* kj = k + ((long long)bh * s + j) * d;
    const float* vj = v + ((long long)bh * s + j) * d;
    float dot = 0.f;
    for (int t = 0; t < d; t++) dot += qi[t] * kj[t];
    dot *= scale;
    const float mn = fmaxf(mx, dot), corr = __expf(mx - mn), p = __expf(dot - mn);
    l = l * corr + p;
    for (int t = 0; t < d; t++) acc[t] = acc[t] * corr + p * vj[t];
    mx = mn;
  }
  float* oi = o + ((long long)bh * s + i) * d;
  for (int t = 0; t < d; t++) oi[t] = acc[t] / l;
}
