// Downward includes are fine.
#include "net/ok.hpp"
#include "proto/ok.hpp"
