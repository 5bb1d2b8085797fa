#include "core/thread.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pb {

void name_this_thread(const char* name) noexcept {
    char cut[16];  // the kernel's limit, with the NUL
    std::strncpy(cut, name, sizeof cut - 1);
    cut[sizeof cut - 1] = '\0';
    (void)pthread_setname_np(pthread_self(), cut);  // a courtesy: failing is harmless
}

void lower_this_thread_priority(int steps) noexcept {
    // On Linux PRIO_PROCESS with a thread id sets that one thread's nice.
    const auto tid = static_cast<id_t>(gettid());
    errno = 0;
    const int now = getpriority(PRIO_PROCESS, tid);  // -1 is a valid nice
    if (now == -1 && errno != 0) return;
    (void)setpriority(PRIO_PROCESS, tid, now + steps);  // only ever lowered: no privilege needed
}

}  // namespace pb
