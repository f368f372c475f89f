// sha3.cpp: the four FIPS 202 instances, instantiated once for the library.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/pq/sha3.hpp"

namespace sluice::pq {

static_assert(Sha3_256::kBlockSize == 136 && Sha3_512::kBlockSize == 72,
              "FIPS 202 §6.1: r = 1600 - 2d");
static_assert(Shake128::kRate == 168 && Shake256::kRate == 136, "FIPS 202 §6.2: r = 1600 - 2s");

template class Sha3<256>;
template class Sha3<512>;
template class Shake<128>;
template class Shake<256>;

}  // namespace sluice::pq
