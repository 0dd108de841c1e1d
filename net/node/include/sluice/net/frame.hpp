#pragma once

// Plain C++ mirror of the frames in net/schema/sluice.capnp: what the runtime
// builds and consumes, free of Cap'n Proto types. Conversion to and from the
// wire form lives in net/src/convert.cpp and validates everything it reads.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "sluice/net/control.hpp"
#include "sluice/net/protocol_error.hpp"

namespace sluice::net {

/// Addresses one task instance, or a node's supervisor (`node_vertex`).
struct task_ref {
  static constexpr uint32_t node_vertex = 0xFFFFFFFF;
  uint32_t vertex = 0;
  uint32_t instance = 0;
  friend bool operator==(const task_ref&, const task_ref&) = default;
};

/// Counters of one operator instance (mirrors actors::operator_metrics).
struct operator_metrics_msg {
  std::string name;
  uint32_t node = 0;
  uint32_t instance = 0;
  uint64_t records_in = 0;
  uint64_t records_out = 0;
  uint64_t dead_letters = 0;
  uint64_t unconsumed = 0;
  uint64_t backpressure_events = 0;
  friend bool operator==(const operator_metrics_msg&, const operator_metrics_msg&) = default;
};

/// Why a task failed (mirrors actors::task_failure).
struct task_failure_msg {
  std::string operator_name;
  uint32_t instance = 0;
  std::string position;
  std::string cause;
  uint16_t code = 0;  ///< actors::errc (net does not interpret it).
  friend bool operator==(const task_failure_msg&, const task_failure_msg&) = default;
};

/// A rejected input record (mirrors sluice::dead_letter).
struct dead_letter_msg {
  std::string operator_name;
  uint32_t instance = 0;
  std::string position;
  std::string reason;
  std::string raw;
  friend bool operator==(const dead_letter_msg&, const dead_letter_msg&) = default;
};

/// One snapshotted piece of state of one operator instance.
struct snapshot_entry_msg {
  std::string operator_uid;
  uint32_t instance = 0;
  uint32_t key_group = 0;
  bool operator_state = false;  ///< Operator state (true) or keyed state of key_group (false).
  std::string value;
  friend bool operator==(const snapshot_entry_msg&, const snapshot_entry_msg&) = default;
};

// -- frame bodies: one per CAF message of the data and control path ----------

/// `count` records serialised with the record type's codec.
struct batch_body {
  uint32_t channel = 0;
  uint32_t count = 0;
  std::string data;
  friend bool operator==(const batch_body&, const batch_body&) = default;
};
struct watermark_body {
  uint32_t channel = 0;
  int64_t ms = 0;
  bool idle = false;
  friend bool operator==(const watermark_body&, const watermark_body&) = default;
};
struct eos_body {
  uint32_t channel = 0;
  friend bool operator==(const eos_body&, const eos_body&) = default;
};
struct barrier_body {
  uint32_t channel = 0;
  uint64_t checkpoint = 0;
  friend bool operator==(const barrier_body&, const barrier_body&) = default;
};
/// Flows upstream: `n` more batches may be sent to `target` of output `gate`.
struct credit_body {
  uint32_t gate = 0;
  uint32_t target = 0;
  uint32_t n = 0;
  friend bool operator==(const credit_body&, const credit_body&) = default;
};
struct start_body {
  friend bool operator==(const start_body&, const start_body&) = default;
};
struct trigger_body {
  uint64_t checkpoint = 0;
  friend bool operator==(const trigger_body&, const trigger_body&) = default;
};
struct complete_body {
  uint64_t checkpoint = 0;
  friend bool operator==(const complete_body&, const complete_body&) = default;
};
struct stop_body {
  std::string reason;
  friend bool operator==(const stop_body&, const stop_body&) = default;
};
struct done_body {
  std::vector<operator_metrics_msg> metrics;
  friend bool operator==(const done_body&, const done_body&) = default;
};
struct failed_body {
  task_failure_msg failure;
  friend bool operator==(const failed_body&, const failed_body&) = default;
};
struct dead_letters_body {
  std::vector<dead_letter_msg> letters;
  uint64_t epoch = 0;  ///< the checkpoint the sending task last snapshotted
  friend bool operator==(const dead_letters_body&, const dead_letters_body&) = default;
};
struct ack_body {
  uint64_t checkpoint = 0;
  uint64_t bytes = 0;
  int64_t sync_ms = 0;
  int64_t async_ms = 0;
  int64_t align_ms = 0;
  friend bool operator==(const ack_body&, const ack_body&) = default;
};
struct decline_body {
  uint64_t checkpoint = 0;
  std::string reason;
  friend bool operator==(const decline_body&, const decline_body&) = default;
};
struct committed_body {
  uint64_t checkpoint = 0;
  friend bool operator==(const committed_body&, const committed_body&) = default;
};

/// A latency marker a source emitted at wall-clock `marked_us` (µs since the epoch).
struct latency_body {
  uint32_t channel = 0;
  int64_t marked_us = 0;
  friend bool operator==(const latency_body&, const latency_body&) = default;
};

using frame_body =
    std::variant<batch_body, watermark_body, eos_body, barrier_body, credit_body, start_body,
                 trigger_body, complete_body, stop_body, done_body, failed_body, dead_letters_body,
                 ack_body, decline_body, committed_body, latency_body>;

/// One message from task `from` to task `to` of job attempt `attempt`.
struct frame {
  task_ref to;
  task_ref from;
  uint32_t attempt = 0;
  frame_body body;
  friend bool operator==(const frame&, const frame&) = default;
};

/// "batch", "credit", ...: the schema name of the body's alternative, for logs.
const char* kind_name(const frame_body& b) noexcept;

}  // namespace sluice::net
