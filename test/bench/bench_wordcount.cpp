// Benchmark `wordcount`: events/10 generated lines of 10 words, split into
// (word, 1), keyed by word and reduced to a running count that is emitted once
// per word at end of input (emit_policy::at_end()); the sink counts distinct
// words. Baseline: the same lines built and split in one loop, counted in an
// unordered_map<string, uint64_t>.
//
//   bench_wordcount [--events N] [--case wordcount_p2] [--repeat R] ...
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "bench_common.hpp"

namespace {

using word_count = std::pair<std::string, uint64_t>;

constexpr uint64_t words_per_line = 10;

/// Line l: words w<mix64(l*10+j) % 10000> for j < 10, separated by spaces.
std::string make_line(uint64_t l) {
  std::string s;
  s.reserve(words_per_line * 6);
  for (uint64_t j = 0; j < words_per_line; ++j) {
    if (j)
      s += ' ';
    s += 'w';
    s += std::to_string(bench::mix64(l * words_per_line + j) % 10000);
  }
  return s;
}

/// Calls `f(std::string_view word)` for each space-separated word.
template <class F>
void split(std::string_view line, F&& f) {
  size_t pos = 0;
  while (pos < line.size()) {
    size_t sp = line.find(' ', pos);
    if (sp == std::string_view::npos)
      sp = line.size();
    if (sp > pos)
      f(line.substr(pos, sp - pos));
    pos = sp + 1;
  }
}

/// Hand-written equivalent. Results: distinct words; checksum: total count.
bench::outcome baseline(uint64_t lines) {
  std::unordered_map<std::string, uint64_t> counts;
  for (uint64_t l = 0; l < lines; ++l) {
    const std::string line = make_line(l);
    split(line, [&](std::string_view w) { ++counts[std::string{w}]; });
  }
  bench::outcome out;
  for (auto& [w, c] : counts) {
    ++out.results;
    out.checksum += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bench::runner r{argc, argv};
  const uint64_t lines = r.opt().events / words_per_line;
  r.run(
      "wordcount", lines * words_per_line, [lines] { return baseline(lines); },
      [lines](sluice::pipeline& p, std::shared_ptr<bench::totals> t) {
        auto counts =
            p.generate(lines, [](uint64_t l) { return make_line(l); })
                .name("lines")
                .flat_map<word_count>([](const std::string& line,
                                         sluice::collector<word_count>& out) {
                  split(line, [&](std::string_view w) { out.emit(word_count{std::string{w}, 1}); });
                })
                .name("split")
                .key_by([](const word_count& wc) { return wc.first; })
                .reduce(
                    [](word_count acc, word_count x) {
                      acc.second += x.second;
                      return acc;
                    },
                    sluice::emit_policy::at_end())
                .name("count");
        bench::count_into(counts, t, [](const word_count& wc) {
          return wc.second;
        }).name("distinct");
      });
  return r.finish(argv[0]);
}
