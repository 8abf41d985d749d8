// State shared by blocks.cpp and maps.cpp: the record of each thread that
// holds a block, and the one lock behind every slow path.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>

#include "layout.hpp"

namespace tld {

#define TLD_TLS __thread __attribute__((tls_model("initial-exec")))

struct thread_rec {
	pid_t tid = 0;
	tld_data_u *page = nullptr;
	std::uint32_t in_maps = 0;	// bit i: element present in map slot i
	int err = 0;			// last registration error, 0 if none
	// An element of this thread could not be deleted from some map: it may
	// still point at the thread's page, which must then never be reused.
	bool stale = false;
	thread_rec *prev = nullptr;
	thread_rec *next = nullptr;
};

// Protects the page pool, the thread list and the map table.  Held across
// the map updates of one thread or one map, so that a map never misses a
// thread that is starting and never keeps one that has exited.
extern std::mutex g_lock;

// First record of the list of threads holding a block (g_lock held).
thread_rec *threads_head() noexcept;

} // namespace tld
