// An upward include: lib/net may not use lib/session.
#include "net/ok.hpp"
#include "session/relay.hpp"
