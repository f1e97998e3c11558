// The Stagebox dashboard: a client of the HTTPS API and nothing more.
// No framework, no build step. Every text from the API is set with
// textContent, never parsed as HTML.

const main = document.getElementById('main');
const session = {
  get token() { return sessionStorage.getItem('token'); },
  get role() { return sessionStorage.getItem('role') || 'viewer'; },
  get user() { return sessionStorage.getItem('user') || ''; },
};
const RANK = { viewer: 1, operator: 2, admin: 3 };
const can = (role) => RANK[session.role] >= RANK[role];

// --- the API -------------------------------------------------------------

class ApiError extends Error {
  constructor(status, title, detail) {
    super(`${status} ${title}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (r.status === 401 && path !== '/api/v1/login') {
    logout();
    throw new ApiError(401, 'Unauthorized', 'log in again');
  }
  if (!r.ok) {
    let p = {};
    try { p = await r.json(); } catch { /* not a problem document */ }
    throw new ApiError(r.status, p.title || r.statusText, p.detail || '');
  }
  return r.status === 204 ? null : r.json();
}

// --- building the page ---------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const svg = (tag, attrs = {}) => {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
};

function table(headers, rows) {
  return el('table', {}, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))));
}

const time = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-');
const badge = (state) => el('span', { class: `badge ${state}`, 'data-state': state }, state);

// Shows an API error next to the field it names ("nodes[1].plugin: ..."
// goes next to the input named "plugin"), or at the end of the form.
function showError(form, err) {
  form.querySelectorAll('.error').forEach((e) => e.remove());
  const detail = err.detail || err.message;
  const field = detail.split(':')[0].split('.').pop().replace(/\[\d+\]$/, '');
  const target = form.querySelector(`[name="${CSS.escape(field)}"]`);
  const msg = el('p', { class: 'error', role: 'alert' }, err.message);
  if (target) target.after(msg);
  else form.append(msg);
}

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

// --- views ---------------------------------------------------------------

const views = {};
let refreshTimer = null;

views.login = () => {
  const form = el('form', { id: 'login' },
    el('h2', {}, 'Log in'),
    el('label', {}, 'User', el('input', { name: 'username', autocomplete: 'username', required: true, value: 'admin' })),
    el('label', {}, 'Password', el('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    el('button', { class: 'primary', type: 'submit' }, 'Log in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const v = formValues(form);
      const r = await api('POST', '/api/v1/login', { username: v.username, password: v.password });
      sessionStorage.setItem('token', r.token);
      sessionStorage.setItem('role', r.role);
      sessionStorage.setItem('user', v.username);
      location.hash = '#/pipelines';
      start();
    } catch (e) { showError(form, e); }
  });
  return [form];
};

views.status = async () => {
  const s = await api('GET', '/api/v1/system');
  const c = s.capabilities;
  return [el('h2', {}, 'System'), el('dl', { id: 'system' },
    el('dt', {}, 'Version'), el('dd', {}, s.version),
    el('dt', {}, 'Uptime'), el('dd', {}, `${s.uptime_seconds} s`),
    el('dt', {}, 'Clock'), el('dd', {}, `${s.clock.source}${s.clock.locked ? ' (locked)' : ' (free running)'}`),
    el('dt', {}, 'CPUs'), el('dd', {}, c.cpus),
    el('dt', {}, 'NVIDIA GPUs'), el('dd', {}, c.nvidia_gpus),
    el('dt', {}, 'Vulkan drivers'), el('dd', {}, c.vulkan_drivers),
    el('dt', {}, 'RDMA devices'), el('dd', {}, c.rdma_devices),
    el('dt', {}, 'PTP clocks'), el('dd', {}, c.ptp_clocks),
    el('dt', {}, 'Certificate'), el('dd', {}, `SHA-256 ${s.tls.sha256}`))];
};

// Grain rates from the change in head index between two looks.
const lastHeads = new Map();
const thumbs = new Map();

async function thumbnail(id) {
  try {
    const r = await fetch(`/api/v1/flows/${id}/thumbnail`, { headers: { Authorization: `Bearer ${session.token}` } });
    if (!r.ok) return null;
    const old = thumbs.get(id);
    if (old) URL.revokeObjectURL(old);
    const url = URL.createObjectURL(await r.blob());
    thumbs.set(id, url);
    return url;
  } catch { return null; }
}

views.flows = async () => {
  const f = await api('GET', '/api/v1/flows');
  const now = performance.now();
  const rows = await Promise.all(f.flows.map(async (flow) => {
    const prev = lastHeads.get(flow.id);
    let rate = '-';
    if (prev && flow.head_index !== null && now > prev.at) {
      rate = ((flow.head_index - prev.head) / ((now - prev.at) / 1000)).toFixed(1);
    }
    lastHeads.set(flow.id, { head: flow.head_index, at: now });
    const fmt = flow.format;
    const what = fmt.kind === 'video' ? `${fmt.width}×${fmt.height} ${fmt.coding} ${fmt.rate}` : `${fmt.kind} ${fmt.data || ''} ${fmt.rate || ''}`;
    const img = fmt.kind === 'video' ? await thumbnail(flow.id) : null;
    return [flow.label, what, flow.writer_active ? 'live' : 'gone', rate, flow.grains_behind ?? '-',
      flow.grains_written ?? '-', flow.grains_invalid ?? '-', flow.missed_by_readers,
      img ? el('img', { class: 'thumb', src: img, alt: `latest frame of ${flow.label}` }) : ''];
  }));
  return [el('h2', {}, 'Flows'), el('p', { class: 'dim' }, `Domain ${f.domain}`),
    table(['Label', 'Format', 'Writer', 'Grains/s', 'Behind', 'Written', 'Invalid', 'Missed', 'Latest frame'], rows)];
};

// A small graph of the pipeline: one box per node, upstream left.
function graph(p) {
  const nodes = p.spec.nodes;
  const input = Object.fromEntries((p.spec.connections || []).map((c) => [c.to, c.from]));
  const depth = (id, n = 0) => (input[id] && n < 64 ? depth(input[id], n + 1) + 1 : 0);
  const cols = {};
  const pos = {};
  for (const n of nodes) {
    const d = depth(n.id);
    cols[d] = (cols[d] || 0) + 1;
    pos[n.id] = { x: 10 + d * 170, y: 10 + (cols[d] - 1) * 46 };
  }
  const height = 20 + Math.max(...Object.values(cols)) * 46;
  const width = 20 + (Math.max(...Object.keys(cols).map(Number)) + 1) * 170;
  const g = svg('svg', { class: 'graph', width, height, viewBox: `0 0 ${width} ${height}` });
  for (const c of p.spec.connections || []) {
    const a = pos[c.from];
    const b = pos[c.to];
    if (a && b) g.append(svg('line', { x1: a.x + 140, y1: a.y + 17, x2: b.x, y2: b.y + 17 }));
  }
  for (const n of nodes) {
    const state = p.nodes?.[n.id]?.state;
    const cls = state === 'failed' ? 'bad' : (state === 'backing_off' || state === 'bypassed') ? 'warn' : '';
    g.append(svg('rect', { x: pos[n.id].x, y: pos[n.id].y, width: 140, height: 34, rx: 4, class: cls }));
    const t = svg('text', { x: pos[n.id].x + 8, y: pos[n.id].y + 21 });
    t.textContent = `${n.id} · ${n.plugin || n.type}`;
    g.append(t);
  }
  return g;
}

async function changeSpec(p, change, form) {
  const spec = structuredClone(p.spec);
  change(spec);
  try {
    await api('PUT', `/api/v1/pipelines/${p.name}`, spec);
    render();
  } catch (e) { if (form) showError(form, e); else alert(e.message); }
}

function addNodeForm(p) {
  const ids = p.spec.nodes.map((n) => n.id);
  const form = el('form', { class: 'inline add-node' },
    el('label', {}, 'New node', el('input', { name: 'id', placeholder: 'id', required: true, size: 10 })),
    el('label', {}, 'Type', el('select', { name: 'type' },
      el('option', { value: 'video_plugin' }, 'video plugin'), el('option', { value: 'scte35_policy' }, 'SCTE-35 policy'))),
    el('label', {}, 'Plugin', el('input', { name: 'plugin', placeholder: 'timecode', required: true, size: 12 })),
    el('label', {}, 'Config (JSON)', el('input', { name: 'config', value: '{}', size: 14 })),
    el('label', {}, 'Input', el('select', { name: 'from' }, ids.map((id) => el('option', { value: id }, id)))),
    el('button', { type: 'submit' }, 'Add node'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    let config;
    try { config = JSON.parse(v.config || '{}'); } catch (e) { showError(form, { message: `config: ${e.message}`, detail: 'config: not JSON' }); return; }
    changeSpec(p, (s) => {
      s.nodes.push({ id: v.id, type: v.type, plugin: v.plugin, config });
      s.connections = [...(s.connections || []), { from: v.from, to: v.id }];
    }, form);
  });
  return form;
}

function pipelineCard(p) {
  const running = p.running;
  const controls = can('operator') ? [
    running
      ? el('button', { type: 'button', class: 'stop', onclick: async () => { await api('POST', `/api/v1/pipelines/${p.name}/stop`); render(); } }, 'Stop')
      : el('button', { type: 'button', class: 'primary start', onclick: async () => { await api('POST', `/api/v1/pipelines/${p.name}/start`); render(); } }, 'Start'),
    el('button', { type: 'button', class: 'danger', onclick: async () => { if (confirm(`Delete ${p.name}?`)) { await api('DELETE', `/api/v1/pipelines/${p.name}`); render(); } } }, 'Delete'),
  ] : [];
  const rows = p.spec.nodes.map((n) => {
    const s = p.nodes?.[n.id] || {};
    const remove = can('operator') && p.spec.nodes.length > 1
      ? el('button', { type: 'button', class: 'remove-node', onclick: () => changeSpec(p, (spec) => {
        spec.nodes = spec.nodes.filter((x) => x.id !== n.id);
        spec.connections = (spec.connections || []).filter((c) => c.from !== n.id && c.to !== n.id);
      }) }, 'Remove') : '';
    return [n.id, n.plugin ? `${n.type} (${n.plugin})` : n.type, s.state ? badge(s.state) : '-',
      s.grains_out ?? '-', s.failures ?? '-', s.restarts ?? '-', s.last_error || '', remove];
  });
  return el('div', { class: 'card pipeline', 'data-name': p.name },
    el('h3', {}, p.name, badge(running ? 'running' : 'stopped'), ...controls),
    p.description ? el('p', { class: 'dim' }, p.description) : null,
    graph(p),
    table(['Node', 'Type', 'State', 'Grains', 'Failures', 'Restarts', 'Last error', ''], rows),
    can('operator') ? addNodeForm(p) : null);
}

// A form that creates a resource from the JSON in its text area, the
// API's error shown under it.
function newSpecForm(id, title, example, collection) {
  const form = el('form', { id },
    el('h2', {}, title),
    el('textarea', { name: 'spec', spellcheck: 'false' }, JSON.stringify(example, null, 2)),
    el('button', { class: 'primary', type: 'submit' }, 'Create'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let spec;
    try { spec = JSON.parse(form.elements.spec.value); } catch (e) { showError(form, { message: `spec: ${e.message}`, detail: 'spec: not JSON' }); return; }
    try { await api('POST', collection, spec); render(); } catch (e) { showError(form, e); }
  });
  return form;
}

function newPipelineForm() {
  const example = { name: 'studio-a', nodes: [
    { id: 'bars', type: 'test_pattern', width: 1280, height: 720, rate: '25/1' },
    { id: 'clock', type: 'video_plugin', plugin: 'timecode' }],
  connections: [{ from: 'bars', to: 'clock' }] };
  return newSpecForm('new-pipeline', 'New pipeline', example, '/api/v1/pipelines');
}

views.pipelines = async () => {
  const r = await api('GET', '/api/v1/pipelines');
  return [el('h2', {}, 'Pipelines'), ...r.pipelines.map(pipelineCard), can('operator') ? newPipelineForm() : null];
};

// --- distributor channels -------------------------------------------------

const rate = (bps) => (bps === undefined || bps === null ? '-'
  : bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mb/s` : bps >= 1e3 ? `${Math.round(bps / 1e3)} kb/s` : `${bps} b/s`);
const seconds = (s) => (s === undefined ? '-' : s >= 3600 ? `${Math.floor(s / 3600)} h` : s >= 60 ? `${Math.floor(s / 60)} min` : `${Math.floor(s)} s`);

// The channels last read, by name: a `channel.status` event updates its
// card in place from these.
const channels = new Map();

async function channelCall(method, path, body, form) {
  try {
    await api(method, path, body);
    render();
  } catch (e) { if (form) showError(form, e); else alert(e.message); }
}

function addOutputForm(c) {
  const form = el('form', { class: 'inline add-output' },
    el('label', {}, 'New output', el('input', { name: 'id', placeholder: 'id', required: true, size: 10 })),
    el('label', {}, 'URL', el('input', { name: 'url', placeholder: 'srt://host:9000', required: true, size: 28 })),
    el('label', {}, 'SCTE-35 plugin', el('input', { name: 'plugin', placeholder: '(none)', size: 10 })),
    el('button', { type: 'submit' }, 'Add output'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const output = { id: v.id, url: v.url };
    if (v.plugin) output.scte35 = { plugin: v.plugin };
    channelCall('POST', `/api/v1/channels/${c.name}/outputs`, output, form);
  });
  return form;
}

function channelCard(c) {
  const s = c.status;
  const op = can('operator');
  const controls = op ? [
    c.running
      ? el('button', { type: 'button', class: 'stop', onclick: () => channelCall('POST', `/api/v1/channels/${c.name}/stop`) }, 'Stop')
      : el('button', { type: 'button', class: 'primary start', onclick: () => channelCall('POST', `/api/v1/channels/${c.name}/start`) }, 'Start'),
    el('button', { type: 'button', class: 'danger', onclick: () => { if (confirm(`Delete ${c.name}?`)) channelCall('DELETE', `/api/v1/channels/${c.name}`); } }, 'Delete'),
  ] : [];
  const inputs = c.spec.inputs.map((url, i) => {
    const st = s?.inputs?.[i] || {};
    const role = i === 0 ? 'primary' : 'backup';
    const select = op && c.running && c.spec.inputs.length > 1 && !c.spec.merge && s?.active !== role
      ? el('button', { type: 'button', class: 'select-input', onclick: () => channelCall('POST', `/api/v1/channels/${c.name}/select`, { input: role }) }, 'Select') : '';
    return [role, url, st.state ? badge(st.state) : '-', st.active ? 'on air' : '', rate(st.bitrate_bps),
      seconds(st.uptime_s), st.cc_errors ?? '-', st.rtp?.lost ?? '-', select];
  });
  const outputs = c.spec.outputs.map((o) => {
    const st = s?.outputs?.find((x) => x.id === o.id) || {};
    const remove = op ? el('button', { type: 'button', class: 'remove-output', onclick: () => channelCall('DELETE', `/api/v1/channels/${c.name}/outputs/${o.id}`) }, 'Remove') : '';
    const watch = c.running && st.kind === 'hls'
      ? el('a', { class: 'watch', href: `#/watch?${encodeURIComponent(c.name)}/${encodeURIComponent(o.id)}` }, 'Watch') : '';
    return [o.id, o.url, st.state ? badge(st.state) : '-', rate(st.bitrate_bps), seconds(st.uptime_s),
      st.dropped ?? '-', st.errors ?? '-', st.cc_errors ?? '-', st.last_error || st.note || '', [watch, remove]];
  });
  const sw = s?.last_switch;
  return el('div', { class: 'card channel', 'data-name': c.name },
    el('h3', {}, c.name, badge(c.running ? 'running' : 'stopped'), ...controls),
    c.description ? el('p', { class: 'dim' }, c.description) : null,
    s ? el('p', { class: 'dim' }, `${s.merged ? 'ST 2022-7 merge' : `on the ${s.active}`} · ${s.switches} switches`
      + `${sw ? ` · last to the ${sw.to} (${sw.reason}) ${seconds(sw.ago_s)} ago` : ''} · SCTE-35: ${s.scte35.cues} cues`) : null,
    table(['Input', 'URL', 'State', '', 'Bitrate', 'Uptime', 'CC errors', 'RTP lost', ''], inputs),
    table(['Output', 'URL', 'State', 'Bitrate', 'Uptime', 'Dropped', 'Errors', 'CC errors', 'Last error', ''], outputs),
    op ? addOutputForm(c) : null);
}

function newChannelForm() {
  const example = { name: 'news', inputs: ['rtp://@239.1.1.1:5000', 'rtp://@239.1.1.2:5000'],
    failover: { detect_ms: 500, revert_after_s: 10 },
    outputs: [{ id: 'cdn', url: 'srt://cdn.example:9000?latency=200' }] };
  return newSpecForm('new-channel', 'New channel', example, '/api/v1/channels');
}

views.channels = async () => {
  const r = await api('GET', '/api/v1/channels');
  channels.clear();
  r.channels.forEach((c) => channels.set(c.name, c));
  return [el('h2', {}, 'Channels'), ...r.channels.map(channelCard), can('operator') ? newChannelForm() : null];
};

// --- the HLS player --------------------------------------------------------

// hls.js (built into the firmware, served from this origin) is loaded the
// first time a stream is watched.
let hlsLoaded = null;
function loadHls() {
  hlsLoaded ??= new Promise((resolve, reject) => {
    const script = el('script', { src: '/assets/hls.min.js' });
    script.onload = () => resolve(window.Hls);
    script.onerror = () => { hlsLoaded = null; reject(new Error('the player script did not load')); };
    document.head.append(script);
  });
  return hlsLoaded;
}

// The player on screen, if any (hls.js and its timers): stopped when
// another view is drawn.
let player = null;
function stopPlayer() {
  player?.hls.destroy();
  player?.timers.forEach(clearInterval);
  player = null;
}

// The timeline under the video: the seekable range, the playhead, and the
// channel's markers, each placed by its date (hls.js knows the date of
// the playhead from EXT-X-PROGRAM-DATE-TIME) and seeking there on click.
function markerTimeline(video, hls, channel) {
  const bar = el('div', { class: 'timeline', id: 'player-timeline' });
  const list = el('ul', { class: 'markers', id: 'player-markers' });
  let markers = [];
  const at = (ms) => {
    const date = hls.playingDate;
    return date ? video.currentTime + (ms - date.getTime()) / 1000 : null;
  };
  const seek = (m) => { const t = at(m.at_ms); if (t !== null) video.currentTime = t; };
  const draw = () => {
    const range = video.seekable;
    if (!range.length) return;
    const [from, to] = [range.start(0), range.end(range.length - 1)];
    const place = (t) => `${(100 * (t - from)) / Math.max(to - from, 1)}%`;
    const head = el('span', { class: 'playhead' });
    head.style.left = place(video.currentTime);
    const ticks = markers.map((m) => [m, at(m.at_ms)]).filter(([, t]) => t !== null && t >= from && t <= to)
      .map(([m, t]) => {
        const b = el('button', { type: 'button', class: 'marker', 'data-id': m.id, title: `${time(m.at_ms)} ${m.text}`, onclick: () => seek(m) });
        b.style.left = place(t);
        return b;
      });
    bar.replaceChildren(head, ...ticks);
    list.replaceChildren(...markers.map((m) => el('li', {},
      el('button', { type: 'button', class: 'seek', 'data-id': m.id, onclick: () => seek(m) }, time(m.at_ms)),
      ` ${m.text} `, el('span', { class: 'dim' }, m.source))));
  };
  const load = async () => {
    try { markers = (await api('GET', `/api/v1/channels/${encodeURIComponent(channel)}/markers`)).markers; } catch { /* drawn as before */ }
    draw();
  };
  load();
  video.addEventListener('timeupdate', () => { video.dataset.playingMs = hls.playingDate?.getTime() ?? ''; });
  video.addEventListener('seeked', draw);
  // Operators mark the moment on screen (the playhead's date).
  const form = can('operator') ? el('form', { class: 'inline mark' },
    el('label', {}, 'Marker', el('input', { name: 'text', placeholder: 'Kick-off', required: true, size: 24 })),
    el('button', { type: 'submit' }, 'Mark here')) : null;
  form?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { text: form.elements.text.value };
    if (hls.playingDate) body.at_ms = hls.playingDate.getTime();
    try {
      await api('POST', `/api/v1/channels/${encodeURIComponent(channel)}/markers`, body);
      form.reset();
      form.querySelectorAll('.error').forEach((e) => e.remove());
      load();
    } catch (e) { showError(form, e); }
  });
  return { nodes: [bar, el('h3', {}, 'Markers'), list, form], timers: [setInterval(load, 2000), setInterval(draw, 500)] };
}

