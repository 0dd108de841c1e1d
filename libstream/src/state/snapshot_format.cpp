#include "snapshot_format.hpp"

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <string>

namespace sluice::state::format {

namespace {

constexpr uint64_t p1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t p2 = 0xC2B2AE3D27D4EB4Full;
constexpr uint64_t p3 = 0x165667B19E3779F9ull;
constexpr uint64_t p4 = 0x85EBCA77C2B2AE63ull;
constexpr uint64_t p5 = 0x27D4EB2F165667C5ull;

/// Little-endian load, whatever the host (memcpy is what compilers turn
/// into a single load; the byte loop they often do not).
template <class U>
U load_le(const unsigned char* p) {
  U x = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&x, p, sizeof x);
  } else {
    for (size_t i = 0; i < sizeof(U); ++i)
      x |= static_cast<U>(p[i]) << (8 * i);
  }
  return x;
}

constexpr uint64_t xxh_round(uint64_t acc, uint64_t input) {
  acc += input * p2;
  acc = std::rotl(acc, 31);
  return acc * p1;
}

constexpr uint64_t xxh_merge(uint64_t acc, uint64_t v) {
  acc ^= xxh_round(0, v);
  return acc * p1 + p4;
}

void put_be(std::string& out, uint64_t x, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

void put_be(char* out, uint64_t x, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out[i] = static_cast<char>((x >> (8 * (bytes - 1 - i))) & 0xFF);
}

uint64_t get_be(const char* p, int bytes) {
  uint64_t x = 0;
  for (int i = 0; i < bytes; ++i)
    x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

uint64_t frame_checksum(uint8_t version, uint64_t length, std::string_view key,
                        std::string_view payload) {
  std::string head;
  head.reserve(9 + key.size());
  head.push_back(static_cast<char>(version));
  put_be(head, length, 8);
  head.append(key);
  const uint64_t seed = xxh64(head.data(), head.size(), 0);
  return xxh64(payload.data(), payload.size(), seed);
}

/// Bounds-checked reader of a meta payload.
class reader {
public:
  explicit reader(std::string_view s) : s_(s) {}
  bool u(uint64_t& x, int bytes) {
    if (s_.size() < static_cast<size_t>(bytes))
      return false;
    x = get_be(s_.data(), bytes);
    s_.remove_prefix(bytes);
    return true;
  }
  bool str(std::string& x) {
    uint64_t n = 0;
    if (!u(n, 4) || s_.size() < n)
      return false;
    x.assign(s_.substr(0, n));
    s_.remove_prefix(n);
    return true;
  }
  bool done() const { return s_.empty(); }

private:
  std::string_view s_;
};

void put_str(std::string& out, std::string_view s) {
  put_be(out, s.size(), 4);
  out.append(s);
}

}  // namespace

uint64_t xxh64(const void* data, size_t size, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  const unsigned char* const end = p + size;
  uint64_t h;
  if (size >= 32) {
    uint64_t v1 = seed + p1 + p2;
    uint64_t v2 = seed + p2;
    uint64_t v3 = seed;
    uint64_t v4 = seed - p1;
    for (const unsigned char* limit = end - 32; p <= limit; p += 32) {
      v1 = xxh_round(v1, load_le<uint64_t>(p));
      v2 = xxh_round(v2, load_le<uint64_t>(p + 8));
      v3 = xxh_round(v3, load_le<uint64_t>(p + 16));
      v4 = xxh_round(v4, load_le<uint64_t>(p + 24));
    }
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = xxh_merge(h, v1);
    h = xxh_merge(h, v2);
    h = xxh_merge(h, v3);
    h = xxh_merge(h, v4);
  } else {
    h = seed + p5;
  }
  h += static_cast<uint64_t>(size);
  for (; end - p >= 8; p += 8) {
    h ^= xxh_round(0, load_le<uint64_t>(p));
    h = std::rotl(h, 27) * p1 + p4;
  }
  if (end - p >= 4) {
    h ^= static_cast<uint64_t>(load_le<uint32_t>(p)) * p1;
    h = std::rotl(h, 23) * p2 + p3;
    p += 4;
  }
  for (; p < end; ++p) {
    h ^= static_cast<uint64_t>(*p) * p5;
    h = std::rotl(h, 11) * p1;
  }
  h ^= h >> 33;
  h *= p2;
  h ^= h >> 29;
  h *= p3;
  h ^= h >> 32;
  return h;
}

void write_frame(char* out, std::string_view lmdb_key, std::string_view payload) {
  out[0] = static_cast<char>(current_version);
  put_be(out + 1, payload.size(), 8);
  put_be(out + 9, frame_checksum(current_version, payload.size(), lmdb_key, payload), 8);
  if (!payload.empty())
    std::memcpy(out + frame_header_size, payload.data(), payload.size());
}

result<std::string_view> read_frame(std::string_view lmdb_key, std::string_view value) {
  if (value.empty())
    return error{errc::corrupt_snapshot, "empty value (truncated frame)"};
  const auto version = static_cast<uint8_t>(value[0]);
  if (version != current_version)
    return error{errc::unknown_format_version,
                 fmt::format("frame format version {}, this build reads version {}", version,
                             current_version)};
  if (value.size() < frame_header_size)
    return error{errc::corrupt_snapshot, fmt::format("truncated frame: {} bytes, the header has {}",
                                                     value.size(), frame_header_size)};
  const uint64_t length = get_be(value.data() + 1, 8);
  const uint64_t stored = get_be(value.data() + 9, 8);
  const std::string_view payload = value.substr(frame_header_size);
  if (length != payload.size())
    return error{
        errc::corrupt_snapshot,
        fmt::format("truncated or malformed frame: header says {} payload bytes, {} stored", length,
                    payload.size())};
  const uint64_t computed = frame_checksum(version, length, lmdb_key, payload);
  if (computed != stored)
    return error{
        errc::corrupt_snapshot,
        fmt::format("checksum mismatch: stored {:#018x}, computed {:#018x}", stored, computed)};
  return payload;
}

std::string checkpoint_prefix(checkpoint_id id) {
  std::string k;
  put_be(k, id.value, 8);
  return k;
}

std::string operator_prefix(checkpoint_id id, std::string_view operator_uid) {
  std::string k = checkpoint_prefix(id);
  k.append(operator_uid);
  k.push_back('\0');
  return k;
}

std::string data_key(checkpoint_id id, const snapshot_key& key) {
  std::string k = operator_prefix(id, key.operator_uid);
  put_be(k, key.instance.value, 4);
  put_be(k, key.group.value, 4);
  return k;
}

std::optional<checkpoint_id> parse_checkpoint_prefix(std::string_view key) {
  if (key.size() < 8)
    return std::nullopt;
  return checkpoint_id{get_be(key.data(), 8)};
}

std::optional<std::pair<checkpoint_id, snapshot_key>> parse_data_key(std::string_view key) {
  // id (8) + uid + NUL (1) + instance (4) + key group (4)
  if (key.size() < 17 || key[key.size() - 9] != '\0')
    return std::nullopt;
  const std::string_view uid = key.substr(8, key.size() - 17);
  if (uid.find('\0') != std::string_view::npos)
    return std::nullopt;
  snapshot_key k;
  k.operator_uid.assign(uid);
  k.instance = instance_index{static_cast<uint32_t>(get_be(key.data() + key.size() - 8, 4))};
  k.group = key_group{static_cast<uint32_t>(get_be(key.data() + key.size() - 4, 4))};
  return std::pair{checkpoint_id{get_be(key.data(), 8)}, std::move(k)};
}

std::string meta_key(checkpoint_id id) {
  return checkpoint_prefix(id);
}

std::string encode_meta(const checkpoint_meta& m) {
  std::string out;
  put_be(out, m.id.value, 8);
  out.push_back(m.savepoint ? 1 : 0);
  put_be(out, static_cast<uint64_t>(m.completed_at_ms), 8);
  put_str(out, m.job_name);
  put_be(out, m.operator_parallelism.size(), 4);
  for (const auto& [uid, parallelism] : m.operator_parallelism) {
    put_str(out, uid);
    put_be(out, parallelism, 4);
  }
  return out;
}

result<checkpoint_meta> decode_meta(std::string_view payload) {
  reader r{payload};
  checkpoint_meta m;
  uint64_t id = 0, savepoint = 0, at = 0, count = 0;
  if (!r.u(id, 8) || !r.u(savepoint, 1) || savepoint > 1 || !r.u(at, 8) || !r.str(m.job_name) ||
      !r.u(count, 4))
    return error{errc::corrupt_snapshot, "malformed checkpoint metadata header"};
  m.id = checkpoint_id{id};
  m.savepoint = savepoint == 1;
  m.completed_at_ms = static_cast<int64_t>(at);
  // Each operator takes at least 8 bytes: do not trust `count` for reserve().
  if (count > payload.size() / 8)
    return error{errc::corrupt_snapshot, fmt::format("implausible operator count {}", count)};
  m.operator_parallelism.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::string uid;
    uint64_t parallelism = 0;
    if (!r.str(uid) || !r.u(parallelism, 4))
      return error{errc::corrupt_snapshot, "malformed operator list in checkpoint metadata"};
    m.operator_parallelism.emplace_back(std::move(uid), static_cast<uint32_t>(parallelism));
  }
  if (!r.done())
    return error{errc::corrupt_snapshot, "trailing bytes after checkpoint metadata"};
  return m;
}

std::string describe(const snapshot_key& k) {
  if (k.is_operator_state())
    return fmt::format("operator \"{}\" instance {} operator state", k.operator_uid,
                       k.instance.value);
  if (k.is_broadcast_state())
    return fmt::format("operator \"{}\" broadcast state", k.operator_uid);
  return fmt::format("operator \"{}\" instance {} key group {}", k.operator_uid, k.instance.value,
                     k.group.value);
}

}  // namespace sluice::state::format
