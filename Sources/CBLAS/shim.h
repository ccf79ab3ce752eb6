#include <cblas.h>
/* OpenBLAS threading control: Sibyl owns the parallelism (see PLATFORM.md), so it usually sets 1. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
