/* The operating system's CSPRNG through getrandom(2) (Linux >= 3.17), retrying on EINTR and short reads. */
#include "caes.h"
#include <errno.h>
#include <sys/random.h>

int caes_os_random(void *buffer, size_t length) {
    uint8_t *p = buffer;
    while (length > 0) {
        ssize_t got = getrandom(p, length, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += got;
        length -= (size_t)got;
    }
    return 0;
}