// hls.js answers a seek that lands within `maxFragLookUpTolerance` (0.25 s)
// of a segment's end by loading the next segment, then reports jumping the
// gap to that segment's start as a non-fatal BUFFER_SEEK_OVER_HOLE (known
// hls.js behaviour, video-dev/hls.js#1936). Such a jump, from the point
// sought before the playhead moved on, and no longer than that tolerance
// plus hls.js's padding, is where the player began, not a hole in the
// stream: the function returned gives its length in seconds for it, and
// null for anything else, which stays an error.
function seekStartSkips(Hls, video, hls) {
  let sought = null;
  let jumping = false;
  video.addEventListener('seeking', () => {
    // hls.js's own jump seeks the video too: from there on, holes count.
    sought = jumping ? null : video.currentTime;
    jumping = false;
  });
  video.addEventListener('timeupdate', () => {
    if (sought !== null && Math.abs(video.currentTime - sought) > 0.001) sought = null;
  });
  return (d) => {
    if (d.details !== Hls.ErrorDetails.BUFFER_SEEK_OVER_HOLE) return null;
    // hls.js moved the playhead before reporting; its `seeking` follows.
    jumping = true;
    if (d.fatal || sought === null) return null;
    const jump = video.currentTime - sought;
    const most = hls.config.maxFragLookUpTolerance + hls.config.skipBufferHolePadding + 0.05;
    return jump > 0 && jump <= most ? jump : null;
  };
}

