/*
 * OpenBLAS's kernel choice, fitted to the CPU (see include/ckernels.h, ckernels_fit_openblas_core).
 *
 * A DYNAMIC_ARCH OpenBLAS picks its kernels once, when it loads, from the CPU model it knows. A model newer than
 * the library (Debian's 0.3.21 and the 5th-generation Xeons of this project's VMs, model 207) falls back to the
 * generic "Prescott" kernels (SSE3), a third of the AVX-512 kernels' rate. The library exports its own selector
 * (gotoblas_dynamic_quit / gotoblas_dynamic_init, which read OPENBLAS_CORETYPE as at load), so the choice can be
 * made again from the CPU's features before the first BLAS call. The symbols are looked up at run time: an
 * OpenBLAS without them (or another BLAS) is left as it is.
 */
#define _GNU_SOURCE
#include "ckernels.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* Vector class of an OpenBLAS x86 core name: 3 AVX-512, 2 AVX2 + FMA, 1 AVX, 0 older or unknown. */
static int core_class(const char *name) {
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", 0};
    static const char *const avx2[] = {"Haswell", "Zen", "Excavator", 0};
    static const char *const avx[] = {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller", 0};
    const char *const *lists[3] = {avx, avx2, avx512};
    for (int k = 2; k >= 0; k--)
        for (const char *const *n = lists[k]; *n; n++)
            if (strcasecmp(name, *n) == 0) return k + 1;
    return 0;
}

#if defined(__x86_64__)
/* The OpenBLAS core for this CPU's features (its class follows core_class), or NULL. */
static const char *core_for_cpu(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl"))
        return __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    if (__builtin_cpu_supports("avx")) return "Sandybridge";
    return NULL;
}
#else
static const char *core_for_cpu(void) { return NULL; }
#endif

int ckernels_openblas_core_class(const char *name) { return name ? core_class(name) : 0; }

/* OpenBLAS's selector, looked up at run time: all three, or none (not a DYNAMIC_ARCH OpenBLAS). */
typedef struct {
    char *(*corename)(void);
    void (*quit)(void);
    void (*init)(void);
} selector;

static int find_selector(selector *s) {
    s->corename = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
    s->quit = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
    s->init = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
    return s->corename && s->quit && s->init;
}

int ckernels_openblas_selectable(void) {
    selector s;
    return find_selector(&s);
}

const char *ckernels_fit_openblas_core(void) {
    const char *forced = getenv("OPENBLAS_CORETYPE");
    if (forced && *forced) return NULL;  /* the user's choice stands */
    selector s;
    const char *want = core_for_cpu();
    if (!find_selector(&s) || !want) return NULL;
    const char *have = s.corename();
    if (!have || core_class(have) >= core_class(want)) return NULL;
    setenv("OPENBLAS_CORETYPE", want, 1);
    s.quit();
    s.init();
    unsetenv("OPENBLAS_CORETYPE");  /* child processes choose for themselves */
    return s.corename();
}
