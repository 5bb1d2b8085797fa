// Local names (root, lp, www-data) as the aliases file maps them: the
// /etc/aliases format that sendmail, Postfix and msmtp read (aliases(5)).
//
//   # comment
//   postmaster: root
//   root: admin@example.com, ops@example.com
//   lp:   root
//        , printing@example.com        (a line starting with white space
//                                        continues the one before)
//
// Names are case-insensitive. A value is an address (with '@'), another
// name (expanded in turn), or one of the forms postbridge does not deliver
// to: "|command", "/file" and ":include:" (refused, with the line). No file
// I/O here: the caller reads the file (setting `aliases`).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace pb::intake {

class Aliases {
  public:
    // Every entry it could read; what it could not is in problems(), one
    // line each ("line 7: ...").
    static Aliases parse(std::string_view text);

    // The addresses `recipient` stands for: itself when it has an '@', else
    // its alias expanded until only addresses are left. 652 for a name with
    // no alias, a loop, or a value postbridge cannot deliver to.
    Result<std::vector<std::string>> expand(std::string_view recipient) const;

    std::size_t size() const { return entries_.size(); }
    const std::vector<std::string>& problems() const { return problems_; }

  private:
    Result<void> expand_into(std::string_view name, int depth, std::vector<std::string>& out) const;

    std::map<std::string, std::vector<std::string>, std::less<>> entries_;  // lower-case name
    std::vector<std::string> problems_;
};

}  // namespace pb::intake
