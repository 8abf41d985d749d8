// A C++ program that knows libtld only through pkg-config.
#include <cstdio>
#include <tld/tld.hpp>

TLD_KEY(int, value, "consumer.cpp.value");

int main()
{
	if (!value)
		return 1;
	{
		tld::scoped<int> s(value, 42);
		std::printf("%d\n", *value.get());
	}
	return *value.get() == 0 ? 0 : 1;
}
