// chunk.cpp: releasing a Chunk when its last reference goes.
#include "core/check.hpp"
#include "core/pool_state.hpp"
#include "sluice/buffer.hpp"

namespace sluice {

void Chunk::release() noexcept {
  switch (kind_) {
    case Kind::pool:
      slab_->pool->put(this);
      return;
    case Kind::heap:
      pool_->put(this);
      return;
    case Kind::foreign: {
      ChunkReleaseFn fn = foreign_.fn;
      void* user = foreign_.user;
      const uint8_t* data = base_;
      size_t len = capacity_;
      delete this;
      if (fn) fn(user, data, len);
      return;
    }
  }
  SLUICE_CHECK(false);
}

}  // namespace sluice