// `#/watch?CHANNEL/OUTPUT`: one HLS output of a channel, played live.
// Streams need no token (docs/streaming.md). Every hls.js error is shown
// and counted on the video element (`data-errors`, `data-fatal`), but one:
// see `seekStart`.
views.watch = async () => {
  stopPlayer();
  const [channel, output] = (location.hash.split('?')[1] || '').split('/').map(decodeURIComponent);
  const src = `/streams/${encodeURIComponent(channel)}/${encodeURIComponent(output)}/index.m3u8`;
  const video = el('video', { id: 'player', controls: true, muted: true, autoplay: true, playsinline: true,
    'data-errors': 0, 'data-fatal': 0 });
  video.muted = true;
  const state = el('p', { class: 'dim', id: 'player-state' }, 'loading the player');
  const problems = el('ul', { class: 'error', id: 'player-errors' });
  const Hls = await loadHls();
  if (!Hls.isSupported()) {
    return [el('h2', {}, `Watch ${channel}/${output}`), el('p', { class: 'error', role: 'alert' }, 'This browser cannot play HLS with Media Source Extensions.')];
  }
  const hls = new Hls({ liveSyncDurationCount: 3 });
  const timeline = markerTimeline(video, hls, channel);
  player = { hls, timers: timeline.timers };
  const note = el('p', { class: 'dim', id: 'player-note' });
  const seekStart = seekStartSkips(Hls, video, hls);
  hls.on(Hls.Events.ERROR, (_, d) => {
    const skipped = seekStart(d);
    if (skipped !== null) {
      video.dataset.skips = Number(video.dataset.skips ?? 0) + 1;
      note.textContent = `Started ${skipped.toFixed(2)} s after the point sought, where the next segment begins.`;
      return;
    }
    video.dataset.errors = Number(video.dataset.errors) + 1;
    if (d.fatal) video.dataset.fatal = Number(video.dataset.fatal) + 1;
    problems.append(el('li', {}, `${d.fatal ? 'fatal: ' : ''}${d.type} ${d.details}${d.response?.code ? ` (HTTP ${d.response.code})` : ''}`));
  });
  hls.on(Hls.Events.FRAG_CHANGED, (_, d) => {
    const f = d.frag;
    state.textContent = `segment ${f.sn} · ${f.duration.toFixed(2)} s`
      + `${f.programDateTime ? ` · ${new Date(f.programDateTime).toISOString()}` : ''} · ${video.videoWidth}×${video.videoHeight}`;
  });
  hls.loadSource(src);
  hls.attachMedia(video);
  return [el('h2', {}, `Watch ${channel}/${output}`), video, ...timeline.nodes.slice(0, 1), state, note, problems,
    ...timeline.nodes.slice(1),
    el('p', { class: 'dim' }, 'Playlist: ', el('a', { href: src }, src), ' · ', el('a', { href: '#/channels' }, 'back to the channels'))];
};

