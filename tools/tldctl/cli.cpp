// tldctl: options, usage texts and usage errors of the subcommands.
#include <getopt.h>

#include <cstring>
#include <string>
#include <vector>

#include "tldctl.hpp"

namespace tldctl {

std::string usage_text(const command &c)
{
	return std::string("usage: tldctl ") + c.synopsis + "\n\n" + c.details;
}

int usage_error(const command &c, const std::string &message)
{
	std::fprintf(stderr, "tldctl %s: %s\n%s", c.name, message.c_str(), usage_text(c).c_str());
	return exit_usage;
}

namespace {

const option *find_val(const std::vector<option> &options, int val)
{
	for (const auto &o : options)
		if (o.name && o.val == val)
			return &o;
	return nullptr;
}

// How an option is named in messages: its long form when it has one.
std::string spelled(const std::vector<option> &options, int val)
{
	if (const option *o = find_val(options, val))
		return std::string("--") + o->name;
	return std::string("-") + static_cast<char>(val);
}

} // namespace

int parse_options(const command &c, int argc, char **argv, const std::vector<option> &options,
		  const std::function<std::string(int val, const char *arg)> &take)
{
	std::vector<option> all(options);
	all.push_back({"help", no_argument, nullptr, 'h'});
	// '-': arguments that are not options come back as val 1, in place;
	// ':': a missing value is ':' rather than '?'.
	std::string shorts = "-:";
	for (const auto &o : all) {
		if (o.val > 0 && o.val < 128) {
			shorts += static_cast<char>(o.val);
			if (o.has_arg == required_argument)
				shorts += ':';
		}
	}
	all.push_back({nullptr, 0, nullptr, 0});

	opterr = 0;	// tldctl says what is wrong itself
	optind = 0;	// start over (GNU)
	for (;;) {
		int v = getopt_long(argc, argv, shorts.c_str(), all.data(), nullptr);
		if (v == -1)
			break;
		switch (v) {
		case 'h':
			std::fputs(usage_text(c).c_str(), stdout);
			return exit_ok;
		case 1:
			return usage_error(c, std::string("unexpected argument '") + optarg + "'");
		case ':':
			return usage_error(c, "option " + spelled(all, optopt) + " needs a value");
		case '?': {
			// A known option without a value given one (--json=yes), an
			// unknown long option (optopt 0) or an unknown short one.
			const option *o = optopt ? find_val(all, optopt) : nullptr;
			if (o && o->has_arg == no_argument)
				return usage_error(c, "option --" + std::string(o->name) +
							      " takes no value");
			if (optopt)
				return usage_error(c, std::string("unknown option '-") +
							      static_cast<char>(optopt) + "'");
			return usage_error(c, std::string("unknown option '") + argv[optind - 1] + "'");
		}
		default: {
			std::string problem = take(v, optarg);
			if (!problem.empty())
				return usage_error(c, problem);
		}
		}
	}
	return -1;
}

} // namespace tldctl
