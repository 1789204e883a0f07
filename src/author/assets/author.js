// The authoring page: the live screen over a WebSocket (PNG updates of the changed part),
// keyboard and mouse to the guest, freeze / draw / save a reference, the live check.
// Plain script, no build step: it is served from the vncpilot binary.
'use strict';

const $ = (id) => document.getElementById(id);
const screen = $('screen');
const ctx = screen.getContext('2d');
const frozen = $('frozen');
const overlay = $('overlay');
const state = {
  // Read by tests: updates drawn, the screen's size, the last check results.
  updates: 0, bytes: 0, width: 0, height: 0, checks: [], errors: [], saved: null,
  shapes: [], mode: 'live',
};
window.author = state;

const base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + base + 'ws');
socket.binaryType = 'arraybuffer';

function showError(message) {
  state.errors.push(message);
  $('error').textContent = message;
}

function send(message) {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

// Updates are decoded asynchronously; a chain keeps them in order.
let drawing = Promise.resolve();
socket.onmessage = (event) => {
  if (typeof event.data !== 'string') {
    state.bytes += event.data.byteLength;
    const view = new DataView(event.data);
    const [w, h, x, y] = [0, 4, 8, 12].map((o) => view.getUint32(o));
    const png = new Blob([event.data.slice(24)], { type: 'image/png' });
    drawing = drawing.then(async () => {
      const bitmap = await createImageBitmap(png);
      if (screen.width !== w || screen.height !== h) {
        screen.width = w; screen.height = h;
        state.width = w; state.height = h;
        $('size').textContent = w + '×' + h;
      }
      ctx.drawImage(bitmap, x, y);
      bitmap.close();
      state.updates += 1;
    }).catch((e) => showError('screen update: ' + e));
    return;
  }
  const msg = JSON.parse(event.data);
  if (msg.type === 'hello') {
    $('status').textContent = 'connected';
    $('set').textContent = msg.set ? 'set ' + msg.set : 'no set (view only)';
  } else if (msg.type === 'checks') {
    showChecks(msg.results);
  } else if (msg.type === 'error') {
    showError(msg.message);
  }
};
socket.onclose = () => { $('status').textContent = 'disconnected'; };

function showChecks(results) {
  state.checks = results;
  const list = $('checks');
  list.replaceChildren();
  const sorted = [...results].sort((a, b) => b.similarity - a.similarity);
  for (const r of sorted) {
    const li = document.createElement('li');
    li.className = r.matched ? 'match' : 'miss';
    li.dataset.name = r.name;
    const name = document.createElement('span');
    name.textContent = r.name;
    const sim = document.createElement('span');
    sim.textContent = r.similarity.toFixed(3) + (r.matched ? ' ✓' : ' < ' + r.threshold.toFixed(2));
    const open = document.createElement('button');
    open.className = 'edit';
    open.textContent = 'edit';
    open.title = 'edit this reference';
    open.onclick = () => edit(r.name);
    li.append(name, sim, open);
    list.append(li);
  }
  if (!results.length) {
    const li = document.createElement('li');
    li.className = 'none';
    li.textContent = 'no references yet';
    list.append(li);
  }
}

// Keyboard: a key pressed on the live screen. Printable characters are typed; everything else
// (and anything with ctrl/alt/meta) becomes a key combo of vncpilot's key names.
const NAMED = {
  Enter: 'ret', Escape: 'esc', Tab: 'tab', ' ': 'spc', Backspace: 'backspace', Delete: 'delete',
  Insert: 'insert', Home: 'home', End: 'end', PageUp: 'pgup', PageDown: 'pgdn',
  ArrowUp: 'up', ArrowDown: 'down', ArrowLeft: 'left', ArrowRight: 'right',
};
function comboOf(e) {
  if (['Control', 'Shift', 'Alt', 'Meta', 'AltGraph', 'CapsLock'].includes(e.key)) return null;
  let key = NAMED[e.key] || (/^F([1-9]|1[0-2])$/.test(e.key) ? e.key.toLowerCase() : null);
  const mods = (e.ctrlKey ? 'ctrl-' : '') + (e.altKey ? 'alt-' : '') + (e.metaKey ? 'super-' : '');
  if (!key) {
    if (e.key.length !== 1) return null;
    if (!mods) return { type: 'text', text: e.key };
    key = e.key.toLowerCase();
    return { type: 'key', combo: mods + (e.shiftKey ? 'shift-' : '') + key };
  }
  return { type: 'key', combo: mods + (e.shiftKey && key !== 'spc' ? 'shift-' : '') + key };
}
screen.addEventListener('keydown', (e) => {
  const msg = comboOf(e);
  if (!msg) return;
  e.preventDefault();
  send(msg);
});

// Mouse on the live screen, in guest pixels; moves at most every 30 ms.
const BUTTONS = (b) => (b & 1 ? 1 : 0) | (b & 4 ? 2 : 0) | (b & 2 ? 4 : 0);
function guestXY(e, canvas) {
  const r = canvas.getBoundingClientRect();
  const x = Math.floor((e.clientX - r.left) * canvas.width / r.width);
  const y = Math.floor((e.clientY - r.top) * canvas.height / r.height);
  return [Math.max(0, Math.min(canvas.width - 1, x)), Math.max(0, Math.min(canvas.height - 1, y))];
}
let lastMove = 0;
function pointer(e, always) {
  const now = performance.now();
  if (!always && now - lastMove < 30) return;
  lastMove = now;
  const [x, y] = guestXY(e, screen);
  send({ type: 'pointer', x, y, buttons: BUTTONS(e.buttons) });
}
screen.addEventListener('mousemove', (e) => pointer(e, false));
screen.addEventListener('mousedown', (e) => { screen.focus(); pointer(e, true); e.preventDefault(); });
screen.addEventListener('mouseup', (e) => pointer(e, true));
screen.addEventListener('contextmenu', (e) => e.preventDefault());

$('type-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('type-text').value;
  if (text) send({ type: 'text', text });
  if ($('type-enter').checked) send({ type: 'key', combo: 'ret' });
  $('type-text').value = '';
});
$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  for (const combo of $('key-combo').value.split(/\s+/).filter(Boolean)) send({ type: 'key', combo });
});

