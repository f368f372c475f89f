// fuzz/standalone_main.cpp: runs a libFuzzer target without libFuzzer, over
// every file in the directories (or the files) given on the command line, so
// the kept corpus is a regression test in every normal build.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool run_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot read %s\n", p.c_str());
    return false;
  }
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // A copy of exactly |size| bytes, so ASan builds catch reads past the end.
  std::vector<uint8_t> exact(data);
  LLVMFuzzerTestOneInput(exact.empty() ? nullptr : exact.data(), exact.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  size_t ran = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(arg, ec)) {
        if (!e.is_regular_file()) continue;
        ok = run_file(e.path()) && ok;
        ++ran;
      }
      if (ec) {
        std::fprintf(stderr, "cannot list %s\n", argv[i]);
        ok = false;
      }
    } else {
      ok = run_file(arg) && ok;
      ++ran;
    }
  }
  // An empty input is always a case worth running.
  LLVMFuzzerTestOneInput(nullptr, 0);
  std::printf("ran %zu inputs\n", ran);
  return ok && ran > 0 ? 0 : 1;
}
