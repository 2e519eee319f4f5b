// CloudInventory is built and tested on Linux only (Debian 12): the spool and the file
// writes call Glibc directly (`write`, `flock`, `rename`, `memchr`), and it
// links libmongoc from the system. Its files therefore say `import Glibc`
// without a Darwin branch; another platform stops here, at compile time, with one clear line.
#if !os(Linux)
#error("CloudInventory supports Linux only (it calls Glibc directly); see README, Platforms")
#endif
