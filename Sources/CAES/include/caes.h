#pragma once
/* Placeholder: the garbled-circuit work fills this shim with fixed-key AES (AES-NI). */
int caes_has_aesni(void);
