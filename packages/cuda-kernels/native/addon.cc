// N-API bindings: info() and run(kernel, device, shape, inputs, output, repeats) -> milliseconds.
#include <napi.h>

#include <chrono>
#include <string>
#include <vector>

#include "kernels.h"

using namespace gpuci;

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("cpuThreads", cpuThreads());
  const CudaStatus& s = cudaStatus();
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("available", s.available);
  if (!s.reason.empty()) cuda.Set("reason", s.reason);
  if (!s.device.empty()) cuda.Set("device", s.device);
  if (s.driverVersion) cuda.Set("driverVersion", s.driverVersion);
  if (s.ccMajor) cuda.Set("computeCapability", std::to_string(s.ccMajor) + "." + std::to_string(s.ccMinor));
  out.Set("cuda", cuda);
  return out;
}

static int64_t num(const Napi::Object& o, const char* key, int64_t fallback = 0) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int64Value() : fallback;
}

static Shape readShape(const Napi::Object& so) {
  Shape s;
  s.m = num(so, "m"); s.n = num(so, "n"); s.k = num(so, "k");
  s.b = num(so, "b"); s.h = num(so, "h"); s.s = num(so, "s"); s.d = num(so, "d");
  s.causal = so.Get("causal").ToBoolean();
  if (so.Get("eps").IsNumber()) s.eps = so.Get("eps").As<Napi::Number>().FloatValue();
  return s;
}

// Float32Array inputs; false when any is not one.
static bool readInputs(const Napi::Array& arr, std::vector<const float*>* inputs, std::vector<size_t>* sizes) {
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) return false;
    Napi::Float32Array f = v.As<Napi::Float32Array>();
    inputs->push_back(f.Data());
    sizes->push_back(f.ElementLength());
  }
  return true;
}

static Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto fail = [&](const std::string& m) {
    Napi::Error::New(env, m).ThrowAsJavaScriptException();
    return env.Undefined();
  };
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsString() || !info[2].IsObject() || !info[3].IsArray() || !info[4].IsTypedArray())
    return fail("run(kernel, device, shape, inputs, output[, repeats])");
  std::string kernel = info[0].As<Napi::String>();
  std::string device = info[1].As<Napi::String>();
  Shape s = readShape(info[2].As<Napi::Object>());
  std::vector<const float*> inputs;
  std::vector<size_t> sizes;
  if (!readInputs(info[3].As<Napi::Array>(), &inputs, &sizes)) return fail("inputs must be Float32Arrays");
  if (info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) return fail("output must be a Float32Array");
  Napi::Float32Array out = info[4].As<Napi::Float32Array>();
  int repeats = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Int32Value() : 1;
  auto need = [&](size_t n) { return inputs.size() >= n; };

  if (device == "cuda") {
    double ms = 0;
    std::string error;
    if (!cudaRun(kernel, s, inputs.data(), sizes.data(), (int)inputs.size(), out.Data(), out.ElementLength(), repeats, &ms, &error))
      return fail(error);
    return Napi::Number::New(env, ms);
  }
  if (device != "cpu") return fail("device must be cpu or cuda");
  auto t0 = std::chrono::steady_clock::now();
  if (kernel == "vector_add" && need(2)) cpuVectorAdd(inputs[0], inputs[1], out.Data(), s.m);
  else if (kernel == "matmul" && need(2)) cpuMatmul(inputs[0], inputs[1], out.Data(), s.m, s.n, s.k);
  else if (kernel == "softmax" && need(1)) cpuSoftmax(inputs[0], out.Data(), s.m, s.n);
  else if (kernel == "layernorm" && need(3)) cpuLayernorm(inputs[0], inputs[1], inputs[2], out.Data(), s.m, s.n, s.eps);
  else if (kernel == "attention" && need(3)) cpuAttention(inputs[0], inputs[1], inputs[2], out.Data(), s);
  else return fail("unknown kernel or missing inputs: " + kernel);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return Napi::Number::New(env, ms);
}

// runSource(source, fn, grid[3], block[3], shape, inputs, output) -> milliseconds (CUDA only).
static Napi::Value RunSource(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto fail = [&](const std::string& m) {
    Napi::Error::New(env, m).ThrowAsJavaScriptException();
    return env.Undefined();
  };
  if (info.Length() < 7 || !info[0].IsString() || !info[1].IsString() || !info[2].IsArray() || !info[3].IsArray() || !info[4].IsObject() ||
      !info[5].IsArray() || !info[6].IsTypedArray())
    return fail("runSource(source, fn, grid, block, shape, inputs, output)");
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  for (uint32_t i = 0; i < 3; i++) {
    Napi::Value g = info[2].As<Napi::Array>().Get(i), b = info[3].As<Napi::Array>().Get(i);
    if (g.IsNumber()) grid[i] = g.As<Napi::Number>().Uint32Value();
    if (b.IsNumber()) block[i] = b.As<Napi::Number>().Uint32Value();
  }
  Shape s = readShape(info[4].As<Napi::Object>());
  std::vector<const float*> inputs;
  std::vector<size_t> sizes;
  if (!readInputs(info[5].As<Napi::Array>(), &inputs, &sizes)) return fail("inputs must be Float32Arrays");
  Napi::Float32Array out = info[6].As<Napi::Float32Array>();
  double ms = 0;
  std::string error;
  if (!cudaRunSource(info[0].As<Napi::String>(), info[1].As<Napi::String>(), grid, block, s, inputs.data(), sizes.data(), (int)inputs.size(),
                     out.Data(), out.ElementLength(), &ms, &error))
    return fail(error);
  return Napi::Number::New(env, ms);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("runSource", Napi::Function::New(env, RunSource));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("run", Napi::Function::New(env, Run));
  return exports;
}

NODE_API_MODULE(gpuci_kernels, Init)
