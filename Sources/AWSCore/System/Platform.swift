// AWSCore is built and tested on Linux only (Debian 12): the HTTP client, the child processes
// and the byte readers call Glibc directly (`write`, `posix_spawn`, `memchr`), and it links
// libcurl from the system. Its files therefore say `import Glibc` without a Darwin branch;
// another platform stops here, at compile time, with one clear line.
#if !os(Linux)
#error("AWSCore supports Linux only (it calls Glibc directly); see README, Platforms")
#endif

import Glibc

/// The C library's message for an `errno` value, for the one-line errors of file and
/// process calls. `strerror` returns a string that is copied here at once.
package func errnoDescription(_ code: Int32 = errno) -> String {
    unsafe String(cString: strerror(code))
}
