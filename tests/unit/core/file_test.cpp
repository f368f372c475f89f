#include <sys/stat.h>
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

TEST_CASE("read_small_file: refuses FIFOs, devices and directories at once, caps the size",
          "[core][file]") {
  std::string why;
  auto dev = read_small_file("/dev/zero", 1 << 20, &why);
  CHECK(dev.error() == Errc::config_io);
  CHECK(why == "/dev/zero: not a regular file (a character device)");

  const std::string fifo = "/tmp/sluice_file_fifo_" + std::to_string(::getpid());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto f = read_small_file(fifo, 1 << 20, &why);  // must not wait for a writer
  ::unlink(fifo.c_str());
  CHECK(f.error() == Errc::config_io);
  CHECK(why == fifo + ": not a regular file (a FIFO)");

  CHECK(read_small_file("/tmp", 1 << 20, &why).error() == Errc::config_io);
  CHECK(why == "/tmp: not a regular file (a directory)");
  CHECK(read_small_file("/nonexistent/x", 1 << 20, &why).error() == Errc::config_io);
  CHECK(why == "/nonexistent/x: No such file or directory");

  const std::string path = "/tmp/sluice_file_cap_" + std::to_string(::getpid());
  std::ofstream(path, std::ios::binary) << std::string(1000, 'x');
  CHECK(read_small_file(path, 999, &why).error() == Errc::config_io);
  CHECK(why == path + ": larger than 999 bytes");
  auto exact = read_small_file(path, 1000, &why);
  REQUIRE(exact);
  CHECK(exact->size() == 1000);
  std::ofstream(path, std::ios::binary | std::ios::trunc);  // empty is fine
  auto empty = read_small_file(path, 1000, &why);
  REQUIRE(empty);
  CHECK(empty->empty());
  ::unlink(path.c_str());
}
