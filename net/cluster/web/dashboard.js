// The Sluice dashboard: polls this node's JSON API (docs/http-api.md) every second and shows
// the job, its graph with live figures per operator, checkpoints, failures and nodes.
// d3 3.5 (the graph) and Chart.js 3.9 (the checkpoint chart) come from Debian's libjs-d3 and
// libjs-chart.js, served by the node under /static/. Every panel shows a message when its
// endpoint is missing or fails; script errors go to #errors (index.html installs the handlers).
// For tests, figures are also in the DOM: <body data-polls>, each panel's data-state, and on each
// operator box data-operator, data-records-in, data-records-out, data-rate-in, data-rate-out,
// data-backpressure, data-watermark-lag-ms.
(function () {
  'use strict';

  var POLL_MS = 1000;
  var FETCH_TIMEOUT_MS = 10000;
  var BOX_W = 230, BOX_H = 104, COL_GAP = 90, ROW_GAP = 22, MARGIN = 16;
  var CHART_CHECKPOINTS = 50;  // newest checkpoints in the chart (the table has all 100)

  var polls = 0;
  var previous = null;  // {time, ops: Map key -> totals} of the last /api/operators answer
  var checkpointChart = null;
  var disconnectedSince = null;

  // ---- formatting ----

  function dash(v) { return v === null || v === undefined; }
  function count(n) { return dash(n) ? '–' : Number(n).toLocaleString('en-US'); }
  function rate(r) {
    if (dash(r)) return '–';
    if (r >= 1e6) return (r / 1e6).toFixed(2) + 'M/s';
    if (r >= 1e4) return (r / 1e3).toFixed(1) + 'k/s';
    return r.toFixed(r < 10 ? 1 : 0) + '/s';
  }
  function duration(ms) {
    if (dash(ms)) return '–';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    var s = Math.floor(ms / 1000);
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }
  function bytes(b) {
    if (dash(b)) return '–';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
    return (i === 0 ? b : b.toFixed(1)) + ' ' + units[i];
  }
  function clock(ms) {
    return dash(ms) ? '–' : new Date(ms).toLocaleTimeString('en-GB');
  }
  function text(v) { return dash(v) ? '–' : String(v); }

  // ---- errors and panel messages ----

  function recordError(where, e) {
    window.sluiceRecordError(where + ': ' + (e && e.stack ? e.stack : e));
  }

  function panel(id) { return document.getElementById(id); }

  // Shows `message` (null: hides it) at the top of panel `id`; kind 'error' or 'info'.
  function say(id, message, kind) {
    var msg = panel(id).querySelector('.msg');
    msg.hidden = !message;
    msg.textContent = message || '';
    msg.className = 'msg' + (kind === 'error' ? ' error' : '');
  }

  // Runs `draw` for panel `id`; a bug in one panel is recorded and leaves the others alone.
  function guard(id, draw) {
    try {
      draw();
    } catch (e) {
      recordError('panel ' + id, e);
      say(id, 'cannot show this panel: ' + e.message, 'error');
    }
  }

  // Applies an answer's outcome to panel `id`: ok, or a message (the last figures stay, faded).
  function outcome(id, answer) {
    var p = panel(id);
    p.dataset.state = answer.ok ? 'ok' : (answer.status === 404 ? 'missing' : 'error');
    p.classList.toggle('stale', !answer.ok && p.dataset.shown === 'yes');
    if (!answer.ok)
      say(id, answer.message, 'error');
    return answer.ok;
  }

  // ---- fetching ----

  // GET path -> {ok: true, data} or {ok: false, status (0: no answer), message}. Never throws.
  async function getJson(path) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, FETCH_TIMEOUT_MS);
    try {
      var resp = await fetch(path, {cache: 'no-store', signal: controller.signal});
      var body = await resp.text();
      if (!resp.ok) {
        var reason = body.trim();
        try {
          var parsed = JSON.parse(body);
          if (parsed && parsed.error) reason = parsed.error;
        } catch (ignored) { /* a plain-text answer: shown as it is */ }
        var what = resp.status === 404 ? 'not served by this node' : 'failed';
        return {ok: false, status: resp.status,
                message: 'GET ' + path + ' ' + what + ' (HTTP ' + resp.status + ': ' + reason + ')'};
      }
      var data;
      try {
        data = JSON.parse(body);
      } catch (e) {
        return {ok: false, status: resp.status, message: 'GET ' + path + ': not JSON (' + e.message + ')'};
      }
      if (data === null || typeof data !== 'object')
        return {ok: false, status: resp.status, message: 'GET ' + path + ': not a JSON object'};
      return {ok: true, status: resp.status, data: data};
    } catch (e) {
      var why = e.name === 'AbortError' ? 'no answer within ' + FETCH_TIMEOUT_MS / 1000 + ' s' : e.message;
      return {ok: false, status: 0,
              message: 'GET ' + path + ': no answer from the node (' + why + '); has the job ended?'};
    } finally {
      clearTimeout(timer);
    }
  }

  function listOf(answer, field) {
    if (!answer.ok) return null;
    var list = answer.data[field];
    if (!Array.isArray(list))
      throw new Error('the answer has no "' + field + '" list');
    return list;
  }

  // ---- tables ----

  // Fills <table> `selector` with a header row `columns` ([{label, num}]) and one row per
  // element of `rows`, each an array of cells {text, cls}.
  function fillTable(selector, columns, rows) {
    var table = d3.select(selector);
    var head = table.selectAll('thead').data([columns]);
    head.enter().append('thead').append('tr');
    var th = head.select('tr').selectAll('th').data(function (d) { return d; });
    th.enter().append('th');
    th.text(function (c) { return c.label; }).attr('class', function (c) { return c.num ? 'num' : null; });
    th.exit().remove();
    var bodySel = table.selectAll('tbody').data([rows]);
    bodySel.enter().append('tbody');
    var tr = bodySel.selectAll('tr').data(function (d) { return d; });
    tr.enter().append('tr');
    tr.exit().remove();
    var td = tr.selectAll('td').data(function (d) { return d; });
    td.enter().append('td');
    td.text(function (c) { return c.text; })
      .attr('class', function (c, i) {
        return [columns[i] && columns[i].num ? 'num' : '', c.cls || ''].join(' ').trim() || null;
      });
    td.exit().remove();
  }

  // ---- jobs ----

  function drawJobs(answer) {
    var jobs = listOf(answer, 'jobs');
    if (!outcome('jobs', answer)) return;
    var box = panel('jobs').querySelector('.content');
    if (jobs.length === 0) {
      say('jobs', 'no job runs in this process', 'info');
      box.textContent = '';
      return;
    }
    say('jobs', null);
    document.title = 'Sluice: ' + jobs.map(function (j) { return j.job; }).join(', ');
    var rows = d3.select(box).selectAll('div.summary').data(jobs, function (j) { return j.job; });
    rows.enter().append('div').attr('class', 'summary');
    rows.exit().remove();
    rows.attr('data-job', function (j) { return j.job; });
    var figures = rows.selectAll('div.figure').data(function (j) {
      return [
        ['job', text(j.job)],
        ['state', text(j.state), 'state-' + j.state],
        ['parallelism', text(j.parallelism)],
        ['uptime', duration(j.uptime_ms)],
        ['checkpoints', count(j.checkpoints_completed) + ' done · ' + count(j.checkpoints_aborted) + ' aborted'],
        ['last checkpoint', j.last_checkpoint ? '#' + j.last_checkpoint : 'none'],
        ['last savepoint', dash(j.last_savepoint) ? '–' : (j.last_savepoint ? '#' + j.last_savepoint : 'none')],
        ['restarts', count(j.restarts)],
        ['failures', count(j.failures)]
      ];
    });
    var entered = figures.enter().append('div').attr('class', 'figure');
    entered.append('span').attr('class', 'label');
    entered.append('span').attr('class', 'value');
    figures.select('.label').text(function (f) { return f[0]; });
    figures.select('.value').text(function (f) { return f[1]; }).attr('class', function (f) {
      return 'value' + (f[2] ? ' ' + f[2] : '');
    });
    panel('jobs').dataset.shown = 'yes';
  }

  // ---- operators and the graph ----

  // Sums each operator's instances: Map key (job + uid) -> figures, in order of first appearance.
  function aggregate(instances) {
    var ops = new Map();
    instances.forEach(function (i) {
      var key = i.job + '\u0000' + i.uid;
      var op = ops.get(key);
      if (!op) {
        op = {key: key, job: i.job, name: i.name, uid: i.uid, parallelism: i.parallelism,
              source: false, instances: 0, records_in: 0, records_out: 0, dead_letters: 0,
              unconsumed: 0, late_records: 0, backpressure_events: 0, backpressured_ms: 0,
              watermark_lag_ms: null, latency_p99_ms: null};
        ops.set(key, op);
      }
      op.instances += 1;
      op.source = op.source || !!i.source;
      op.records_in += i.records_in || 0;
      op.records_out += i.records_out || 0;
      op.dead_letters += i.dead_letters || 0;
      op.unconsumed += i.unconsumed || 0;
      op.late_records += i.late_records || 0;
      // A sink's latency is its slowest instance's p99 (the newest markers).
      if (i.latency && !dash(i.latency.p99_ms))
        op.latency_p99_ms = Math.max(op.latency_p99_ms === null ? -Infinity : op.latency_p99_ms,
                                     i.latency.p99_ms);
      op.backpressure_events += i.backpressure_events || 0;
      op.backpressured_ms += i.backpressured_ms || 0;
      // The operator is as far behind as its slowest instance.
      if (!dash(i.watermark_lag_ms))
        op.watermark_lag_ms = Math.max(op.watermark_lag_ms === null ? -Infinity : op.watermark_lag_ms,
                                       i.watermark_lag_ms);
    });
    return ops;
  }

  // Adds records/s and backpressure (events rising) since the previous answer. The time between
  // the two is the job's uptime between them when /api/jobs has it (the node's clock: network
  // delays and a browser's timers do not skew the rate), else the browser's clock.
  function addRates(ops, now, uptimes) {
    ops.forEach(function (op) {
      op.rate_in = op.rate_out = null;
      op.backpressured = false;
      var before = previous && previous.ops.get(op.key);
      if (!before) return;
      var seconds = (now - previous.time) / 1000;
      var up = uptimes.get(op.job), upBefore = previous.uptimes.get(op.job);
      if (up !== undefined && upBefore !== undefined && up > upBefore)
        seconds = (up - upBefore) / 1000;
      if (seconds > 0) {
        op.rate_in = Math.max(0, (op.records_in - before.records_in) / seconds);
        op.rate_out = Math.max(0, (op.records_out - before.records_out) / seconds);
      }
      // The share of the time its instances' output waited for credit (the
      // node adds the time of a backpressure still going on), else events rising.
      op.backpressure_share = seconds > 0
        ? Math.min(1, Math.max(0, (op.backpressured_ms - before.backpressured_ms) /
                                   (seconds * 1000 * Math.max(1, op.instances))))
        : 0;
      op.backpressure_rise = op.backpressure_events - before.backpressure_events;
      op.backpressured = op.backpressure_share >= 0.1 || op.backpressure_rise > 0;
    });
    previous = {time: now, ops: ops, uptimes: uptimes};
  }

  // The boxes and arrows to draw: /api/graph when served, else one box per operator.
  function graphModel(graphAnswer, ops) {
    var note = '';
    var vertices, edges;
    if (graphAnswer.ok) {
      var g = graphAnswer.data;
      if (!Array.isArray(g.vertices) || !Array.isArray(g.edges))
        throw new Error('/api/graph has no "vertices" and "edges" lists');
      vertices = g.vertices.map(function (v) {
        var key = g.job + '\u0000' + v.uid;
        return {key: 'v' + v.id, id: v.id, name: v.name, uid: v.uid, parallelism: v.parallelism,
                kind: v.kind || 'operator', op: ops ? ops.get(key) || null : null};
      });
      edges = g.edges.map(function (e) {
        return {from: e.from, to: e.to, partitioning: e.partitioning};
      });
      note = g.job ? '(' + g.job + ')' : '';
    } else {
      if (!ops) return null;
      vertices = [];
      ops.forEach(function (op) {
        vertices.push({key: op.key, id: op.key, name: op.name, uid: op.uid, parallelism: op.parallelism,
                       kind: op.source ? 'source' : 'operator', op: op});
      });
      edges = [];
      note = '(from /api/operators: one box per operator, no edges)';
    }
    layout(vertices, edges);
    return {vertices: vertices, edges: edges, note: note};
  }

  // Depth = longest path from a vertex without inputs; columns left to right by depth.
  function layout(vertices, edges) {
    var byId = new Map();
    vertices.forEach(function (v) { v.depth = 0; byId.set(v.id, v); });
    // Longest path by relaxation; bounded, so a cycle cannot loop forever.
    for (var round = 0; round < vertices.length; round++) {
      var moved = false;
      edges.forEach(function (e) {
        var a = byId.get(e.from), b = byId.get(e.to);
        if (a && b && b.depth < a.depth + 1) { b.depth = a.depth + 1; moved = true; }
      });
      if (!moved) break;
    }
    if (edges.length === 0)  // no edges known: in the order the operators were listed
      vertices.forEach(function (v, i) { v.depth = i; });
    var columns = [];
    vertices.forEach(function (v) {
      (columns[v.depth] = columns[v.depth] || []).push(v);
    });
    var rows = Math.max(1, d3.max(columns, function (c) { return c ? c.length : 0; }) || 1);
    var height = rows * BOX_H + (rows - 1) * ROW_GAP;
    columns.forEach(function (column, depth) {
      if (!column) return;
      var top = MARGIN + (height - (column.length * BOX_H + (column.length - 1) * ROW_GAP)) / 2;
      column.forEach(function (v, row) {
        v.x = MARGIN + depth * (BOX_W + COL_GAP);
        v.y = top + row * (BOX_H + ROW_GAP);
      });
    });
    edges.forEach(function (e) {
      e.a = byId.get(e.from);
      e.b = byId.get(e.to);
    });
    vertices.width = MARGIN * 2 + Math.max(1, columns.length) * (BOX_W + COL_GAP) - COL_GAP;
    vertices.height = MARGIN * 2 + height;
  }

  function boxLines(v) {
    var op = v.op;
    if (!op) return ['no instance on this node', '', '', ''];
    var lines = [
      'in ' + rate(op.rate_in) + '   out ' + rate(op.rate_out),
      'total in ' + count(op.records_in) + ' · out ' + count(op.records_out),
      'watermark lag ' + duration(op.watermark_lag_ms)
    ];
    var extra = [];
    if (op.latency_p99_ms !== null) extra.push('latency p99 ' + duration(op.latency_p99_ms));
    if (op.late_records) extra.push('late ' + count(op.late_records));
    if (op.dead_letters) extra.push('dead letters ' + count(op.dead_letters));
    if (op.unconsumed) extra.push('unconsumed ' + count(op.unconsumed));
    lines.push(extra.join(' · '));
    return lines;
  }

  function drawGraph(graphAnswer, opsAnswer, ops) {
    var svg = d3.select('#graph-svg');
    var model = graphModel(graphAnswer, ops);
    document.body.dataset.graphSource = graphAnswer.ok ? 'api/graph' : (model ? 'api/operators' : 'none');
    var messages = [];
    if (!opsAnswer.ok) messages.push(opsAnswer.message);
    if (!graphAnswer.ok && graphAnswer.status !== 404) messages.push(graphAnswer.message);
    if (!model) {
      panel('graph').dataset.state = 'error';
      panel('graph').classList.toggle('stale', panel('graph').dataset.shown === 'yes');
      say('graph', messages.join('; '), 'error');
      return;
    }
    panel('graph').dataset.state = messages.length ? 'error' : 'ok';
    panel('graph').classList.toggle('stale', !opsAnswer.ok);
    say('graph', messages.length ? messages.join('; ') : null, 'error');
    if (model.vertices.length === 0 && messages.length === 0)
      say('graph', 'no operator runs on this node', 'info');
    panel('graph').querySelector('.note').textContent = model.note;

    svg.attr('viewBox', '0 0 ' + model.vertices.width + ' ' + model.vertices.height)
      .attr('width', model.vertices.width)
      .attr('height', model.vertices.height)
      .style('max-width', '100%').style('height', 'auto');

    var defs = svg.selectAll('defs').data([0]);
    defs.enter().append('defs').append('marker')
      .attr('id', 'arrow').attr('viewBox', '0 0 10 10').attr('refX', 10).attr('refY', 5)
      .attr('markerWidth', 8).attr('markerHeight', 8).attr('orient', 'auto')
      .append('path').attr('d', 'M0,0 L10,5 L0,10 z');
    var edgeLayer = svg.selectAll('g.edges').data([0]);
    edgeLayer.enter().append('g').attr('class', 'edges');
    var opLayer = svg.selectAll('g.ops').data([0]);
    opLayer.enter().append('g').attr('class', 'ops');

    var diagonal = d3.svg.diagonal()
      .source(function (e) { return {x: e.a.y + BOX_H / 2, y: e.a.x + BOX_W}; })
      .target(function (e) { return {x: e.b.y + BOX_H / 2, y: e.b.x}; })
      .projection(function (p) { return [p.y, p.x]; });
    var drawn = model.edges.filter(function (e) { return e.a && e.b; });
    var edges = edgeLayer.selectAll('g.edge-group').data(drawn, function (e) { return e.from + '>' + e.to; });
    var newEdges = edges.enter().append('g').attr('class', 'edge-group');
    newEdges.append('path').attr('class', 'edge').attr('marker-end', 'url(#arrow)');
    newEdges.append('text').attr('class', 'edge-label').attr('text-anchor', 'middle');
    edges.exit().remove();
    edges.attr('data-from', function (e) { return e.from; }).attr('data-to', function (e) { return e.to; });
    edges.select('path').attr('d', diagonal);
    edges.select('text')
      .attr('x', function (e) { return (e.a.x + BOX_W + e.b.x) / 2; })
      .attr('y', function (e) { return (e.a.y + e.b.y + BOX_H) / 2 - 6; })
      .text(function (e) { return e.partitioning || ''; });

    var boxes = opLayer.selectAll('g.op').data(model.vertices, function (v) { return v.key; });
    var entered = boxes.enter().append('g');
    entered.append('rect').attr('width', BOX_W).attr('height', BOX_H).attr('rx', 6).attr('ry', 6);
    entered.append('text').attr('class', 'title').attr('x', 10).attr('y', 19);
    [0, 1, 2, 3].forEach(function (i) {
      entered.append('text').attr('class', 'line line-' + i).attr('x', 10).attr('y', 39 + i * 16);
    });
    entered.append('title');
    boxes.exit().remove();

    boxes
      .attr('class', function (v) {
        return 'op kind-' + v.kind + (v.op ? '' : ' absent') + (v.op && v.op.backpressured ? ' backpressured' : '');
      })
      .attr('transform', function (v) { return 'translate(' + v.x + ',' + v.y + ')'; })
      .attr('data-operator', function (v) { return v.name; })
      .attr('data-uid', function (v) { return v.uid; })
      .attr('data-instances', function (v) { return v.op ? v.op.instances : 0; })
      .attr('data-records-in', function (v) { return v.op ? v.op.records_in : null; })
      .attr('data-records-out', function (v) { return v.op ? v.op.records_out : null; })
      .attr('data-rate-in', function (v) { return v.op && v.op.rate_in !== null ? v.op.rate_in.toFixed(1) : null; })
      .attr('data-rate-out', function (v) { return v.op && v.op.rate_out !== null ? v.op.rate_out.toFixed(1) : null; })
      .attr('data-backpressure-events', function (v) { return v.op ? v.op.backpressure_events : null; })
      .attr('data-backpressure', function (v) { return v.op ? String(!!v.op.backpressured) : null; })
      .attr('data-watermark-lag-ms', function (v) {
        return v.op && v.op.watermark_lag_ms !== null ? v.op.watermark_lag_ms : null;
      })
      .attr('data-latency-p99-ms', function (v) {
        return v.op && v.op.latency_p99_ms !== null ? v.op.latency_p99_ms : null;
      });
    boxes.select('text.title').text(function (v) {
      var here = v.op && v.op.instances !== v.parallelism ? ' (' + v.op.instances + ' here)' : '';
      return v.name + '  ×' + text(v.parallelism) + here;
    });
    [0, 1, 2, 3].forEach(function (i) {
      boxes.select('text.line-' + i)
        .text(function (v) {
          var line = boxLines(v)[i];
          if (i === 3 && v.op && v.op.backpressured)
            line = 'backpressured ' + Math.round(100 * v.op.backpressure_share) + '% of the time' +
              (line ? ' · ' + line : '');
          return line;
        })
        .attr('class', function (v) {
          return 'line line-' + i + (i === 3 && v.op && v.op.backpressured ? ' pressure' : '');
        });
    });
    boxes.select('title').text(function (v) {
      return v.name + ' (uid ' + v.uid + ', ' + v.kind + ')' +
        (v.op ? '\nbackpressure events ' + count(v.op.backpressure_events) : '');
    });
    panel('graph').dataset.shown = 'yes';
  }

  // ---- checkpoints ----

  function drawCheckpoints(answer) {
    var list = listOf(answer, 'checkpoints');
    if (!outcome('checkpoints', answer)) return;
    say('checkpoints', list.length ? null : 'no checkpoint yet (is the job started with --checkpoint-ms?)', 'info');
    fillTable('#checkpoint-table',
      [{label: 'id'}, {label: 'kind'}, {label: 'status'}, {label: 'triggered'},
       {label: 'duration', num: true}, {label: 'size', num: true}, {label: 'failure'}],
      list.map(function (c) {
        return [{text: '#' + c.id}, {text: c.savepoint ? 'savepoint' : 'checkpoint'},
                {text: text(c.status).replace('_', ' '), cls: 'state-' + c.status},
                {text: clock(c.trigger_ms)}, {text: duration(c.duration_ms)}, {text: bytes(c.size_bytes)},
                {text: c.failure || ''}];
      }));
    d3.select('#checkpoint-table').attr('data-rows', list.length);
    panel('checkpoints').dataset.shown = 'yes';
    if (typeof Chart === 'undefined') {
      say('checkpoints', 'Chart.js is not loaded (Debian: apt-get install libjs-chart.js): no chart', 'error');
      return;
    }
    var recent = list.slice(0, CHART_CHECKPOINTS).reverse();
    var labels = recent.map(function (c) { return (c.savepoint ? 'sp ' : '#') + c.id; });
    var durations = recent.map(function (c) { return dash(c.duration_ms) ? null : c.duration_ms; });
    var sizes = recent.map(function (c) { return dash(c.size_bytes) ? null : c.size_bytes / 1024; });
    if (!checkpointChart) {
      checkpointChart = new Chart(document.getElementById('checkpoint-chart'), {
        data: {
          labels: labels,
          datasets: [
            {type: 'line', label: 'duration (ms)', data: durations, yAxisID: 'ms',
             borderColor: '#2f6fdf', backgroundColor: '#2f6fdf', pointRadius: 2, spanGaps: true},
            {type: 'bar', label: 'size (KiB)', data: sizes, yAxisID: 'kib',
             backgroundColor: 'rgba(105, 65, 198, 0.35)'}
          ]
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          interaction: {mode: 'index', intersect: false},
          scales: {
            ms: {type: 'linear', position: 'left', beginAtZero: true, title: {display: true, text: 'ms'}},
            kib: {type: 'linear', position: 'right', beginAtZero: true, title: {display: true, text: 'KiB'},
                  grid: {drawOnChartArea: false}}
          },
          plugins: {legend: {position: 'bottom'}}
        }
      });
    } else {
      checkpointChart.data.labels = labels;
      checkpointChart.data.datasets[0].data = durations;
      checkpointChart.data.datasets[1].data = sizes;
      checkpointChart.update('none');
    }
  }

  // ---- failures and nodes ----

  function drawFailures(answer) {
    var list = listOf(answer, 'failures');
    if (!outcome('failures', answer)) return;
    say('failures', list.length ? null : 'no failure since the job started', 'info');
    fillTable('#failure-table',
      [{label: 'time'}, {label: 'operator'}, {label: 'instance', num: true}, {label: 'kind'}, {label: 'cause'}, {label: 'action'}],
      list.map(function (f) {
        return [{text: clock(f.time_ms)}, {text: text(f.operator)}, {text: text(f.instance)},
                {text: text(f.kind)}, {text: text(f.cause)}, {text: text(f.action), cls: f.action === 'failed' ? 'state-failed' : 'state-restarting'}];
      }));
    d3.select('#failure-table').attr('data-rows', list.length);
    panel('failures').dataset.shown = 'yes';
  }

  function drawNodes(answer) {
    var list = listOf(answer, 'nodes');
    if (!outcome('nodes', answer)) return;
    say('nodes', list.length ? null : 'no node listed', 'info');
    fillTable('#node-table',
      [{label: 'node'}, {label: 'address'}, {label: 'state'}, {label: 'last heartbeat', num: true}],
      list.map(function (n) {
        var heartbeat = n.self ? 'this node' : (dash(n.last_heartbeat_ms_ago) ? 'never' : duration(n.last_heartbeat_ms_ago) + ' ago');
        return [{text: text(n.name)}, {text: dash(n.host) ? '–' : n.host + ':' + text(n.port)},
                {text: text(n.state), cls: 'state-' + n.state}, {text: heartbeat}];
      }));
    d3.select('#node-table').attr('data-rows', list.length);
    panel('nodes').dataset.shown = 'yes';
  }

  // ---- polling ----

  function showConnection(answers) {
    var el = document.getElementById('connection');
    var reached = answers.some(function (a) { return a.status !== 0; });
    if (reached) {
      disconnectedSince = null;
      el.textContent = 'live';
      el.className = 'connection live';
    } else {
      disconnectedSince = disconnectedSince || Date.now();
      el.textContent = 'no answer from the node since ' + clock(disconnectedSince) + ' (job ended?)';
      el.className = 'connection down';
    }
    document.getElementById('updated').textContent = 'updated ' + clock(Date.now()) + ' · poll ' + (polls + 1);
  }

  async function poll() {
    // scope=cluster: on a cluster node, also the instances of the other nodes serving HTTP.
    var paths = ['/api/jobs', '/api/graph', '/api/operators?scope=cluster', '/api/checkpoints', '/api/failures', '/api/nodes'];
    var answers = await Promise.all(paths.map(getJson));
    var now = performance.now();
    var jobs = answers[0], graph = answers[1], operators = answers[2];
    showConnection(answers);
    guard('jobs', function () { drawJobs(jobs); });
    guard('graph', function () {
      if (typeof d3 === 'undefined')
        throw new Error('d3 is not loaded (Debian: apt-get install libjs-d3)');
      var ops = null;
      if (operators.ok) {
        ops = aggregate(listOf(operators, 'operators'));
        var uptimes = new Map();
        if (jobs.ok && Array.isArray(jobs.data.jobs))
          jobs.data.jobs.forEach(function (j) {
            if (typeof j.uptime_ms === 'number') uptimes.set(j.job, j.uptime_ms);
          });
        addRates(ops, now, uptimes);
      }
      drawGraph(graph, operators, ops);
    });
    guard('checkpoints', function () { drawCheckpoints(answers[3]); });
    guard('failures', function () { drawFailures(answers[4]); });
    guard('nodes', function () { drawNodes(answers[5]); });
    polls += 1;
    document.body.dataset.polls = String(polls);
  }

  async function loop() {
    try {
      await poll();
    } catch (e) {
      recordError('poll', e);
    }
    setTimeout(loop, POLL_MS);
  }

  if (typeof d3 === 'undefined') {
    // Without d3 nothing can be drawn; say so in every panel instead of failing in each.
    document.getElementById('connection').textContent = 'not polling: d3 is missing';
    document.getElementById('connection').className = 'connection down';
    ['jobs', 'graph', 'checkpoints', 'failures', 'nodes'].forEach(function (id) {
      say(id, 'd3 is not loaded: this node cannot serve /static/d3.min.js (Debian: apt-get install libjs-d3)', 'error');
    });
    return;
  }
  loop();
})();
