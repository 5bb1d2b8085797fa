// postbridge's own threads: names as `top -H`, `ps -L` and profilers show
// them, and a lower priority for the ones that keep the books.
#pragma once

namespace pb {

// Names the calling thread (at most 15 characters are kept). Only for
// threads postbridge started: naming a program's main thread would rename
// the process.
void name_this_thread(const char* name) noexcept;

// Lowers the calling thread's priority by `steps` nice levels (Linux
// schedules each thread on its own). For threads that keep the books beside
// one whose latency is the throughput: on a machine with few cores they take
// the time it leaves, not its core. Threads started from here inherit it.
void lower_this_thread_priority(int steps) noexcept;

}  // namespace pb
