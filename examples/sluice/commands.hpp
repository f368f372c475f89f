// commands.hpp: the sluice program's subcommands.
#pragma once

#include <string>

namespace sluice::cli {

int cmd_run(const std::string& config_path);
int cmd_check(const std::string& config_path);
int cmd_demo(int argc, char** argv);
int cmd_generate(int argc, char** argv);

}  // namespace sluice::cli
