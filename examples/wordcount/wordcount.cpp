// Word count: reads a text file, splits lines into lower-case words, counts
// each word and writes `word,count` rows once the input ends.
//
//   wordcount --input book.txt --output counts.csv [--parallelism 4]
#include <CLI/CLI.hpp>

#include <cctype>
#include <string>
#include <utility>

#include "sluice/run.hpp"

int main(int argc, char** argv) {
  std::string input, output = "wordcount.csv";
  sluice::runtime_config cfg;
  CLI::App app{"Counts the words of a text file with Sluice"};
  app.add_option("--input", input, "text file to read")->required();
  app.add_option("--output", output, "CSV file to write (word,count)");
  sluice::add_runtime_options(app, cfg);
  CLI11_PARSE(app, argc, argv);

  sluice::pipeline p{"wordcount"};
  p.read_text(input)
      .name("read")
      .flat_map<std::pair<std::string, uint64_t>>([](const std::string& line, auto& out) {
        std::string word;
        for (char c : line + ' ') {
          if (std::isalnum(static_cast<unsigned char>(c))) {
            word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          } else if (!word.empty()) {
            out.emit({std::move(word), 1});
            word.clear();
          }
        }
      })
      .name("split")
      .key_by([](const auto& wc) { return wc.first; })
      .reduce(
          [](auto acc, const auto& x) {
            return std::pair{std::move(acc.first), acc.second + x.second};
          },
          sluice::emit_policy::at_end())
      .name("count")
      .write_csv(output)
      .name("write");
  return sluice::run(p, cfg);
}
