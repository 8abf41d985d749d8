// Diagnostics: what went wrong with a registration, said once, to the
// program's print function (tld_set_print()) or, with TLD_LOG set in the
// environment, to standard error.  Silent by default.
#pragma once

#include "tld/tld.h"

namespace tld::diag {

// Set the print function; returns the one before.
tld_print_fn set_print(tld_print_fn fn) noexcept;

// Say "libtld: <what>: <why>" once: a message that was said before is not
// said again.  Cheap when nobody listens.
void report(const char *what, const char *why) noexcept;

// What an errno means for a registration ("no such pin", ...).
const char *why_errno(int err) noexcept;

} // namespace tld::diag
