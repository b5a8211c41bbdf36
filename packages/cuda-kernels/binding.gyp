{
  "targets": [
    {
      "target_name": "gpuci_kernels",
      "sources": ["native/addon.cc", "native/cpu.cc", "native/cuda.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-ffp-contract=fast", "-fno-exceptions"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
