#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/result.hpp"
#include "sluice/source/line_endpoint.hpp"
#include "sluice/source/parse.hpp"
#include "sluice/source/typed_source.hpp"

/// A replayable TCP line source. A TCP socket cannot be replayed, so what it
/// receives is first appended to a durable log (`state::line_log`, its own
/// LMDB environment) and only then acknowledged to the sender; the source
/// reads the log, and its checkpointed read position is a log sequence
/// number. After a failure the job re-reads from the log whatever it had not
/// checkpointed: every acknowledged line is delivered exactly once into
/// checkpointed state. The socket server is not here (libstream knows no
/// network): the runtime installs it as the `source::line_receiver` of the
/// process (see `line_endpoint.hpp`).
namespace sluice {

/// Options of `tcp_line_source`.
struct tcp_lines_options {
  /// A line equal to it ends the stream.
  std::string end_marker = "__END__";
  /// Longest accepted line.
  size_t max_line = source::line_receiver::default_max_line;
};

/// Reads lines received over TCP (through the log in `log_dir`) and turns
/// each into a record with `parse(std::string_view line) -> parsed<T>`; a line
/// that fails to parse (or throws a std::exception) becomes a dead letter at
/// position "tcp:<seq>". Runs at parallelism 1: instances other than 0 end at
/// once. The end marker is logged like any line (so a replay ends too);
/// lines logged after it are kept but never read. Its checkpointed position is the sequence number
/// of the last line read; a restore re-reads the log from there.
template <class T, class Parse>
class tcp_line_source final : public typed_source<T> {
public:
  tcp_line_source(std::string log_dir, uint16_t port, Parse parse,
                  std::shared_ptr<std::atomic<uint16_t>> bound_port = nullptr,
                  tcp_lines_options opts = {})
      : dir_(std::move(log_dir)),
        port_(port),
        parse_(std::move(parse)),
        bound_port_(std::move(bound_port)),
        opts_(std::move(opts)) {}

  void open(operator_context& ctx) override {
    typed_source<T>::open(ctx);
    active_ = ctx.instance() == 0;
    if (!active_)
      return;
    auto ep = source::acquire_line_endpoint(dir_, port_, opts_.max_line);
    if (!ep)
      throw std::runtime_error("tcp source: " + to_string(ep.error()));
    endpoint_ = std::move(ep).value();
    if (bound_port_)
      bound_port_->store(endpoint_.receiver->port());
  }

  poll_status poll(size_t max_records) override {
    if (!active_ || ended_)
      return poll_status::end;
    batch_.clear();
    auto n = endpoint_.log->read(seq_ + 1, std::max<size_t>(max_records, 1), batch_);
    if (!n)
      throw std::runtime_error("tcp source: " + to_string(n.error()));
    if (batch_.empty())
      return poll_status::idle;
    for (auto& line : batch_) {
      const uint64_t seq = ++seq_;
      if (line == opts_.end_marker) {
        ended_ = true;
        source::release_line_endpoint(dir_);
        return poll_status::end;
      }
      handle(seq, line);
    }
    return poll_status::more;
  }

  /// Sequence number of the last line read.
  uint64_t position() const noexcept { return seq_; }

protected:
  void snapshot_position(state::writer& w) override { state::encode(w, seq_); }
  void restore_position(state::reader& r) override {
    state::decode(r, seq_);
    ended_ = false;
    if (!active_)
      return;
    auto size = endpoint_.log->size();
    if (!size)
      throw std::runtime_error("tcp source: " + to_string(size.error()));
    if (size.value() < seq_)
      throw std::runtime_error("tcp source: the checkpoint position is line " +
                               std::to_string(seq_) + " but the log in '" + dir_ + "' holds only " +
                               std::to_string(size.value()) + " lines");
  }

private:
  void handle(uint64_t seq, std::string& line) {
    this->emit_or_reject([&]() -> parsed<T> { return std::invoke(parse_, std::string_view{line}); },
                         [seq] { return "tcp:" + std::to_string(seq); }, line);
  }

  std::string dir_;
  uint16_t port_;
  Parse parse_;
  std::shared_ptr<std::atomic<uint16_t>> bound_port_;
  tcp_lines_options opts_;
  source::line_endpoint endpoint_;
  std::vector<std::string> batch_;
  uint64_t seq_ = 0;
  bool active_ = false;
  bool ended_ = false;
};

}  // namespace sluice

#include "sluice/pipeline.hpp"

namespace sluice {

/// The source behind `pipeline::read_tcp_lines` (which calls it).
template <class Parse>
auto add_tcp_line_source(pipeline& p, std::string log_dir, uint16_t port, Parse parse,
                         std::shared_ptr<std::atomic<uint16_t>> bound_port = nullptr,
                         tcp_lines_options opts = {}) {
  using R = detail::parse_result<Parse, std::string_view>;
  static_assert(R::invocable, "read_tcp_lines: parse must be callable as parse(std::string_view)");
  static_assert(R::returns_value,
                "read_tcp_lines: parse must return T, or sluice::parsed<T> to reject a line "
                "(parsed<T>::fail(reason)); it returns void");
  using T = typename R::type;
  auto s =
      p.add_source<T>("tcp_source", [log_dir = std::move(log_dir), port, parse = std::move(parse),
                                     bound_port = std::move(bound_port), opts = std::move(opts)] {
        return std::make_unique<tcp_line_source<T, Parse>>(log_dir, port, parse, bound_port, opts);
      });
  s.parallelism(1);
  return s;
}

}  // namespace sluice
