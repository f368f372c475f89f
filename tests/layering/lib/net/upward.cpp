// An upward include: lib/net may not use lib/session.
#include "session/relay.hpp"
#include "net/ok.hpp"
