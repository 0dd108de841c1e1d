#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/ops/stateless.hpp"
#include "sluice/plan.hpp"
#include "sluice/sink/sinks.hpp"
#include "sluice/source/collection.hpp"
#include "sluice/source/generator.hpp"
#include "sluice/source/text_file.hpp"

namespace sluice {

template <class T>
class stream;

/// Builds a dataflow: sources, transformations and sinks, recorded as a
/// `plan`. Not thread-safe; build the pipeline, then hand it to `sluice::run`.
///
///     sluice::pipeline p{"wordcount"};
///     p.read_text("in.txt").flat_map<std::string>(split).key_by(...)...
class pipeline {
public:
  explicit pipeline(std::string job_name = "job") { plan_.job_name = std::move(job_name); }

  /// Record i is `f(i)` for i < count (deterministic, replayable).
  template <class F>
  auto generate(uint64_t count, F f) {
    using T = std::decay_t<std::invoke_result_t<F&, uint64_t>>;
    return add_source<T>("generator",
                         [count, f] { return std::make_unique<generator_source<T, F>>(count, f); });
  }

  /// Emits the given elements.
  template <class T>
  stream<T> from_collection(std::vector<T> items) {
    auto shared = std::make_shared<const std::vector<T>>(std::move(items));
    return add_source<T>("collection",
                         [shared] { return std::make_unique<collection_source<T>>(shared); });
  }

  /// Each line of a text file as a string.
  stream<std::string> read_text(std::string path);

  /// Each line of a text file parsed with `parse(std::string_view)`, which
  /// returns a `T`, or a `parsed<T>` to reject a line; rejected lines (and
  /// lines whose parse throws) become dead letters.
  template <class Parse>
  auto read_text(std::string path, Parse parse, text_file_options opts = {}) {
    using R = detail::parse_result<Parse, std::string_view>;
    static_assert(R::invocable, "read_text: parse must be callable as parse(std::string_view)");
    static_assert(R::returns_value,
                  "read_text: parse must return T, or sluice::parsed<T> to reject a line "
                  "(parsed<T>::fail(reason)); it returns void");
    if constexpr (R::valid)
      return add_file_source<typename R::type>(std::move(path), std::move(parse), opts);
  }

  /// Each row of a CSV file (header skipped by default) parsed with
  /// `parse(const csv_row&)`, which returns a `T`, or a `parsed<T>` to reject
  /// a row; rejected rows (and rows whose parse throws) become dead letters.
  template <class Parse>
  auto read_csv(std::string path, Parse parse, text_file_options opts = {true, ','}) {
    using R = detail::parse_result<Parse, const csv_row&>;
    static_assert(R::invocable,
                  "read_csv: parse must be callable as parse(const sluice::csv_row&)");
    static_assert(R::returns_value,
                  "read_csv: parse must return T, or sluice::parsed<T> to reject a row "
                  "(parsed<T>::fail(reason)); it returns void");
    if constexpr (R::valid)
      return add_file_source<typename R::type>(std::move(path), std::move(parse), opts);
  }

  /// Lines received on 127.0.0.1:`port` (0: ephemeral; `bound_port`, if
  /// given, receives the port bound), made replayable by the log in
  /// `log_dir`, parsed like `read_text`. A line "__END__" ends the stream.
  /// Parallelism 1. Optional further arguments: a
  /// `std::shared_ptr<std::atomic<uint16_t>>` for the bound port, then
  /// `tcp_lines_options`.
  template <class Parse, class... Options>
  auto read_tcp_lines(std::string log_dir, uint16_t port, Parse parse, Options&&... options) {
    // Found by argument-dependent lookup in sluice/source/tcp_lines.hpp (include it).
    return add_tcp_line_source(*this, std::move(log_dir), port, std::move(parse),
                               std::forward<Options>(options)...);
  }

  /// Adds a source operator of the user's own (a `typed_source<T>` subclass).
  template <class T, class Make>
  stream<T> add_source(std::string kind, Make make);

  /// Default parallelism for operators that do not set their own (0 = the
  /// runtime's `--parallelism`).
  void set_default_parallelism(uint32_t p) { default_parallelism_ = p; }
  void set_max_parallelism(uint32_t m) { plan_.max_parallelism = m; }

  const sluice::plan& plan() const noexcept { return plan_; }
  sluice::plan& plan() noexcept { return plan_; }

  /// Adds a node; used by the typed API and by runtime extensions.
  plan_node& add_node(std::string kind, std::function<std::unique_ptr<operator_base>()> make,
                      uint32_t num_ports) {
    plan_node n;
    n.id = static_cast<uint32_t>(plan_.nodes.size());
    n.kind = kind;
    n.name = kind;
    n.parallelism = default_parallelism_;
    n.make = std::move(make);
    n.num_ports = num_ports;
    plan_.nodes.push_back(std::move(n));
    return plan_.nodes.back();
  }

  void add_edge(uint32_t from, uint32_t port, uint32_t to, uint32_t input, partitioning kind,
                partitioner_factory factory, batch_codec codec = {}) {
    plan_.edges.push_back(
        plan_edge{from, port, to, input, kind, std::move(factory), std::move(codec)});
  }

private:
  template <class T, class Parse>
  stream<T> add_file_source(std::string path, Parse parse, text_file_options opts);

  sluice::plan plan_;
  uint32_t default_parallelism_ = 0;
};

}  // namespace sluice

#include "sluice/stream.hpp"