// A channel's status from the event stream, drawn into its card.
function channelStatus(e) {
  const c = channels.get(e.channel);
  const card = main.querySelector(`.card.channel[data-name="${CSS.escape(e.channel || '')}"]`);
  if (!c || !card || card.contains(document.activeElement)) return;
  c.status = e.data;
  c.running = true;
  card.replaceWith(channelCard(c));
}

function uploadForm() {
  const bar = el('progress', { max: 100, value: 0, hidden: true });
  const form = el('form', { id: 'upload' },
    el('h2', {}, 'Upload a plugin'),
    el('label', {}, 'Component (.wasm)', el('input', { name: 'component', type: 'file', accept: '.wasm', required: true })),
    el('label', {}, 'Manifest (TOML)', el('input', { name: 'manifest', type: 'file', accept: '.toml', required: true })),
    el('label', {}, 'Signature (128 hex digits, if signed)', el('input', { name: 'signature' })),
    bar, el('button', { class: 'primary', type: 'submit' }, 'Upload'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = new FormData();
    data.append('manifest', await form.elements.manifest.files[0].text());
    data.append('component', form.elements.component.files[0]);
    if (form.elements.signature.value.trim()) data.append('signature', form.elements.signature.value.trim());
    // XMLHttpRequest, for upload progress events.
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/plugins');
    xhr.setRequestHeader('Authorization', `Bearer ${session.token}`);
    bar.hidden = false;
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
    xhr.onload = () => {
      if (xhr.status === 201) { render(); return; }
      let p = {};
      try { p = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      showError(form, new ApiError(xhr.status, p.title || xhr.statusText, p.detail || ''));
    };
    xhr.onerror = () => showError(form, new Error('upload failed: network error'));
    xhr.send(data);
  });
  return form;
}

views.plugins = async () => {
  const r = await api('GET', '/api/v1/plugins');
  const rows = r.plugins.map((p) => {
    const toggle = can('admin') && !p.bundled
      ? el('button', { type: 'button', class: p.enabled ? 'disable' : 'enable', onclick: async () => { await api('POST', `/api/v1/plugins/${p.hash}/${p.enabled ? 'disable' : 'enable'}`); render(); } }, p.enabled ? 'Disable' : 'Enable')
      : '';
    return [p.name, p.version, p.world, p.description, p.capabilities.join(', ') || 'none',
      `${p.limits.memory_bytes >> 20} MiB, ${p.limits.deadline_fraction} frame`,
      p.bundled ? 'bundled' : (p.signed_by || 'unsigned'), p.enabled ? 'yes' : 'no', toggle];
  });
  return [el('h2', {}, 'Plugins'),
    table(['Name', 'Version', 'World', 'Description', 'Capabilities', 'Limits', 'From', 'Enabled', ''], rows),
    can('admin') ? uploadForm() : null];
};

views.audit = async () => {
  let after = 0;
  let records = [];
  for (let page = 0; page < 50; page += 1) {
    const r = await api('GET', `/api/v1/audit?after=${after}&limit=1000`);
    if (r.records.length === 0) break;
    records = records.concat(r.records).slice(-100);
    after = r.records[r.records.length - 1].seq;
  }
  return [el('h2', {}, 'Audit log (latest 100)'),
    table(['#', 'Time (UTC)', 'Who', 'From', 'What', 'Status'],
      records.reverse().map((a) => [a.seq, time(a.at_ms), a.who, a.from, a.what, a.status]))];
};

views.users = async () => {
  const r = await api('GET', '/api/v1/users');
  const form = el('form', { id: 'add-user' },
    el('h2', {}, 'Add a user'),
    el('label', {}, 'Name', el('input', { name: 'name', required: true })),
    el('label', {}, 'Password (12 characters or more)', el('input', { name: 'password', type: 'password', required: true })),
    el('label', {}, 'Role', el('select', { name: 'role' }, ['viewer', 'operator', 'admin'].map((x) => el('option', { value: x }, x)))),
    el('button', { class: 'primary', type: 'submit' }, 'Add'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await api('POST', '/api/v1/users', formValues(form)); render(); } catch (e) { showError(form, e); }
  });
  return [el('h2', {}, 'Users'),
    table(['Name', 'Role', 'Created (UTC)', ''], r.users.map((u) => [u.name, u.role, time(u.created_ms),
      el('button', { type: 'button', class: 'danger', onclick: async () => { try { await api('DELETE', `/api/v1/users/${u.name}`); render(); } catch (e) { alert(e.message); } } }, 'Delete')])),
    form];
};

