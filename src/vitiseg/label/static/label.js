// vitiseg label: correct a class mask over a photo, then save it beside the photo.
//
// The mask (one byte a pixel, class indices) and the photo's regions live in typed arrays;
// every tool changes mask pixels, records them for undo, and repaints only the changed
// rectangle of the colour layer. Nothing waits for the server but loading and saving.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("config").textContent);
  // the token now lives in the page's cookie: keep it out of the history and bookmarks
  if (location.search) history.replaceState(null, "", location.pathname);
  const $ = (id) => document.getElementById(id);
  const el = {
    photo: $("photo"), overlay: $("overlay"), outlines: $("outline-layer"), hover: $("hover"),
    cursor: $("cursor"), stage: $("stage"), viewport: $("viewport"), list: $("photo-list"),
    status: $("status"), progress: $("progress"), source: $("source"), save: $("save"),
    message: $("message"), brush: $("brush-size"), brushValue: $("brush-value"),
    opacity: $("opacity"), opacityValue: $("opacity-value"), showOutlines: $("outlines"),
  };
  const IGNORED = 255;
  const SOURCES = { saved: "saved mask", model: "model's guess", empty: "empty mask" };

  // each class value as an RGBA pixel (little-endian uint32); background stays clear
  const colour32 = new Uint32Array(256);
  config.colours.forEach(([r, g, b], c) => {
    if (c > 0) colour32[c] = ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
  });
  colour32[IGNORED] = ((170 << 24) | (128 << 16) | (128 << 8) | 128) >>> 0;
  const HOVER_BACKGROUND = ((150 << 24) | (255 << 16) | (255 << 8) | 255) >>> 0;

  const state = {
    tool: "region", cls: Math.min(1, config.classes.length - 1), brush: +el.brush.value,
    photos: [], index: -1, name: null, source: null,
    W: 0, H: 0, mask: null, regions: null, regionStart: null, regionPixels: null, regionBox: null,
    overlayData: null, overlay32: null, ctx: null, stack: null, scratch: null,
    undo: [], redo: [], savedTop: null, saving: null,
    view: { scale: 1, x: 0, y: 0 }, fitScale: 1,
    action: null, pan: null, spaceDown: false, hoverRegion: -1, dirtyBox: null,
    timings: [], prefetched: new Map(), loading: 0,
  };

  // ---- server -----------------------------------------------------------------------
  const photoUrl = (name, what) => `api/photos/${encodeURIComponent(name)}/${what}`;
  // every request carries the token: the page needs no cookie (a reload uses it)
  const send = (url, options = {}) =>
    fetch(url, { ...options, headers: { "X-Vitiseg-Token": config.token, ...options.headers } });

  async function checked(response) {
    if (!response.ok) {
      let text = response.statusText;
      try { text = (await response.json()).error || text; } catch (e) { /* not JSON */ }
      throw new Error(text);
    }
    return response;
  }

  async function fetchRegions(name) {
    const response = await checked(await send(photoUrl(name, "regions")));
    const bytes = +response.headers.get("X-Bytes-Per-Pixel");
    const buffer = await response.arrayBuffer();
    return bytes === 2 ? new Uint16Array(buffer) : new Uint32Array(buffer);
  }

  async function fetchPhoto(name) {
    const regions = fetchRegions(name);  // the slowest: asked for first
    regions.catch(() => {});  // its failure is shown when the photo uses it
    const [blob, maskResponse] = await Promise.all([
      send(photoUrl(name, "image")).then(checked).then((r) => r.blob()),
      send(photoUrl(name, "mask")).then(checked),
    ]);
    const W = +maskResponse.headers.get("X-Width"), H = +maskResponse.headers.get("X-Height");
    const mask = new Uint8Array(await maskResponse.arrayBuffer());
    const url = URL.createObjectURL(blob);
    const image = new Image();
    image.src = url;
    await image.decode();
    return { name, W, H, mask, url, source: maskResponse.headers.get("X-Source"), regions };
  }

  async function refreshList() {
    const listing = await (await checked(await send("api/photos"))).json();
    state.photos = listing.photos;
    el.list.replaceChildren(...listing.photos.map((p, i) => {
      const option = document.createElement("option");
      option.value = String(i);
      option.textContent = `${p.labelled ? "\u2713" : "\u00a0\u00a0"} ${p.name}`;
      return option;
    }));
    if (state.index >= 0) el.list.value = String(state.index);
    showProgress(listing.labelled, listing.left);
  }

  function showProgress(labelled, left) {
    el.progress.textContent = `${labelled} labelled / ${left} left`;
  }

  function setStatus(text, error = false) {
    el.status.textContent = text;
    el.status.classList.toggle("error", error);
  }

  function showMessage(text) {
    el.message.textContent = text;
    el.message.classList.toggle("shown", !!text);
  }

  // ---- opening a photo --------------------------------------------------------------
  async function open(index) {
    if (index < 0 || index >= state.photos.length) return;
    if (dirty() && !(await save())) return;  // unsaved changes are never dropped
    const name = state.photos[index].name;
    const ticket = ++state.loading;
    if (!state.prefetched.has(name)) showMessage("loading\u2026");
    let data;
    try {
      data = await (state.prefetched.get(name) || fetchPhoto(name));
    } catch (error) {
      state.prefetched.delete(name);
      if (ticket === state.loading) { showMessage(""); setStatus(`${name}: ${error.message}`, true); }
      return;
    }
    state.prefetched.delete(name);
    if (ticket !== state.loading) return;
    show(index, data);
    showMessage("");
    data.regions.then((regions) => {
      if (state.name === name) useRegions(regions);
      prefetch(index + 1);
    }, (error) => setStatus(`${name}: regions: ${error.message}`, true));
  }

  function prefetch(index) {
    if (index >= state.photos.length) return;
    const name = state.photos[index].name;
    for (const key of state.prefetched.keys()) if (key !== name) state.prefetched.delete(key);
    if (!state.prefetched.has(name)) {
      const pending = fetchPhoto(name);
      pending.catch(() => state.prefetched.delete(name));
      state.prefetched.set(name, pending);
    }
  }

  function show(index, data) {
    const sameSize = data.W === state.W && data.H === state.H;
    Object.assign(state, {
      index, name: data.name, source: data.source, W: data.W, H: data.H, mask: data.mask,
      regions: null, regionStart: null, regionPixels: null, regionBox: null,
      undo: [], redo: [], savedTop: null,
      hoverRegion: -1,
    });
    if (!sameSize || !state.overlayData) {
      for (const canvas of [el.overlay, el.outlines, el.hover]) {
        canvas.width = data.W;
        canvas.height = data.H;
      }
      el.stage.style.width = `${data.W}px`;
      el.stage.style.height = `${data.H}px`;
      state.ctx = el.overlay.getContext("2d");
      state.overlayData = state.ctx.createImageData(data.W, data.H);
      state.overlay32 = new Uint32Array(state.overlayData.data.buffer);
      state.stack = new Int32Array(2 * data.W * data.H + 2);  // a fill pushes at most two seeds a run
      state.scratch = new Int32Array(2 * data.W * data.H + 2);
    }
    if (el.photo.src.startsWith("blob:")) URL.revokeObjectURL(el.photo.src);
    el.photo.src = data.url;
    el.photo.width = data.W;
    el.photo.height = data.H;
    paintAll();
    el.hover.getContext("2d").clearRect(0, 0, data.W, data.H);
    el.outlines.getContext("2d").clearRect(0, 0, data.W, data.H);
    el.outlines.dataset.photo = "";
    el.list.value = String(index);
    el.source.textContent = SOURCES[data.source] || data.source;
    el.stage.dataset.photo = data.name;
    if (!sameSize) fit();
    showDirty();
    setStatus(state.regions ? "" : "finding regions\u2026");
  }

  function useRegions(regions) {
    const n = regions.length;
    let count = 0;
    for (let i = 0; i < n; i++) if (regions[i] >= count) count = regions[i] + 1;
    const start = new Int32Array(count + 1);
    for (let i = 0; i < n; i++) start[regions[i] + 1]++;
    for (let r = 0; r < count; r++) start[r + 1] += start[r];
    const next = start.slice(0, count);
    const pixels = new Int32Array(n);
    const box = new Int32Array(4 * count);
    for (let r = 0; r < count; r++) { box[4 * r] = state.W; box[4 * r + 1] = state.H; box[4 * r + 2] = -1; box[4 * r + 3] = -1; }
    for (let y = 0, i = 0; y < state.H; y++) {
      for (let x = 0; x < state.W; x++, i++) {
        const r = regions[i];
        pixels[next[r]++] = i;
        const b = 4 * r;
        if (x < box[b]) box[b] = x;
        if (y < box[b + 1]) box[b + 1] = y;
        if (x > box[b + 2]) box[b + 2] = x;
        if (y > box[b + 3]) box[b + 3] = y;
      }
    }
    Object.assign(state, { regions, regionStart: start, regionPixels: pixels, regionBox: box });
    if (el.showOutlines.checked) drawOutlines();
    setStatus(`${count} regions`);
    el.stage.dataset.regions = String(count);
  }

  function drawOutlines() {
    if (!state.regions || el.outlines.dataset.photo === state.name) return;
    const { W, H, regions } = state;
    const ctx = el.outlines.getContext("2d");
    const data = ctx.createImageData(W, H);
    const out = new Uint32Array(data.data.buffer);
    const line = ((200 << 24) | (255 << 16) | (255 << 8) | 255) >>> 0;
    for (let y = 0, i = 0; y < H; y++) {
      for (let x = 0; x < W; x++, i++) {
        const r = regions[i];
        if ((x + 1 < W && regions[i + 1] !== r) || (y + 1 < H && regions[i + W] !== r)) out[i] = line;
      }
    }
    ctx.putImageData(data, 0, 0);
    el.outlines.dataset.photo = state.name;
  }

  // ---- painting ---------------------------------------------------------------------
  function paintAll() {
    const { mask, overlay32 } = state;
    for (let i = 0; i < mask.length; i++) overlay32[i] = colour32[mask[i]];
    state.ctx.putImageData(state.overlayData, 0, 0);
  }

  function touch(x0, y0, x1, y1) {
    const b = state.dirtyBox;
    if (!b) state.dirtyBox = [x0, y0, x1, y1];
    else { b[0] = Math.min(b[0], x0); b[1] = Math.min(b[1], y0); b[2] = Math.max(b[2], x1); b[3] = Math.max(b[3], y1); }
  }

  function flush() {
    const b = state.dirtyBox;
    if (!b) return;
    state.dirtyBox = null;
    state.ctx.putImageData(state.overlayData, 0, 0, b[0], b[1], b[2] - b[0] + 1, b[3] - b[1] + 1);
  }

  // the pixels one action changed and their classes before it; or, for a fill, runs of
  // pixels [start, end) of a row that were all of class runsOld
  class Change {
    constructor(cls, what) {
      this.cls = cls; this.what = what; this.n = 0; this.runs = null; this.runsOld = 0;
      this.index = new Int32Array(1024); this.old = new Uint8Array(1024);
      this.box = [Infinity, Infinity, -1, -1];
    }
    add(i, old) {
      if (this.n === this.index.length) {
        const index = new Int32Array(this.n * 2); index.set(this.index); this.index = index;
        const before = new Uint8Array(this.n * 2); before.set(this.old); this.old = before;
      }
      this.index[this.n] = i; this.old[this.n++] = old;
    }
    grow(x0, y0, x1, y1) {
      const b = this.box;
      b[0] = Math.min(b[0], x0); b[1] = Math.min(b[1], y0); b[2] = Math.max(b[2], x1); b[3] = Math.max(b[3], y1);
      touch(x0, y0, x1, y1);
    }
  }

  function set(i, change) {
    const old = state.mask[i];
    if (old === change.cls) return;
    change.add(i, old);
    state.mask[i] = change.cls;
    state.overlay32[i] = colour32[change.cls];
  }

  function paintRegion(r, change) {
    const { regionStart, regionPixels, regionBox } = state;
    for (let k = regionStart[r]; k < regionStart[r + 1]; k++) set(regionPixels[k], change);
    change.grow(regionBox[4 * r], regionBox[4 * r + 1], regionBox[4 * r + 2], regionBox[4 * r + 3]);
  }

  // every pixel whose centre is within `radius` of the segment a-b
  function paintSegment(ax, ay, bx, by, radius, change) {
    const { W, H } = state;
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - radius)), x1 = Math.min(W - 1, Math.ceil(Math.max(ax, bx) + radius));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - radius)), y1 = Math.min(H - 1, Math.ceil(Math.max(ay, by) + radius));
    if (x0 > x1 || y0 > y1) return;
    const dx = bx - ax, dy = by - ay, length2 = dx * dx + dy * dy, r2 = radius * radius;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        let t = length2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / length2 : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const ex = x - (ax + t * dx), ey = y - (ay + t * dy);
        if (ex * ex + ey * ey <= r2) set(y * W + x, change);
      }
    }
    change.grow(x0, y0, x1, y1);
  }

  // the 4-connected area of the clicked pixel's class, a run of a row at a time
  function fill(x, y, change) {
    const { W, H, mask, stack, overlay32 } = state;
    const target = mask[y * W + x], cls = change.cls, colour = colour32[cls];
    if (target === cls) return;
    const runs = state.scratch;
    let top = 0, n = 0, x0 = x, y0 = y, x1 = x, y1 = y;
    stack[top++] = y * W + x;
    while (top > 0) {
      const seed = stack[--top];
      if (mask[seed] !== target) continue;
      const sx = seed % W, row = seed - sx, sy = row / W;
      let left = sx, right = sx;
      while (left > 0 && mask[row + left - 1] === target) left--;
      while (right + 1 < W && mask[row + right + 1] === target) right++;
      mask.fill(cls, row + left, row + right + 1);
      overlay32.fill(colour, row + left, row + right + 1);
      runs[n++] = row + left;
      runs[n++] = row + right + 1;
      if (left < x0) x0 = left;
      if (right > x1) x1 = right;
      if (sy < y0) y0 = sy;
      if (sy > y1) y1 = sy;
      for (let other = row - W; other <= row + W; other += 2 * W) {  // a seed a run around
        if (other < 0 || other >= W * H) continue;
        let inRun = false;
        for (let i = other + left; i <= other + right; i++) {
          const match = mask[i] === target;
          if (match && !inRun) stack[top++] = i;
          inRun = match;
        }
      }
    }
    change.runs = runs.slice(0, n);
    change.runsOld = target;
    change.grow(x0, y0, x1, y1);
  }

  function commit(change) {
    if (change.n === 0 && !(change.runs && change.runs.length)) return;
    state.undo.push(change);
    state.redo = [];
    showDirty();
  }

  function replay(change, undoing) {
    const { mask, overlay32 } = state;
    for (let k = 0; k < change.n; k++) {
      const i = change.index[k], value = undoing ? change.old[k] : change.cls;
      mask[i] = value;
      overlay32[i] = colour32[value];
    }
    const runs = change.runs, value = undoing ? change.runsOld : change.cls;
    for (let k = 0; runs && k < runs.length; k += 2) {
      mask.fill(value, runs[k], runs[k + 1]);
      overlay32.fill(colour32[value], runs[k], runs[k + 1]);
    }
    const b = change.box;
    touch(b[0], b[1], b[2], b[3]);
    flush();
  }

  function undo() {
    const change = state.undo.pop();
    if (!change) return setStatus("nothing to undo");
    replay(change, true);
    state.redo.push(change);
    showDirty();
    setStatus(`undone: ${change.what}`);
  }

  function redo() {
    const change = state.redo.pop();
    if (!change) return setStatus("nothing to redo");
    replay(change, false);
    state.undo.push(change);
    showDirty();
    setStatus(`redone: ${change.what}`);
  }

  // ---- saving -----------------------------------------------------------------------
  // unsaved: the last change kept is not the one the last save saw
  const lastChange = () => (state.undo.length ? state.undo[state.undo.length - 1] : null);
  const dirty = () => state.mask !== null && lastChange() !== state.savedTop;

  function showDirty() {
    el.save.classList.toggle("dirty", dirty());
    el.save.textContent = dirty() ? "Save *" : "Save";
  }

  async function save() {  // true once saved
    if (!state.mask) return false;
    if (state.saving) await state.saving;
    const name = state.name, marker = lastChange(), index = state.index;
    const body = state.mask.slice();  // what is sent cannot change while it travels
    setStatus("saving\u2026");
    const pending = (async () => {
      try {
        const response = await checked(await send(photoUrl(name, "mask"), {
          method: "PUT", body,
          headers: { "Content-Type": "application/octet-stream", "X-Vitiseg-Token": config.token },
        }));
        const result = await response.json();
        if (state.name === name) {
          state.savedTop = marker;
          showDirty();
        }
        state.photos[index].labelled = true;
        const option = el.list.options[index];
        if (option) option.textContent = `\u2713 ${name}`;
        showProgress(result.labelled, result.left);
        setStatus(`saved ${result.saved}`);
        return true;
      } catch (error) {
        setStatus(`not saved: ${error.message}`, true);
        return false;
      } finally {
        if (state.saving === pending) state.saving = null;
      }
    })();
    state.saving = pending;
    return pending;
  }

  // ---- view: zoom and pan -----------------------------------------------------------
  function applyView() {
    const { scale, x, y } = state.view;
    el.stage.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
    el.stage.classList.toggle("pixelated", scale >= 2);
    el.cursor.style.borderWidth = `${1.5 / scale}px`;
  }

  function setView(scale, x, y) {
    state.view = { scale, x, y };
    applyView();
  }

  function fit() {
    const rect = el.viewport.getBoundingClientRect();
    if (!state.W) return;
    const scale = Math.min(rect.width / state.W, rect.height / state.H);
    state.fitScale = scale;
    setView(scale, (rect.width - state.W * scale) / 2, (rect.height - state.H * scale) / 2);
  }

  function zoomAt(clientX, clientY, factor) {
    const rect = el.viewport.getBoundingClientRect();
    const { scale, x, y } = state.view;
    const next = Math.min(32, Math.max(state.fitScale / 2, scale * factor));
    const cx = clientX - rect.left, cy = clientY - rect.top;
    setView(next, cx - ((cx - x) * next) / scale, cy - ((cy - y) * next) / scale);
  }

  // the photo pixel under a point of the window (floored: whole pixels)
  function toPhoto(clientX, clientY) {
    const rect = el.viewport.getBoundingClientRect();
    const { scale, x, y } = state.view;
    return [Math.floor((clientX - rect.left - x) / scale), Math.floor((clientY - rect.top - y) / scale)];
  }

  const inside = (x, y) => x >= 0 && y >= 0 && x < state.W && y < state.H;

  // ---- pointer ----------------------------------------------------------------------
  function timed(what, started) {  // time to the frame after the change is shown
    requestAnimationFrame(() => setTimeout(() => {
      state.timings.push({ what, ms: performance.now() - started });
    }, 0));
  }

  function regionAt(x, y) {
    return state.regions && inside(x, y) ? state.regions[y * state.W + x] : -1;
  }

  el.viewport.addEventListener("contextmenu", (event) => event.preventDefault());

  el.viewport.addEventListener("pointerdown", (event) => {
    if (!state.mask) return;
    if (event.button === 1 || event.button === 2 || (event.button === 0 && state.spaceDown)) {
      state.pan = { x: event.clientX, y: event.clientY, view: { ...state.view } };
      el.viewport.classList.add("panning");
      el.viewport.setPointerCapture(event.pointerId);
      event.preventDefault();
      return;
    }
    if (event.button !== 0) return;
    const [x, y] = toPhoto(event.clientX, event.clientY);
    if (!inside(x, y)) return;
    el.viewport.setPointerCapture(event.pointerId);
    const tool = state.tool;
    const change = new Change(tool === "erase" ? 0 : state.cls, tool);
    if (tool === "region") {
      if (!state.regions) return setStatus("regions not ready yet: brush or wait a moment");
      paintRegion(regionAt(x, y), change);
    } else if (tool === "fill") {
      fill(x, y, change);
    } else {
      paintSegment(x, y, x, y, state.brush / 2, change);
    }
    flush();
    timed(tool, event.timeStamp);
    if (tool === "fill") commit(change);
    else state.action = { change, x, y, region: regionAt(x, y) };
    event.preventDefault();
  });

  el.viewport.addEventListener("pointermove", (event) => {
    if (state.pan) {
      const { x, y, view } = state.pan;
      setView(view.scale, view.x + event.clientX - x, view.y + event.clientY - y);
      return;
    }
    if (!state.mask) return;
    const [x, y] = toPhoto(event.clientX, event.clientY);
    moveCursor(x, y);
    const action = state.action;
    if (!action) return showHover(regionAt(x, y));
    const started = event.timeStamp;
    if (action.change.what === "region") {
      const steps = Math.max(1, Math.ceil(Math.hypot(x - action.x, y - action.y) / 3));
      for (let s = 1; s <= steps; s++) {
        const px = Math.round(action.x + ((x - action.x) * s) / steps);
        const py = Math.round(action.y + ((y - action.y) * s) / steps);
        const r = regionAt(px, py);
        if (r >= 0 && r !== action.region) { paintRegion(r, action.change); action.region = r; }
      }
    } else {
      paintSegment(action.x, action.y, x, y, state.brush / 2, action.change);
    }
    action.x = x; action.y = y;
    flush();
    timed(`${action.change.what} drag`, started);
  });

  function endAction(event) {
    if (state.pan) {
      state.pan = null;
      el.viewport.classList.remove("panning");
    }
    if (state.action) {
      commit(state.action.change);
      state.action = null;
    }
    if (event.pointerId !== undefined && el.viewport.hasPointerCapture(event.pointerId)) {
      el.viewport.releasePointerCapture(event.pointerId);
    }
  }
  el.viewport.addEventListener("pointerup", endAction);
  el.viewport.addEventListener("pointercancel", endAction);
  el.viewport.addEventListener("pointerleave", () => { el.cursor.style.display = "none"; showHover(-1); });

  el.viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoomAt(event.clientX, event.clientY, Math.exp(-event.deltaY * 0.0015));
  }, { passive: false });

  function moveCursor(x, y) {
    const brushing = state.tool === "brush" || state.tool === "erase";
    el.cursor.style.display = brushing && inside(x, y) ? "block" : "none";
    if (!brushing) return;
    const r = state.brush / 2;
    Object.assign(el.cursor.style, {
      left: `${x + 0.5 - r}px`, top: `${y + 0.5 - r}px`, width: `${2 * r}px`, height: `${2 * r}px`,
    });
  }

  function showHover(r) {
    if (r === state.hoverRegion) return;
    const ctx = el.hover.getContext("2d"), box = state.regionBox;
    const old = state.hoverRegion;
    if (old >= 0 && box) ctx.clearRect(box[4 * old], box[4 * old + 1], box[4 * old + 2] - box[4 * old] + 1, box[4 * old + 3] - box[4 * old + 1] + 1);
    state.hoverRegion = state.tool === "region" ? r : -1;
    if (state.hoverRegion < 0 || !box) return;
    const x0 = box[4 * r], y0 = box[4 * r + 1], w = box[4 * r + 2] - x0 + 1, h = box[4 * r + 3] - y0 + 1;
    const data = ctx.createImageData(w, h), out = new Uint32Array(data.data.buffer);
    const colour = state.cls === 0 ? HOVER_BACKGROUND : colour32[state.cls];
    for (let k = state.regionStart[r]; k < state.regionStart[r + 1]; k++) {
      const i = state.regionPixels[k], px = i % state.W, py = (i - px) / state.W;
      out[(py - y0) * w + (px - x0)] = colour;
    }
    ctx.putImageData(data, x0, y0);
  }

  // ---- controls ---------------------------------------------------------------------
  function chooseTool(tool) {
    state.tool = tool;
    for (const button of document.querySelectorAll("[data-tool]")) {
      button.classList.toggle("active", button.dataset.tool === tool);
    }
    showHover(-1);
    el.viewport.dataset.tool = tool;
  }

  function chooseClass(cls) {
    if (cls < 0 || cls >= config.classes.length) return;
    state.cls = cls;
    for (const button of document.querySelectorAll("[data-class]")) {
      button.classList.toggle("active", +button.dataset.class === cls);
    }
    state.hoverRegion = -1;
    el.hover.getContext("2d").clearRect(0, 0, el.hover.width, el.hover.height);
  }

  function setBrush(size) {
    state.brush = Math.max(1, Math.min(+el.brush.max, Math.round(size)));
    el.brush.value = String(state.brush);
    el.brushValue.textContent = String(state.brush);
  }

  function setOpacity(percent) {
    el.opacity.value = String(percent);
    el.opacityValue.textContent = `${percent} %`;
    el.overlay.style.opacity = String(percent / 100);
  }

  for (const button of document.querySelectorAll("[data-class]")) {
    const cls = +button.dataset.class, [r, g, b] = config.colours[cls];
    const swatch = button.querySelector(".swatch");
    if (cls === 0) swatch.classList.add("clear");
    else swatch.style.background = `rgb(${r}, ${g}, ${b})`;
    button.addEventListener("click", () => { chooseClass(cls); button.blur(); });
  }
  for (const button of document.querySelectorAll("[data-tool]")) {
    button.addEventListener("click", () => { chooseTool(button.dataset.tool); button.blur(); });
  }
  const clicked = (id, action) => $(id).addEventListener("click", (event) => { action(); event.currentTarget.blur(); });
  clicked("undo", undo);
  clicked("redo", redo);
  clicked("fit", fit);
  clicked("save", save);
  clicked("next", () => open(state.index + 1));
  clicked("prev", () => open(state.index - 1));
  el.list.addEventListener("change", () => { open(+el.list.value); el.list.blur(); });
  el.brush.addEventListener("input", () => setBrush(+el.brush.value));
  el.opacity.addEventListener("input", () => setOpacity(+el.opacity.value));
  el.showOutlines.addEventListener("change", () => {
    el.outlines.classList.toggle("shown", el.showOutlines.checked);
    if (el.showOutlines.checked) drawOutlines();
  });
  window.addEventListener("resize", () => { if (state.W) fit(); });
  window.addEventListener("beforeunload", (event) => { if (dirty()) event.preventDefault(); });

  window.addEventListener("keyup", (event) => {
    if (event.key === " ") state.spaceDown = false;
  });

  window.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target instanceof HTMLSelectElement || (target instanceof HTMLInputElement && target.type !== "range" && target.type !== "checkbox")) return;
    const key = event.key, command = event.ctrlKey || event.metaKey;
    if (event.altKey) return;
    const started = event.timeStamp;
    let handled = true;
    if (command) {
      if (key === "z" || key === "Z") (event.shiftKey ? redo : undo)();
      else if (key === "y") redo();
      else if (key === "s") save();
      else handled = false;
    } else if (key >= "1" && key <= "9") chooseClass(+key - 1);
    else if (key === "z") undo();
    else if (key === "Z" || key === "y") redo();
    else if (key === "s") save();
    else if (key === "n" || key === "p") {
      const index = state.index + (key === "n" ? 1 : -1);
      if (index >= 0 && index < state.photos.length) open(index).then(() => timed(key, started));
    }
    else if (key === "r") chooseTool("region");
    else if (key === "b") chooseTool("brush");
    else if (key === "f") chooseTool("fill");
    else if (key === "e") chooseTool("erase");
    else if (key === "[") setBrush(state.brush / 1.25);
    else if (key === "]") setBrush(state.brush * 1.25 + 1);
    else if (key === "0") fit();
    else if (key === "+" || key === "=") zoomAt(...centre(), 1.25);
    else if (key === "-") zoomAt(...centre(), 0.8);
    else if (key === "h") setOpacity(+el.opacity.value > 0 ? 0 : 55);
    else if (key === "o") { el.showOutlines.checked = !el.showOutlines.checked; el.showOutlines.dispatchEvent(new Event("change")); }
    else if (key === " ") state.spaceDown = true;
    else handled = false;
    if (handled) {
      event.preventDefault();
      if (key === "z" || key === "Z" || key === "y") timed(key === "z" && !event.shiftKey ? "undo" : "redo", started);
    }
  });

  function centre() {
    const rect = el.viewport.getBoundingClientRect();
    return [rect.left + rect.width / 2, rect.top + rect.height / 2];
  }

  // for the tests and the curious: the page's state and a few of its functions
  window.vitiseg = { state, toPhoto, setView, open, save, ready: false };

  chooseTool("region");
  chooseClass(state.cls);
  setBrush(state.brush);
  setOpacity(+el.opacity.value);
  refreshList().then(() => {
    if (state.photos.length) return open(0);
    showMessage("no photos");
  }).then(() => { window.vitiseg.ready = true; }, (error) => setStatus(error.message, true));
})();
