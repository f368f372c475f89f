#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "core/file.hpp"

using namespace sluice;

TEST_CASE("read_file: whole contents, binary-safe; false for a missing path or a directory",
          "[core][file]") {
  const std::string path = "/tmp/sluice_file_test_" + std::to_string(::getpid());
  std::string data(70000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  std::ofstream(path, std::ios::binary) << data;
  std::string out = "old";
  CHECK(read_file(path, &out));
  CHECK(out == data);
  ::unlink(path.c_str());
  CHECK_FALSE(read_file(path, &out));
  CHECK_FALSE(read_file("/tmp", &out));
}
