// The figures measured in this process: stores, threads and system calls,
// and the verifier's instruction counts.
#pragma once

#include "common.hpp"

namespace bench {

void measure_stores(samples &s);
void measure_threads(samples &s);
void measure_verifier(samples &s);

} // namespace bench
