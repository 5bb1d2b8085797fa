#include "core/thread.hpp"

#include <pthread.h>

#include <cstring>

namespace pb {

void name_this_thread(const char* name) noexcept {
    char cut[16];  // the kernel's limit, with the NUL
    std::strncpy(cut, name, sizeof cut - 1);
    cut[sizeof cut - 1] = '\0';
    (void)pthread_setname_np(pthread_self(), cut);  // a courtesy: failing is harmless
}

}  // namespace pb
