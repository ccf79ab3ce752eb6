#include "caes.h"
int caes_has_aesni(void) { return __builtin_cpu_supports("aes"); }
