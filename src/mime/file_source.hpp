// Moved to core/file_source.hpp (pb::FileSource). This forwarding header
// keeps old includes and mime::FileSource working; include the core one.
#pragma once

#include "core/file_source.hpp"

namespace pb::mime {
using pb::FileSource;
}  // namespace pb::mime
