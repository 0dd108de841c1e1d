#pragma once

// The node service of a Sluice cluster: what a node serves (node_server and
// the handler it calls) and how it calls other nodes (peer_link), all on one
// event_loop. See net/node/README.md.

#include "sluice/net/event_loop.hpp"
#include "sluice/net/frame.hpp"
#include "sluice/net/handler.hpp"
#include "sluice/net/node_server.hpp"
#include "sluice/net/peer_link.hpp"
