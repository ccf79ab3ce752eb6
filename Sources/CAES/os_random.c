/* The operating system's CSPRNG: getrandom(2) on Linux (retrying on EINTR and short reads), getentropy(2)
   elsewhere (at most 256 bytes per call). */
#include "caes.h"
#include <errno.h>
#if defined(__linux__)
#include <sys/random.h>
#else
#include <unistd.h>
#include <sys/random.h>
#endif

int caes_os_random(void *buffer, size_t length) {
    uint8_t *p = buffer;
    while (length > 0) {
#if defined(__linux__)
        ssize_t got = getrandom(p, length, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
#else
        size_t got = length < 256 ? length : 256;
        if (getentropy(p, got) != 0) return -1;
#endif
        p += got;
        length -= (size_t)got;
    }
    return 0;
}
