#include "sluice/state/line_log.hpp"

#include <fmt/format.h>

#include <algorithm>
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
  MDB_dbi senders = 0;  ///< sender id -> 8-byte big-endian high-water mark

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

  /// The high-water mark of `sender`, in transaction `t`.
  result<uint64_t> mark(MDB_txn* t, std::string_view sender) const {
    MDB_val k = lmdb::to_val(sender), v{};
    const int rc = mdb_get(t, senders, &k, &v);
    if (rc == MDB_NOTFOUND)
      return uint64_t{0};
    if (rc)
      return env->failure("mdb_get (sender mark)", rc);
    return key_seq(lmdb::from_val(v), dir);
  }

  /// Appends `lines[from..]` after the last line, in write transaction `w`.
  result<uint64_t> put_lines(lmdb::write_txn& w, const std::vector<std::string>& lines,
                             size_t from) {
    auto l = last(w.txn);
    if (!l)
      return l;
    uint64_t seq = *l;
    for (size_t i = from; i < lines.size(); ++i) {
      std::string k = seq_key(++seq);
      MDB_val kv = lmdb::to_val(k), vv = lmdb::to_val(lines[i]);
      if (int rc = mdb_put(w.txn, this->lines, &kv, &vv, MDB_APPEND))
        return env->fail(w, fmt::format("mdb_put (line {})", seq), rc);
    }
    return seq;
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
        auto e = lmdb::env::open(*canonical, map_size, {"lines", "senders"});
        if (!e)
          return std::move(e).error();
        auto p = std::make_unique<impl>();
        p->dir = std::move(dir);
        p->env = std::move(e).value();
        p->lines = p->env->dbi(0);
        p->senders = p->env->dbi(1);
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
  return impl_->env->write([&](lmdb::write_txn& w) { return impl_->put_lines(w, lines, 0); },
                           bytes);
}

result<line_log::sender_append> line_log::append(std::string_view sender, uint64_t first,
                                                 const std::vector<std::string>& lines) {
  if (sender.empty() || first == 0)
    return error{
        errc::invalid_argument,
        fmt::format("line log {}: a sender needs a name and line numbers from 1", impl_->dir)};
  size_t bytes = sender.size() + 32;
  for (auto& l : lines)
    bytes += l.size() + 8 + 16;
  return impl_->env->write(
      [&](lmdb::write_txn& w) -> result<sender_append> {
        auto mark = impl_->mark(w.txn, sender);
        if (!mark)
          return std::move(mark).error();
        sender_append r;
        r.mark = *mark;
        // Lines first .. mark are in the log already.
        const uint64_t have = *mark >= first ? *mark - first + 1 : 0;
        r.dropped = std::min<uint64_t>(have, lines.size());
        if (r.dropped == lines.size())
          return r;
        auto put = impl_->put_lines(w, lines, static_cast<size_t>(r.dropped));
        if (!put)
          return std::move(put).error();
        r.appended = lines.size() - r.dropped;
        r.mark = first + lines.size() - 1;
        std::string v = seq_key(r.mark);
        MDB_val kv = lmdb::to_val(sender), vv = lmdb::to_val(v);
        if (int rc = mdb_put(w.txn, impl_->senders, &kv, &vv, 0))
          return impl_->env->fail(w, "mdb_put (sender mark)", rc);
        return r;
      },
      bytes);
}

result<uint64_t> line_log::sender_mark(std::string_view sender) {
  return impl_->env->read([&](MDB_txn* t) { return impl_->mark(t, sender); });
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
