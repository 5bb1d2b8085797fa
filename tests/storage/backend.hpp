// The storage backends the parameterised suites run on (queue, store and
// locks): each suite is written against the interfaces only, and a backend
// joins by adding itself to backends() with what the suites need to look
// at from outside: its stored bodies, and a way to damage one.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "spool/spool.hpp"
#include "store/store.hpp"

namespace pb::test {

// One fresh, empty state of a backend; destroyed, it leaves nothing.
class BackendEnv {
  public:
    virtual ~BackendEnv() = default;
    virtual Result<std::unique_ptr<store::Store>> open_store(const store::Options& options) = 0;
    // A new spool on the same state each call: another owner, as another
    // process or instance would be.
    virtual Result<std::unique_ptr<spool::Spool>> open_spool() = 0;
    // Whole bodies kept (accepted jobs not yet removed), and put aside.
    virtual std::size_t bodies() = 0;
    virtual std::size_t quarantined() = 0;
    // Cuts the body named `name` short, as a bad disk would.
    virtual void damage(const std::string& name) = 0;
    // Puts the sealed text stored under `from` in place of `to`'s, as
    // someone editing the database would.
    virtual void copy_sealed(const std::string& from, const std::string& to) = 0;
};

struct Backend {
    std::string name;
    std::function<std::unique_ptr<BackendEnv>(const Clock& clock, Random& rng)> make;
};
// Every backend this build has.
std::vector<Backend> backends();

// How gtest shows the parameter (test names and lists): by its name.
inline void PrintTo(const Backend& b, std::ostream* os) {
    *os << b.name;
}
inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
    return info.param.name;
}

}  // namespace pb::test