// Freeze, draw, save.
async function api(path, body) {
  const r = await fetch(base + 'api/' + path, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body || {}),
  });
  const reply = await r.json();
  if (!r.ok) throw new Error(reply.error || r.statusText);
  return reply;
}

// Shows `src` (width × height) for drawing, with `shapes` already on it.
async function showEditor(src, width, height, shapes) {
  const img = new Image();
  img.src = src;
  await img.decode();
  for (const c of [frozen, overlay]) { c.width = width; c.height = height; }
  frozen.getContext('2d').drawImage(img, 0, 0);
  state.mode = 'frozen';
  state.shapes = shapes;
  redraw();
  $('screen').hidden = true;
  $('editor').hidden = false;
  $('tools').hidden = false;
  $('live').hidden = false;
  $('freeze').hidden = true;
  $('mode').textContent = 'frozen';
  $('mode').className = 'frozen';
}
$('freeze').addEventListener('click', async () => {
  try {
    const f = await api('freeze');
    state.frozenSerial = f.serial;
    await showEditor(base + 'api/frozen.png?serial=' + f.serial, f.width, f.height, []);
  } catch (e) { showError('freeze: ' + e.message); }
});
// Edit an existing reference: its image frozen, its rectangles and click point drawn.
async function edit(name) {
  try {
    const r = await api('edit', { name });
    const d = r.drawing;
    const shapes = [
      ...d.matches.map((m) => ({ kind: 'match', ...m })),
      ...d.excludes.map((m) => ({ kind: 'exclude', ...m })),
      ...(d.click ? [{ kind: 'click', x: d.click[0], y: d.click[1] }] : []),
    ];
    await showEditor(base + 'api/frozen.png?edit=' + encodeURIComponent(name) + '&t=' + Date.now(),
      r.width, r.height, shapes);
    $('ref-name').value = d.name;
    $('ref-threshold').value = d.threshold ?? '';
    $('ref-margin').value = d.margin ?? '';
    state.editing = d.name;
  } catch (e) { showError('edit: ' + e.message); }
}
state.edit = edit;
$('live').addEventListener('click', () => {
  state.mode = 'live';
  $('screen').hidden = false;
  $('editor').hidden = true;
  $('tools').hidden = true;
  $('live').hidden = true;
  $('freeze').hidden = false;
  $('mode').textContent = 'live';
  $('mode').className = '';
  screen.focus();
});

