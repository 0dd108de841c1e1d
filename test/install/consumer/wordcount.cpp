// README's first job, built against an installed Sluice: counts the words of
// book.txt (split at whitespace) and writes one `word,count` row per word to
// counts.csv. test/install/install_test.sh runs it and compares the rows.
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>

#include "sluice/run.hpp"

int main(int argc, char** argv) {
  sluice::pipeline p{"wordcount"};
  p.read_text("book.txt")  // one record per line
      .flat_map<std::pair<std::string, uint64_t>>([](const std::string& line, auto& out) {
        std::istringstream words{line};
        for (std::string w; words >> w;)
          out.emit({w, 1});
      })
      .key_by([](const auto& wc) { return wc.first; })  // equal words meet in one instance
      .reduce(
          [](auto a, const auto& b) {
            return std::pair{a.first, a.second + b.second};
          },
          sluice::emit_policy::at_end())  // one final count per word
      .write_csv("counts.csv");
  return sluice::run(p, argc, argv);  // --parallelism, --state-dir, --checkpoint-ms, ...
}
