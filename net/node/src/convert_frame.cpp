// Frames: plain C++ <-> Cap'n Proto, with validation on the way in.
#include <type_traits>
#include <utility>

#include "convert.hpp"

namespace sluice::net::detail {

namespace {

using F = schema::Frame;

uint64_t checkpoint_id(uint64_t id, const std::string& field) {
  // Checkpoint ids start at 1; 0 means "none" and never travels in a frame.
  if (id == 0)
    fail(field, "checkpoint id 0 is not a checkpoint");
  return id;
}

int64_t non_negative(int64_t v, const std::string& field) {
  if (v < 0)
    fail(field, "must not be negative (got " + std::to_string(v) + ")");
  return v;
}

void encode(const task_ref& r, schema::TaskRef::Builder out) {
  out.setVertex(r.vertex);
  out.setInstance(r.instance);
}

task_ref decode_ref(schema::TaskRef::Reader in) {
  return {in.getVertex(), in.getInstance()};
}

void encode(const operator_metrics_msg& m, schema::OperatorMetrics::Builder out) {
  out.setName(m.name);
  out.setNode(m.node);
  out.setInstance(m.instance);
  out.setRecordsIn(m.records_in);
  out.setRecordsOut(m.records_out);
  out.setDeadLetters(m.dead_letters);
  out.setUnconsumed(m.unconsumed);
  out.setBackpressureEvents(m.backpressure_events);
}

operator_metrics_msg decode(schema::OperatorMetrics::Reader in) {
  return {
      to_string(in.getName()), in.getNode(),        in.getInstance(),   in.getRecordsIn(),
      in.getRecordsOut(),      in.getDeadLetters(), in.getUnconsumed(), in.getBackpressureEvents()};
}

void encode(const task_failure_msg& t, schema::TaskFailure::Builder out) {
  out.setOperatorName(t.operator_name);
  out.setInstance(t.instance);
  out.setPosition(t.position);
  out.setCause(t.cause);
  out.setCode(t.code);
}

void encode(const dead_letter_msg& d, schema::DeadLetter::Builder out) {
  out.setOperatorName(d.operator_name);
  out.setInstance(d.instance);
  out.setPosition(d.position);
  out.setReason(d.reason);
  out.setRaw(as_data(d.raw));
}

frame_body decode_body(F::Reader in, const std::string& field) {
  switch (in.which()) {
    case F::UNSET:
      fail(field, "frame kind not set");
    case F::BATCH: {
      auto b = in.getBatch();
      if (b.getCount() > 0 && !b.hasData())
        fail(field + ".batch.data", "missing for a non-empty batch");
      return batch_body{b.getChannel(), b.getCount(), to_string(b.getData())};
    }
    case F::WATERMARK: {
      auto w = in.getWatermark();
      return watermark_body{w.getChannel(), w.getMs(), w.getIdle()};
    }
    case F::EOS:
      return eos_body{in.getEos().getChannel()};
    case F::BARRIER: {
      auto b = in.getBarrier();
      return barrier_body{b.getChannel(),
                          checkpoint_id(b.getCheckpoint(), field + ".barrier.checkpoint")};
    }
    case F::CREDIT: {
      auto c = in.getCredit();
      if (c.getN() == 0)
        fail(field + ".credit.n", "must be at least 1");
      return credit_body{c.getGate(), c.getTarget(), c.getN()};
    }
    case F::START:
      return start_body{};
    case F::TRIGGER:
      return trigger_body{
          checkpoint_id(in.getTrigger().getCheckpoint(), field + ".trigger.checkpoint")};
    case F::COMPLETE:
      return complete_body{
          checkpoint_id(in.getComplete().getCheckpoint(), field + ".complete.checkpoint")};
    case F::STOP:
      return stop_body{to_string(in.getStop().getReason())};
    case F::DONE: {
      done_body d;
      for (auto m : in.getDone().getMetrics())
        d.metrics.push_back(decode(m));
      return d;
    }
    case F::FAILED: {
      if (!in.getFailed().hasFailure())
        fail(field + ".failed.failure", "missing");
      auto t = in.getFailed().getFailure();
      return failed_body{{to_string(t.getOperatorName()), t.getInstance(),
                          to_string(t.getPosition()), to_string(t.getCause()), t.getCode()}};
    }
    case F::DEAD_LETTERS: {
      dead_letters_body d;
      for (auto l : in.getDeadLetters().getLetters())
        d.letters.push_back({to_string(l.getOperatorName()), l.getInstance(),
                             to_string(l.getPosition()), to_string(l.getReason()),
                             to_string(l.getRaw())});
      d.epoch = in.getDeadLetters().getEpoch();
      return d;
    }
    case F::ACK: {
      auto a = in.getAck();
      return ack_body{checkpoint_id(a.getCheckpoint(), field + ".ack.checkpoint"), a.getBytes(),
                      non_negative(a.getSyncMs(), field + ".ack.syncMs"),
                      non_negative(a.getAsyncMs(), field + ".ack.asyncMs"),
                      non_negative(a.getAlignMs(), field + ".ack.alignMs")};
    }
    case F::DECLINE: {
      auto d = in.getDecline();
      return decline_body{checkpoint_id(d.getCheckpoint(), field + ".decline.checkpoint"),
                          to_string(d.getReason())};
    }
    case F::LATENCY: {
      auto l = in.getLatency();
      return latency_body{l.getChannel(), l.getMarkedUs()};
    }
    case F::COMMITTED:
      return committed_body{
          checkpoint_id(in.getCommitted().getCheckpoint(), field + ".committed.checkpoint")};
  }
  // A sender built from a newer schema: refuse rather than guess.
  fail(field, "unknown frame kind " + std::to_string(static_cast<unsigned>(in.which())));
}

}  // namespace

void encode(const frame& f, F::Builder out) {
  encode(f.to, out.initTo());
  encode(f.from, out.initFrom());
  out.setAttempt(f.attempt);
  std::visit(overloaded{
                 [&](const batch_body& b) {
                   auto o = out.initBatch();
                   o.setChannel(b.channel);
                   o.setCount(b.count);
                   o.setData(as_data(b.data));
                 },
                 [&](const watermark_body& w) {
                   auto o = out.initWatermark();
                   o.setChannel(w.channel);
                   o.setMs(w.ms);
                   o.setIdle(w.idle);
                 },
                 [&](const eos_body& e) { out.initEos().setChannel(e.channel); },
                 [&](const barrier_body& b) {
                   auto o = out.initBarrier();
                   o.setChannel(b.channel);
                   o.setCheckpoint(b.checkpoint);
                 },
                 [&](const credit_body& c) {
                   auto o = out.initCredit();
                   o.setGate(c.gate);
                   o.setTarget(c.target);
                   o.setN(c.n);
                 },
                 [&](const start_body&) { out.setStart(); },
                 [&](const trigger_body& t) { out.initTrigger().setCheckpoint(t.checkpoint); },
                 [&](const complete_body& c) { out.initComplete().setCheckpoint(c.checkpoint); },
                 [&](const stop_body& s) { out.initStop().setReason(s.reason); },
                 [&](const done_body& d) {
                   auto list = out.initDone().initMetrics(static_cast<unsigned>(d.metrics.size()));
                   for (unsigned i = 0; i < list.size(); ++i)
                     encode(d.metrics[i], list[i]);
                 },
                 [&](const failed_body& f) { encode(f.failure, out.initFailed().initFailure()); },
                 [&](const dead_letters_body& d) {
                   auto group = out.initDeadLetters();
                   group.setEpoch(d.epoch);
                   auto list = group.initLetters(static_cast<unsigned>(d.letters.size()));
                   for (unsigned i = 0; i < list.size(); ++i)
                     encode(d.letters[i], list[i]);
                 },
                 [&](const ack_body& a) {
                   auto o = out.initAck();
                   o.setCheckpoint(a.checkpoint);
                   o.setBytes(a.bytes);
                   o.setSyncMs(a.sync_ms);
                   o.setAsyncMs(a.async_ms);
                   o.setAlignMs(a.align_ms);
                 },
                 [&](const decline_body& d) {
                   auto o = out.initDecline();
                   o.setCheckpoint(d.checkpoint);
                   o.setReason(d.reason);
                 },
                 [&](const committed_body& c) { out.initCommitted().setCheckpoint(c.checkpoint); },
                 [&](const latency_body& l) {
                   auto o = out.initLatency();
                   o.setChannel(l.channel);
                   o.setMarkedUs(l.marked_us);
                 },
             },
             f.body);
}

frame decode(F::Reader in, const std::string& field) {
  if (!in.hasTo())
    fail(field + ".to", "missing");
  if (!in.hasFrom())
    fail(field + ".from", "missing");
  return frame{decode_ref(in.getTo()), decode_ref(in.getFrom()), in.getAttempt(),
               decode_body(in, field)};
}

std::vector<frame> decode_frames(capnp::List<F>::Reader in) {
  return decode_list<frame>(in, "frames");
}

void encode_frames(const std::vector<frame>& frames, capnp::List<F>::Builder out) {
  encode_list(frames, out);
}

size_t wire_size(const frame& f) noexcept {
  // Fixed part: the frame struct, two task refs and the largest group.
  constexpr size_t fixed = 96;
  return std::visit(overloaded{
                        [](const batch_body& b) { return fixed + b.data.size(); },
                        [](const stop_body& s) { return fixed + s.reason.size(); },
                        [](const decline_body& d) { return fixed + d.reason.size(); },
                        [](const done_body& d) { return fixed + d.metrics.size() * 96; },
                        [](const failed_body& t) {
                          return fixed + t.failure.operator_name.size() +
                                 t.failure.position.size() + t.failure.cause.size();
                        },
                        [](const dead_letters_body& d) {
                          size_t n = fixed;
                          for (auto& l : d.letters)
                            n += 64 + l.operator_name.size() + l.position.size() + l.reason.size() +
                                 l.raw.size();
                          return n;
                        },
                        [](const auto&) { return fixed; },
                    },
                    f.body);
}

}  // namespace sluice::net::detail

namespace sluice::net {

const char* kind_name(const frame_body& b) noexcept {
  static constexpr const char* names[] = {
      "batch", "watermark", "eos",    "barrier",     "credit", "start",   "trigger",   "complete",
      "stop",  "done",      "failed", "deadLetters", "ack",    "decline", "committed", "latency"};
  static_assert(std::size(names) == std::variant_size_v<frame_body>);
  return names[b.index()];
}

}  // namespace sluice::net
