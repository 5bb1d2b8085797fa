// postbridge's own threads: names as `top -H`, `ps -L` and profilers show
// them.
#pragma once

namespace pb {

// Names the calling thread (at most 15 characters are kept). Only for
// threads postbridge started: naming a program's main thread would rename
// the process.
void name_this_thread(const char* name) noexcept;

}  // namespace pb