views.tokens = async () => {
  const r = await api('GET', '/api/v1/tokens');
  const shown = el('p', { id: 'new-token' });
  const form = el('form', { class: 'inline', id: 'add-token' },
    el('label', {}, 'Label', el('input', { name: 'label', required: true })),
    el('button', { class: 'primary', type: 'submit' }, 'Make a token'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const t = await api('POST', '/api/v1/tokens', { label: form.elements.label.value });
      shown.textContent = `New token (shown once): ${t.token}`;
    } catch (e) { showError(form, e); }
  });
  return [el('h2', {}, 'API tokens'),
    table(['Id', 'User', 'Label', 'Expires (UTC)', ''], r.tokens.map((t) => [t.id, t.user, t.label, time(t.expires_ms),
      el('button', { type: 'button', class: 'danger', onclick: async () => { await api('DELETE', `/api/v1/tokens/${t.id}`); render(); } }, 'Revoke')])),
    form, shown];
};

// --- routing, live updates -----------------------------------------------

function current() {
  const name = location.hash.replace(/^#\//, '').split('?')[0] || 'pipelines';
  return views[name] && name !== 'login' ? name : 'pipelines';
}

// Refreshes (timer, events) leave a view alone while the user has typed
// into one of its forms; a render after the user's own action does not.
main.addEventListener('input', () => { main.dataset.dirty = '1'; });

let rendering = Promise.resolve();
function refresh() {
  // The player's view is left alone: drawing it again restarts the stream.
  if (!main.dataset.dirty && current() !== 'watch') render();
}

function render() {
  rendering = rendering.then(async () => {
    if (!session.token) {
      main.replaceChildren(...views.login());
      main.dataset.view = 'login';
      return;
    }
    const name = current();
    if (name !== 'watch') stopPlayer();
    document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.getAttribute('href') === `#/${name}`));
    try {
      const nodes = await views[name]();
      // A refresh of the same view keeps a field the user is typing in.
      const typing = main.contains(document.activeElement) && document.activeElement.matches('input, textarea, select');
      if (typing && main.dataset.view === name) return;
      main.replaceChildren(...nodes.filter(Boolean));
      main.dataset.view = name;
      delete main.dataset.dirty;
    } catch (e) {
      main.replaceChildren(el('p', { class: 'error', role: 'alert' }, e.message));
    }
  });
  return rendering;
}

