# The node service: what Sluice nodes say to each other over Cap'n Proto RPC.
#
# Every node listens on one TCP port and offers exactly one capability before
# authentication, the Gate. A successful `hello` (right cluster name and
# shared secret) returns the Session; nothing else is reachable without it.
#
# Every union starts with an `unset` member: a zeroed or half-built struct
# then decodes as "not set" (a protocol error) instead of as its first real
# alternative.
@0x81d3a8ef5a4b087d;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("sluice::net::schema");

interface Gate {
  # The bootstrap capability of every node.
  hello @0 (cluster :Text, node :Text, secret :Data) -> (session :Session, refusal :Text);
  # A refused hello has no session and says why in `refusal`; the server then closes the connection.
}

interface Session {
  deliver @0 (frames :List(Frame)) -> ();
  # Ordered stream of frames from one node to another. Calls on one Session
  # are delivered in the order they were made (E-order), so the sender keeps
  # several calls in flight without reordering.

  control @1 (msg :Control) -> (reply :Control);
  # Node-level requests: join, deploy, cancel, shutdown.

  heartbeat @2 (node :Text, seq :UInt64) -> (node :Text, seq :UInt64);
  # The reply names the answering node and echoes seq.

  putSnapshot @3 (checkpoint :UInt64, entries :List(SnapshotEntry)) -> ();
  # Replicates a node's snapshot of `checkpoint` to another node.
}

struct TaskRef {
  vertex @0 :UInt32;    # 0xFFFFFFFF: the node itself (its supervisor)
  instance @1 :UInt32;
}

struct OperatorMetrics {
  name @0 :Text;
  node @1 :UInt32;
  instance @2 :UInt32;
  recordsIn @3 :UInt64;
  recordsOut @4 :UInt64;
  deadLetters @5 :UInt64;
  unconsumed @6 :UInt64;
  backpressureEvents @7 :UInt64;
}

struct TaskFailure {
  operatorName @0 :Text;
  instance @1 :UInt32;
  position @2 :Text;
  cause @3 :Text;
  code @4 :UInt16;      # sluice::actors::errc of the failure (0 = not given)
}

struct DeadLetter {
  operatorName @0 :Text;
  instance @1 :UInt32;
  position @2 :Text;
  reason @3 :Text;
  raw @4 :Data;
}

struct SnapshotEntry {
  operatorUid @0 :Text;
  instance @1 :UInt32;
  keyGroup @2 :UInt32;
  operatorState @3 :Bool;   # operator state (true) or keyed state of keyGroup (false)
  value @4 :Data;
}

struct Frame {
  # One message between two tasks (or a task and a node supervisor), the
  # remote form of the CAF messages in actors/messages.hpp.
  to @0 :TaskRef;
  from @1 :TaskRef;
  attempt @2 :UInt32;   # job attempt; frames of older attempts are dropped by the receiver

  union {
    unset @3 :Void;
    batch :group { channel @4 :UInt32; count @5 :UInt32; data @6 :Data; }
    watermark :group { channel @7 :UInt32; ms @8 :Int64; idle @9 :Bool; }
    eos :group { channel @10 :UInt32; }
    barrier :group { channel @11 :UInt32; checkpoint @12 :UInt64; }
    credit :group { gate @13 :UInt32; target @14 :UInt32; n @15 :UInt32; }
    start @16 :Void;
    trigger :group { checkpoint @17 :UInt64; }
    complete :group { checkpoint @18 :UInt64; }
    stop :group { reason @19 :Text; }
    done :group { metrics @20 :List(OperatorMetrics); }
    failed :group { failure @21 :TaskFailure; }
    deadLetters :group { letters @22 :List(DeadLetter); epoch @33 :UInt64; }  # epoch: the checkpoint the task last snapshotted
    ack :group { checkpoint @23 :UInt64; bytes @24 :UInt64; syncMs @25 :Int64; asyncMs @26 :Int64;
                 alignMs @32 :Int64; }
    decline :group { checkpoint @27 :UInt64; reason @28 :Text; }
    committed :group { checkpoint @29 :UInt64; }
    latency :group { channel @30 :UInt32; markedUs @31 :Int64; }   # latency marker, µs since the epoch
  }
}

struct Control {
  union {
    unset @0 :Void;
    join :group { node @1 :Text; }
    joined :group { coordinator @2 :Text; }
    deploy :group {
      attempt @3 :UInt32;
      restoreFrom @4 :UInt64;            # 0 = start without state
      placement @5 :List(UInt16);        # node index per vertex instance, vertex-major
    }
    deployed :group { attempt @6 :UInt32; tasks @7 :UInt32; }
    cancel :group { attempt @8 :UInt32; reason @9 :Text; }
    shutdown :group {
      reason @10 :Text;
      rescaleTo @14 :UInt32;             # 0 = exit; N = the job runs again at parallelism N
    }
    ok @11 :Void;
    error :group { reason @12 :Text; code @13 :UInt16; }   # code: sluice::net::errc
  }
}
