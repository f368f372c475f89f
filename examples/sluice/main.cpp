// main.cpp: the sluice command-line program.
//
//   sluice run -c config.json     run the inbounds and outbounds until SIGINT/SIGTERM
//   sluice check -c config.json   validate a configuration
//   sluice demo                   every protocol, client and server, on 127.0.0.1
//   sluice version
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.hpp"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: sluice <command> [options]\n"
               "  run -c FILE     run the configuration until SIGINT/SIGTERM\n"
               "  check -c FILE   validate the configuration and exit\n"
               "  demo [--json] [--seconds N]\n"
               "                  client and server of each protocol on 127.0.0.1,\n"
               "                  real traffic through each, a table of results\n"
               "  generate tls-keypair NAME -o DIR | ech-keypair PUBLIC_NAME\n"
               "                  write a CA, a certificate for NAME and its key to DIR\n"
               "                  and print the pins, or print an ECH config/key pair\n"
               "  version         print the version\n");
}

std::string config_arg(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    if ((std::strcmp(argv[i], "-c") == 0 || std::strcmp(argv[i], "--config") == 0) && i + 1 < argc)
      return argv[i + 1];
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "run" || cmd == "check") {
    const std::string path = config_arg(argc, argv);
    if (path.empty()) {
      std::fprintf(stderr, "sluice %s: missing -c FILE\n", cmd.c_str());
      return 2;
    }
    return cmd == "run" ? sluice::cli::cmd_run(path) : sluice::cli::cmd_check(path);
  }
  if (cmd == "demo") return sluice::cli::cmd_demo(argc - 1, argv + 1);
  if (cmd == "generate") return sluice::cli::cmd_generate(argc - 1, argv + 1);
  if (cmd == "version" || cmd == "--version") {
    std::printf("sluice %s\n", SLUICE_VERSION_STRING);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "sluice: unknown command '%s'\n", cmd.c_str());
  usage(stderr);
  return 2;
}
