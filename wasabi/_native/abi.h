/* Name/value tables exported to Python (see abi.c). */
#ifndef WASABI_ABI_H
#define WASABI_ABI_H

#include <stdint.h>

typedef struct wrt_abi_value {
    const char* name;
    uint64_t value;
} wrt_abi_value;

typedef struct wrt_builtin_entry {
    const char* name;
    void* address;
} wrt_builtin_entry;

extern const wrt_abi_value wrt_abi_layout[];
extern const wrt_abi_value wrt_abi_traps[];
extern const wrt_builtin_entry wrt_builtin_table[];

#endif
