// N-API bindings: info(), run(kernel, device, shape, inputs, output, options) -> milliseconds,
// runSource(...) for users' CUDA kernels, compileCuda(source, arch) -> PTX (NVRTC only, no driver
// needed) and catalogSource().
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
  if (s.smCount) cuda.Set("multiprocessors", s.smCount);
  if (s.clockKHz) cuda.Set("clockKHz", s.clockKHz);
  out.Set("cuda", cuda);
  const NvrtcStatus& n = nvrtcStatus();
  Napi::Object rtc = Napi::Object::New(env);
  rtc.Set("available", n.available);
  if (!n.reason.empty()) rtc.Set("reason", n.reason);
  if (!n.library.empty()) rtc.Set("library", n.library);
  if (n.available) rtc.Set("version", std::to_string(n.major) + "." + std::to_string(n.minor));
  out.Set("nvrtc", rtc);
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
    return fail("run(kernel, device, shape, inputs, output[, {repeats, dtype, flushL2}])");
  std::string kernel = info[0].As<Napi::String>();
  std::string device = info[1].As<Napi::String>();
  Shape s = readShape(info[2].As<Napi::Object>());
  std::vector<const float*> inputs;
  std::vector<size_t> sizes;
  if (!readInputs(info[3].As<Napi::Array>(), &inputs, &sizes)) return fail("inputs must be Float32Arrays");
  if (info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) return fail("output must be a Float32Array");
  Napi::Float32Array out = info[4].As<Napi::Float32Array>();
  int repeats = 1;
  bool f16 = false, flushL2 = false;
  if (info.Length() > 5 && info[5].IsObject()) {
    Napi::Object o = info[5].As<Napi::Object>();
    if (o.Get("repeats").IsNumber()) repeats = o.Get("repeats").As<Napi::Number>().Int32Value();
    f16 = o.Get("dtype").IsString() && o.Get("dtype").As<Napi::String>().Utf8Value() == "f16";
    flushL2 = o.Get("flushL2").ToBoolean();
  }
  auto need = [&](size_t n) { return inputs.size() >= n; };

  if (device == "cuda") {
    double ms = 0;
    std::string error;
    if (!cudaRun(kernel, f16, s, inputs.data(), sizes.data(), (int)inputs.size(), out.Data(), out.ElementLength(), repeats, flushL2, &ms,
                 &error))
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

// compileCuda(source, arch[, name]) -> { ptx, log }; throws with NVRTC's log when it does not compile.
static Napi::Value CompileCuda(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    Napi::TypeError::New(env, "compileCuda(source, arch[, name])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string name = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "kernel.cu";
  std::string ptx, log, error;
  if (!nvrtcCompile(info[0].As<Napi::String>(), name.c_str(), info[1].As<Napi::String>(), false, &ptx, &log, &error)) {
    Napi::Error::New(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("ptx", ptx.c_str());
  out.Set("log", log);
  return out;
}

// toHalfBits(Float32Array) -> Uint16Array, the host conversion the CUDA f16 path uses.
static Napi::Value ToHalfBits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    Napi::TypeError::New(env, "toHalfBits(Float32Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Float32Array in = info[0].As<Napi::Float32Array>();
  Napi::Uint16Array out = Napi::Uint16Array::New(env, in.ElementLength());
  for (size_t i = 0; i < in.ElementLength(); i++) out[i] = floatToHalf(in[i]);
  return out;
}

static Napi::Value CatalogSource(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), catalogSource()); }

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("compileCuda", Napi::Function::New(env, CompileCuda));
  exports.Set("catalogSource", Napi::Function::New(env, CatalogSource));
  exports.Set("toHalfBits", Napi::Function::New(env, ToHalfBits));
  exports.Set("runSource", Napi::Function::New(env, RunSource));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("run", Napi::Function::New(env, Run));
  return exports;
}

NODE_API_MODULE(gpuci_kernels, Init)
