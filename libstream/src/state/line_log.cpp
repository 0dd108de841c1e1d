#include "sluice/state/line_log.hpp"

#include <fmt/format.h>

#include <string_view>

#include "lmdb_env.hpp"

namespace sluice::state {

namespace {

std::string seq_key(uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8)
    k[static_cast<size_t>(i)] = static_cast<char>(seq & 0xff);
  return k;
}

result<uint64_t> key_seq(std::string_view k, const std::string& dir) {
  if (k.size() != 8)
    return error{errc::corrupt_log,
                 fmt::format("line log {}: a key of {} bytes, not 8", dir, k.size())};
  uint64_t seq = 0;
  for (char c : k)
    seq = (seq << 8) | static_cast<unsigned char>(c);
  return seq;
}

}  // namespace

struct line_log::impl {
  std::string dir;
  std::unique_ptr<lmdb::env> env;
  MDB_dbi lines = 0;

  /// Last sequence number, in transaction `t`.
  result<uint64_t> last(MDB_txn* t) const {
    lmdb::cursor c;
    if (int rc = c.open(t, lines))
      return env->failure("mdb_cursor_open", rc);
    MDB_val k{}, v{};
    const int rc = c.get(k, v, MDB_LAST);
    if (rc == MDB_NOTFOUND)
      return uint64_t{0};
    if (rc)
      return env->failure("mdb_cursor_get (last)", rc);
    return key_seq(lmdb::from_val(k), dir);
  }
};

line_log::line_log(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

line_log::~line_log() = default;

result<std::shared_ptr<line_log>> line_log::open(std::string dir, size_t map_size) {
  if (map_size == 0)
    return error{errc::invalid_argument,
                 fmt::format("line log {}: map size must be positive", dir)};
  auto canonical = lmdb::canonical_directory(dir, true, "line log");
  if (!canonical)
    return std::move(canonical).error();
  return lmdb::registry::open_once<line_log>(
      *canonical, "line log", [&]() -> result<std::unique_ptr<line_log>> {
        auto e = lmdb::env::open(*canonical, map_size, {"lines"});
        if (!e)
          return std::move(e).error();
        auto p = std::make_unique<impl>();
        p->dir = std::move(dir);
        p->env = std::move(e).value();
        p->lines = p->env->dbi(0);
        return std::unique_ptr<line_log>{new line_log(std::move(p))};
      });
}

const std::string& line_log::dir() const noexcept {
  return impl_->dir;
}

result<uint64_t> line_log::append(const std::vector<std::string>& lines) {
  size_t bytes = 0;
  for (auto& l : lines)
    bytes += l.size() + 8 + 16;
  return impl_->env->write(
      [&](lmdb::write_txn& w) -> result<uint64_t> {
        auto last = impl_->last(w.txn);
        if (!last)
          return last;
        uint64_t seq = *last;
        for (auto& l : lines) {
          std::string k = seq_key(++seq);
          MDB_val kv = lmdb::to_val(k), vv = lmdb::to_val(l);
          if (int rc = mdb_put(w.txn, impl_->lines, &kv, &vv, MDB_APPEND))
            return impl_->env->fail(w, fmt::format("mdb_put (line {})", seq), rc);
        }
        return seq;
      },
      bytes);
}

result<size_t> line_log::read(uint64_t from_seq, size_t max, std::vector<std::string>& out) {
  if (from_seq == 0)
    from_seq = 1;
  return impl_->env->read([&](MDB_txn* t) -> result<size_t> {
    lmdb::cursor c;
    if (int rc = c.open(t, impl_->lines))
      return impl_->env->failure("mdb_cursor_open", rc);
    std::string start = seq_key(from_seq);
    MDB_val k = lmdb::to_val(start), v{};
    size_t n = 0;
    uint64_t expect = from_seq;
    for (int rc = c.get(k, v, MDB_SET_RANGE); n < max; rc = c.get(k, v, MDB_NEXT)) {
      if (rc == MDB_NOTFOUND)
        break;
      if (rc)
        return impl_->env->failure("mdb_cursor_get", rc);
      auto seq = key_seq(lmdb::from_val(k), impl_->dir);
      if (!seq)
        return std::move(seq).error();
      if (*seq != expect)
        return error{errc::corrupt_log, fmt::format("line log {}: expected line {}, found line {}",
                                                    impl_->dir, expect, *seq)};
      out.emplace_back(lmdb::from_val(v));
      ++expect;
      ++n;
    }
    return n;
  });
}

result<uint64_t> line_log::size() {
  return impl_->env->read([&](MDB_txn* t) { return impl_->last(t); });
}

}  // namespace sluice::state
