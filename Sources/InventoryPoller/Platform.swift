// The program is built and tested on Linux only (Debian 12): it calls Glibc directly for
// `write`, `flock`, signals and `rename`, and links libcurl and libmongoc from the system.
// Say so at compile time rather than let another platform fail somewhere obscure.
#if !os(Linux)
#error("inventory-poller supports Linux only (it calls Glibc directly); see README, Platforms")
#endif
