// libtld loaded with dlopen() and closed again while a thread that used it
// is still running: the thread's exit must not call into unmapped code.
#include <dlfcn.h>
#include <tld/tld.h>

#include <catch2/catch_test_macros.hpp>
#include <cstdlib>
#include <thread>

TEST_CASE("a thread that used libtld exits safely after dlclose of the library")
{
	const char *path = std::getenv("LIBTLD");
	REQUIRE(path != nullptr);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	REQUIRE(h != nullptr);
	auto create = reinterpret_cast<tld_key_t (*)(const char *, size_t)>(dlsym(h, "tld_create_key"));
	auto data = reinterpret_cast<void *(*)(tld_key_t)>(dlsym(h, "tld_data"));
	REQUIRE(create != nullptr);
	REQUIRE(data != nullptr);
	tld_key_t k = create("dlclose.value", 8);
	REQUIRE(k.off >= 0);
	bool got = false;
	std::thread t([&] {
		auto *p = static_cast<long *>(data(k));
		got = p != nullptr;
		if (p)
			*p = 1;
		// The thread exits after the library was closed: libtld's thread
		// exit handler runs then.
		std::this_thread::sleep_for(std::chrono::milliseconds(200));
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	CHECK(dlclose(h) == 0);
	t.join();
	CHECK(got);
}