// The event stream: fetch (EventSource cannot send the token), parsed by
// hand. A pipeline or node event re-renders the view; the connection is
// made again after a drop.
let streamAbort = null;
async function events() {
  streamAbort?.abort();
  streamAbort = new AbortController();
  const live = document.getElementById('live');
  const last = document.getElementById('last-event');
  try {
    const r = await fetch('/api/v1/events', { headers: { Authorization: `Bearer ${session.token}` }, signal: streamAbort.signal });
    if (!r.ok) throw new Error(`${r.status}`);
    live.textContent = 'live';
    live.classList.add('on');
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (!data) continue;
        const e = JSON.parse(data);
        last.textContent = `${time(e.at_ms)} ${e.kind} ${e.channel || e.pipeline}${e.node ? `/${e.node}` : ''}`;
        if (e.kind === 'channel.status') { if (current() === 'channels') channelStatus(e); continue; }
        if (e.kind.startsWith('pipeline.') || e.kind.startsWith('node.')) refresh();
        if (e.kind.startsWith('channel.') && current() === 'channels') refresh();
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') return;
  }
  live.textContent = 'offline';
  live.classList.remove('on');
  if (session.token) setTimeout(events, 2000);
}

function start() {
  const nav = document.getElementById('nav');
  nav.hidden = false;
  nav.querySelectorAll('[data-role]').forEach((a) => { a.hidden = !can(a.dataset.role); });
  document.getElementById('who').textContent = `${session.user} (${session.role})`;
  document.getElementById('logout').hidden = false;
  events();
  clearInterval(refreshTimer);
  // Counters (grains, rates, thumbnails) between events.
  refreshTimer = setInterval(() => { if (['flows', 'pipelines', 'status'].includes(current())) refresh(); }, 2000);
  render();
}

function logout() {
  sessionStorage.clear();
  streamAbort?.abort();
  clearInterval(refreshTimer);
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  render();
}

document.getElementById('logout').addEventListener('click', logout);
window.addEventListener('hashchange', () => { delete main.dataset.dirty; render(); });
if (session.token) start(); else render();