const COLOURS = { match: '#7fc97f', exclude: '#e06c75', click: '#61afef' };
function redraw(rubber) {
  const o = overlay.getContext('2d');
  o.clearRect(0, 0, overlay.width, overlay.height);
  for (const s of rubber ? [...state.shapes, rubber] : state.shapes) {
    o.strokeStyle = COLOURS[s.kind];
    o.fillStyle = COLOURS[s.kind] + '33';
    o.lineWidth = 2;
    if (s.kind === 'click') {
      o.beginPath(); o.arc(s.x + 0.5, s.y + 0.5, 6, 0, 2 * Math.PI); o.stroke();
      o.beginPath(); o.moveTo(s.x - 9, s.y + 0.5); o.lineTo(s.x + 10, s.y + 0.5);
      o.moveTo(s.x + 0.5, s.y - 9); o.lineTo(s.x + 0.5, s.y + 10); o.stroke();
    } else {
      o.fillRect(s.x, s.y, s.w, s.h);
      o.strokeRect(s.x + 1, s.y + 1, s.w - 2, s.h - 2);
    }
  }
  const list = $('shapes');
  list.replaceChildren();
  state.shapes.forEach((s, i) => {
    const li = document.createElement('li');
    li.className = s.kind;
    li.textContent = s.kind === 'click' ? `click at ${s.x},${s.y}` : `${s.kind} ${s.w}×${s.h} at ${s.x},${s.y}`;
    const del = document.createElement('button');
    del.textContent = '✕';
    del.title = 'remove';
    del.onclick = () => { state.shapes.splice(i, 1); redraw(); };
    li.append(del);
    list.append(li);
  });
}
const tool = () => document.querySelector('input[name=tool]:checked').value;
let dragFrom = null;
overlay.addEventListener('mousedown', (e) => {
  const [x, y] = guestXY(e, overlay);
  if (tool() === 'click') {
    state.shapes = state.shapes.filter((s) => s.kind !== 'click');
    state.shapes.push({ kind: 'click', x, y });
    redraw();
    return;
  }
  dragFrom = [x, y];
});
function rectTo(e) {
  const [x, y] = guestXY(e, overlay);
  const [x0, y0] = dragFrom;
  return { kind: tool(), x: Math.min(x, x0), y: Math.min(y, y0), w: Math.abs(x - x0) + 1, h: Math.abs(y - y0) + 1 };
}
overlay.addEventListener('mousemove', (e) => { if (dragFrom) redraw(rectTo(e)); });
window.addEventListener('mouseup', (e) => {
  if (!dragFrom) return;
  const r = rectTo(e);
  dragFrom = null;
  if (r.w >= 2 && r.h >= 2) state.shapes.push(r);
  redraw();
});

$('save-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const rect = ({ x, y, w, h }) => ({ x, y, w, h });
  const click = state.shapes.find((s) => s.kind === 'click');
  const body = {
    name: $('ref-name').value.trim(),
    matches: state.shapes.filter((s) => s.kind === 'match').map(rect),
    excludes: state.shapes.filter((s) => s.kind === 'exclude').map(rect),
    click: click ? [click.x, click.y] : null,
    threshold: $('ref-threshold').value === '' ? null : Number($('ref-threshold').value),
    margin: $('ref-margin').value === '' ? null : Number($('ref-margin').value),
  };
  try {
    const saved = await api('save', body);
    state.saved = saved;
    $('saved').textContent = `saved ${saved.screen}, ${saved.mask}, ${saved.settings} (${saved.regions} region(s))`;
    $('error').textContent = saved.reload_error || '';
  } catch (err) { showError('save: ' + err.message); }
});

// Developer mode: a paused run shows why; Retry reruns the step with the references reloaded.
let pausedAt = null;
async function pollPause() {
  try {
    const r = await fetch(base + 'api/pause', { cache: 'no-store' });
    const p = await r.json();
    $('paused').hidden = !p.paused;
    const key = p.paused ? `${p.step} ${p.reason}` : null;
    if (p.paused && key !== pausedAt) {
      $('paused-reason').textContent = p.reason;
      // The failed frame is what the guest shows now: freeze it, named as the awaited screen.
      if (state.mode === 'live') $('freeze').click();
      if (!$('ref-name').value && p.screens.length) $('ref-name').value = p.screens[0];
    }
    pausedAt = key;
  } catch (e) { /* the run may be ending; the next poll tells */ }
  setTimeout(pollPause, 1000);
}
async function answer(retry) {
  try {
    await api('resume', { retry });
    $('paused').hidden = true;
    if (state.mode !== 'live') $('live').click();
  } catch (e) { showError('resume: ' + e.message); }
}
$('retry').addEventListener('click', () => answer(true));
$('give-up').addEventListener('click', () => answer(false));
pollPause();

screen.focus();
