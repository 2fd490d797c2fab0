// Shared by the student page and the <eerd-grader> widget: model loading (progress, Cache API by
// checksum, offline), the worker client (streaming, stop), the SVG drawing and the findings list.
//
// Safety rule of this file: text from a diagram, a model or a server is only ever put into the
// DOM with textContent or setAttribute on non-executable attributes — never as markup.

import init, * as wasm from './eerd-web.js';

/** Where this file (and the wasm, the worker, the library) is served from. */
export const ASSET_BASE = new URL('./', import.meta.url);

let wasmReady = null;
/** The wasm module's exports, once initialized (for check, draw, read_completion). */
export async function loadWasm() {
  if (!wasmReady) wasmReady = init({ module_or_path: new URL('eerd-web_bg.wasm', ASSET_BASE) }).then(() => wasm);
  return wasmReady;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const CACHE_NAME = 'eerd-models-v1';

/** Creates an element with attributes and children (strings become text nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = tag.startsWith('svg:') ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

export const CATEGORIES = {
  missing_entity: ['Missing entity types', 'The requirements call for an entity type your diagram lacks.'],
  missing_relationship: ['Missing relationship types', 'A relationship type of the solution is not in your diagram.'],
  missing_attribute: ['Missing attributes', 'An entity or relationship lacks an attribute it needs.'],
  wrong_key: ['Keys', 'A key is missing, or a non-identifying attribute is marked as key.'],
  wrong_cardinality: ['Cardinality ratios', 'A side has the wrong ratio or maximum (1, N, M or (min,max)).'],
  wrong_participation: ['Participation', 'Total where partial is right, or the reverse (or a wrong minimum).'],
  weak_entity: ['Weak entity types', 'A weak entity, its identifying relationship or its partial key is modelled wrongly.'],
  attribute_kind: ['Attribute kinds', 'A multivalued, composite or derived attribute is missing its kind or has a wrong one.'],
  misplaced_attribute: ['Misplaced attributes', 'An attribute sits on the wrong entity or relationship.'],
  specialization: ['Specializations and unions', 'A specialization or union type is wrong (classes, disjointness, totality).'],
  relationship_structure: ['Relationship structure', 'A relationship connects the wrong entity types or has the wrong degree.'],
};

// ---------------------------------------------------------------------------------------------
// Model loading

/** Thrown when there is no model at a URL (no manifest.json). */
export class NoModelError extends Error {}

async function openCache() {
  try {
    return typeof caches !== 'undefined' ? await caches.open(CACHE_NAME) : null;
  } catch {
    return null;
  }
}

async function sha256Hex(buffer) {
  if (!crypto.subtle) return null;
  const digest = await crypto.subtle.digest('SHA-256', buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function fetchManifest(modelUrl, cache) {
  const url = new URL('manifest.json', modelUrl).href;
  let response = null;
  try {
    response = await fetch(url, { cache: 'no-cache' });
  } catch {
    response = null; // offline: fall back to the cached manifest
  }
  if (response && response.ok) {
    const text = await response.text();
    if (cache) await cache.put(url, new Response(text, { headers: { 'content-type': 'application/json' } }));
    return JSON.parse(text);
  }
  const cached = cache ? await cache.match(url) : null;
  if (cached) return JSON.parse(await cached.text());
  if (response && response.status === 404) throw new NoModelError(`no model at ${modelUrl}`);
  throw new NoModelError(`cannot reach the model at ${modelUrl}${response ? ` (HTTP ${response.status})` : ' (offline, nothing cached)'}`);
}

async function fetchWithProgress(url, total, onBytes) {
  const response = await fetch(url, { cache: 'no-cache' });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  if (!response.body) {
    const buf = await response.arrayBuffer();
    onBytes(buf.byteLength);
    return buf;
  }
  const reader = response.body.getReader();
  const out = new Uint8Array(total || Number(response.headers.get('content-length')) || 0);
  let chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (received + value.length <= out.length) out.set(value, received);
    else chunks.push(value);
    received += value.length;
    onBytes(value.length);
  }
  if (received === out.length && chunks.length === 0) return out.buffer;
  const all = new Uint8Array(received);
  all.set(out.subarray(0, Math.min(out.length, received)), 0);
  let at = Math.min(out.length, received);
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all.buffer;
}

/**
 * Loads the model files listed by `${modelUrl}manifest.json` (`{files: {name: {bytes, sha256}},
 * card}`), from the Cache API when a file with that checksum is cached, otherwise from the
 * network with byte progress, checking the SHA-256. `onProgress({loaded, total, fromCache})`.
 * Returns `{gguf, tokenizer, card, fromCache, bytes}`.
 */
export async function loadModelFiles(modelUrl, onProgress = () => {}) {
  modelUrl = new URL(modelUrl, document.baseURI);
  const cache = await openCache();
  const manifest = await fetchManifest(modelUrl, cache);
  const names = ['model.gguf', 'tokenizer.json'];
  const total = names.reduce((s, n) => s + (manifest.files?.[n]?.bytes || 0), 0);
  let loaded = 0;
  let fromCache = true;
  const out = {};
  for (const name of names) {
    const entry = manifest.files?.[name];
    if (!entry) throw new Error(`${modelUrl}manifest.json does not list ${name}`);
    const fileUrl = new URL(name, modelUrl).href;
    const key = `${fileUrl}?sha256=${entry.sha256}`;
    const hit = cache ? await cache.match(key) : null;
    let buffer;
    if (hit) {
      buffer = await hit.arrayBuffer();
      loaded += buffer.byteLength;
      onProgress({ loaded, total, fromCache: true });
    } else {
      fromCache = false;
      buffer = await fetchWithProgress(fileUrl, entry.bytes, (n) => {
        loaded += n;
        onProgress({ loaded, total, fromCache: false });
      });
      const digest = await sha256Hex(buffer);
      if (digest && entry.sha256 && digest !== entry.sha256) {
        throw new Error(`${name}: checksum mismatch (expected ${entry.sha256.slice(0, 12)}…, got ${digest.slice(0, 12)}…)`);
      }
      if (cache) {
        try {
          for (const old of await cache.keys()) {
            if (old.url.startsWith(`${fileUrl}?sha256=`) && old.url !== key) await cache.delete(old);
          }
          await cache.put(key, new Response(buffer, { headers: { 'content-type': 'application/octet-stream' } }));
        } catch {
          // quota or private mode: the model still works, it just is not cached
        }
      }
    }
    out[name] = new Uint8Array(buffer);
  }
  return { gguf: out['model.gguf'], tokenizer: out['tokenizer.json'], card: manifest.card || null, fromCache, bytes: total };
}

// ---------------------------------------------------------------------------------------------
// The worker client

/**
 * Runs the model in a Web Worker. Tokens stream through `onToken(piece, count)`. `stop()` sets a
 * shared flag the worker's per-token callback reads (when the page is cross-origin isolated),
 * and otherwise — or if the worker does not answer quickly — terminates the worker and starts a
 * fresh one from the bytes it keeps.
 */
export class Engine {
  constructor() {
    this.worker = null;
    this.files = null;
    this.info = null;
    this.loadMs = null;
    this.pending = null;
    this.nextId = 1;
    this.stopFlag = globalThis.crossOriginIsolated && typeof SharedArrayBuffer !== 'undefined'
      ? new Int32Array(new SharedArrayBuffer(4)) : null;
  }

  /** Loads files from `modelUrl` and starts the worker. */
  async load(modelUrl, onProgress) {
    const t0 = performance.now();
    this.files = await loadModelFiles(modelUrl, onProgress);
    this.fetchMs = performance.now() - t0;
    await this.spawn();
    this.loadMs = performance.now() - t0;
    return this.files;
  }

  spawn() {
    if (this.worker) this.worker.terminate();
    const url = new URL('worker.js', ASSET_BASE);
    // A worker must come from the page's origin: when the widget's files are elsewhere (served
    // with CORS), start a same-origin blob worker that imports the real one.
    const source = url.origin === location.origin
      ? url
      : URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' }));
    const worker = new Worker(source, { type: 'module', name: 'eerd-grader' });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      worker.onmessage = (e) => {
        const m = e.data;
        if (m.type === 'ready') {
          this.info = m.info;
          this.initMs = m.ms;
          worker.onmessage = (ev) => this.onMessage(ev.data);
          resolve(m.info);
        } else if (m.type === 'error') reject(new Error(m.message));
      };
      worker.onerror = (e) => reject(new Error(e.message || 'the grading worker failed to start'));
      worker.postMessage({
        type: 'load',
        gguf: this.files.gguf,
        tokenizer: this.files.tokenizer,
        stop: this.stopFlag ? this.stopFlag.buffer : null,
      });
    });
  }

  onMessage(m) {
    const p = this.pending;
    if (!p || m.id !== p.id) return;
    if (m.type === 'token') {
      p.text += m.piece;
      p.onToken(m.piece, m.count);
    } else if (m.type === 'done') {
      this.pending = null;
      clearTimeout(p.timer);
      p.resolve({ ...m.result, timing: m.timing });
    } else if (m.type === 'error') {
      this.pending = null;
      clearTimeout(p.timer);
      p.reject(new Error(m.message));
    }
  }

  get busy() {
    return this.pending !== null;
  }

  async run(message, onToken = () => {}) {
    if (!this.files) throw new Error('no model loaded');
    if (this.pending) throw new Error('already grading');
    if (!this.worker) await this.spawn();
    if (this.stopFlag) Atomics.store(this.stopFlag, 0, 0);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending = { id, resolve, reject, onToken, text: '', timer: null, message };
      this.worker.postMessage({ ...message, id });
    });
  }

  /** Grades; resolves to the worker's result (findings, text, stop, timing…). */
  grade({ reference, student, requirements = null, maxTokens = 64 }, onToken) {
    return this.run({ type: 'grade', reference, student, requirements, maxTokens }, onToken);
  }

  /** Raw generation (benchmarks). */
  generate({ prompt, maxTokens, ignoreEos = false }, onToken) {
    return this.run({ type: 'generate', prompt, maxTokens, ignoreEos }, onToken);
  }

  /** Cancels the running generation. */
  stop() {
    const p = this.pending;
    if (!p) return;
    if (this.stopFlag) {
      Atomics.store(this.stopFlag, 0, 1);
      p.timer = setTimeout(() => this.hardStop(), 2000);
    } else {
      this.hardStop();
    }
  }

  hardStop() {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    if (this.worker) this.worker.terminate();
    this.worker = null; // a fresh one starts at the next run
    p.resolve({ text: p.text, stop: 'cancelled', terminated: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Drawing

function points(list) {
  return list.map((p) => `${p[0].toFixed(1)},${p[1].toFixed(1)}`).join(' ');
}

/** The finding selected in each drawing: it stays highlighted across redraws. */
const selections = new WeakMap();

/**
 * Draws `drawing` (from wasm `draw`) into the <svg> element `svg`, replacing its content; the
 * selected finding (see `highlightFinding`) stays highlighted.
 */
export function drawDiagram(svg, drawing) {
  svg.replaceChildren();
  const { width, height } = drawing;
  svg.setAttribute('viewBox', `0 0 ${Math.max(width, 1).toFixed(0)} ${Math.max(height, 1).toFixed(0)}`);
  svg.setAttribute('width', Math.max(width, 1).toFixed(0));
  svg.setAttribute('height', Math.max(height, 1).toFixed(0));
  const edges = h('svg:g', { class: 'edges' });
  for (const e of drawing.edges) {
    const g = h('svg:g', { class: `edge${e.double ? ' double' : ''}`, 'data-path': e.path });
    if (e.double) {
      g.append(h('svg:polyline', { class: 'line-outer', points: points(e.points) }));
      g.append(h('svg:polyline', { class: 'line-inner', points: points(e.points) }));
    } else {
      g.append(h('svg:polyline', { class: 'line', points: points(e.points) }));
    }
    if (e.label) {
      const n = e.points.length;
      const [a, b] = [e.points[Math.floor((n - 1) / 2)], e.points[Math.ceil((n - 1) / 2)]];
      const mid = n % 2 === 0 ? [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] : a;
      g.append(h('svg:text', { class: 'edge-label', x: (mid[0] + 6).toFixed(1), y: mid[1].toFixed(1) }, e.label));
    }
    edges.append(g);
  }
  const nodes = h('svg:g', { class: 'nodes' });
  for (const n of drawing.nodes) {
    const g = h('svg:g', { class: `node ${n.kind}${n.double ? ' double' : ''}${n.dashed ? ' dashed' : ''}`, 'data-path': n.path });
    const x0 = n.x - n.w / 2;
    const y0 = n.y - n.h / 2;
    if (n.kind === 'entity') {
      g.append(h('svg:rect', { class: 'shape', x: x0, y: y0, width: n.w, height: n.h }));
      if (n.double) g.append(h('svg:rect', { class: 'shape inner', x: x0 + 4, y: y0 + 4, width: n.w - 8, height: n.h - 8 }));
    } else if (n.kind === 'relationship') {
      const diamond = (dx, dy) => points([[n.x, n.y - dy], [n.x + dx, n.y], [n.x, n.y + dy], [n.x - dx, n.y]]);
      g.append(h('svg:polygon', { class: 'shape', points: diamond(n.w / 2, n.h / 2) }));
      if (n.double) g.append(h('svg:polygon', { class: 'shape inner', points: diamond(n.w / 2 - 9, n.h / 2 - 5) }));
    } else {
      g.append(h('svg:ellipse', { class: 'shape', cx: n.x, cy: n.y, rx: n.w / 2, ry: n.h / 2 }));
      if (n.double) g.append(h('svg:ellipse', { class: 'shape inner', cx: n.x, cy: n.y, rx: n.w / 2 - 4, ry: n.h / 2 - 4 }));
    }
    g.append(h('svg:text', { class: `label${n.underline ? ` ${n.underline}` : ''}`, x: n.x, y: n.y }, n.label));
    g.append(h('svg:title', {}, n.path));
    nodes.append(g);
  }
  svg.append(edges, nodes);
  applyHighlight(svg, selections.get(svg) || null);
}

function candidates(path) {
  if (!path) return [];
  const out = [path];
  let p = path;
  for (;;) {
    const m = p.match(/^(.*)[.](?:[^.]*)$/) || p.match(/^(.*?)(?:[:][^:]*)$/) || p.match(/^([^/>< ]+)[/<>].*$/);
    if (!m || m[1] === p || !m[1]) break;
    p = m[1];
    out.push(p);
  }
  return out;
}

/**
 * Selects `finding` in the drawing `svg` (null clears the selection) and highlights its element:
 * the student's element (the finding's `student` path, from the matching) first, else the
 * reference path. The selection survives redraws (`drawDiagram`) until the next call. Returns
 * the highlighted element or null.
 */
export function highlightFinding(svg, finding) {
  if (finding) selections.set(svg, finding);
  else selections.delete(svg);
  return applyHighlight(svg, finding);
}

function applyHighlight(svg, finding) {
  for (const el of svg.querySelectorAll('.highlight')) el.classList.remove('highlight');
  if (!finding) return null;
  const all = [...svg.querySelectorAll('[data-path]')];
  const byPath = (p) => all.filter((el) => el.getAttribute('data-path').toLowerCase() === p.toLowerCase());
  for (const p of [...candidates(finding.student), ...candidates(finding.element)]) {
    const hits = byPath(p);
    if (hits.length) {
      for (const el of hits) el.classList.add('highlight');
      return hits[0];
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Diagnostics and findings

/** Fills `list` (<ul>) with diagnostics from wasm `check`. */
export function renderDiagnostics(list, diagnostics) {
  list.replaceChildren();
  for (const d of diagnostics) {
    list.append(h('li', { class: `diag ${d.severity}` },
      h('span', { class: 'where' }, `line ${d.line}:${d.column}`), ' ',
      h('span', { class: 'sev' }, d.severity), ' ',
      h('span', { class: 'msg' }, d.message), ' ',
      h('code', { class: 'code' }, d.code)));
  }
}

/** A finding's explanation, with the student's `names` set as code. */
function explanationOf(finding) {
  const span = h('span', { class: 'explanation' });
  appendInline(span, finding.explanation || '', true);
  return span;
}

/** The requirement sentence a finding comes from, quoted, or null. */
function citationOf(finding) {
  const r = finding.requirement;
  if (!r || !r.sentence) return null;
  return h('span', { class: 'citation' },
    h('span', { class: 'citation-label' }, r.item ? `Requirement ${r.item}: ` : 'Requirements: '),
    h('q', {}, r.sentence));
}

/**
 * The reasoning in plain sentences: one per finding kept, one per finding the check against
 * the diagrams dropped (with the reason), and how many steps found nothing. `result` is a
 * grading result (findings, dropped, quiet_steps).
 */
export function renderReasoning(container, result) {
  container.replaceChildren();
  const findings = result.findings || [];
  const dropped = result.dropped || [];
  for (const f of findings) {
    const li = h('li', { class: 'reason found' }, h('strong', {}, `${f.element}: `),
      `${f.category.replace(/_/g, ' ')}. `);
    appendInline(li, f.explanation || '', true);
    container.append(li);
  }
  for (const d of dropped) {
    const f = d.finding;
    container.append(h('li', { class: 'reason dropped' }, h('strong', {}, `${f.element}: `),
      `the model suspected ${f.category.replace(/_/g, ' ')}, but the check against the diagrams dropped it (${d.reason}).`));
  }
  const quiet = result.quiet_steps || 0;
  if (quiet) {
    container.append(h('li', { class: 'reason ok' },
      `${quiet} other step${quiet === 1 ? '' : 's'} compared an element and found nothing wrong.`));
  }
}

/**
 * Highlights the sentence `citation` (`{item, sentence}`, or null to clear) in requirements
 * rendered by `renderMarkdown` into `container`: the block holding it gets the class `req-hit`
 * and, where the browser has the CSS Custom Highlight API, the sentence itself the highlight
 * `eerd-requirement`. Returns the block, or null.
 */
export function highlightRequirement(container, citation) {
  for (const old of container.querySelectorAll('.req-hit')) old.classList.remove('req-hit');
  if (globalThis.CSS && CSS.highlights) CSS.highlights.delete('eerd-requirement');
  if (!citation || !citation.sentence) return null;
  const letters = (text) => text.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
  const wanted = letters(citation.sentence);
  // The numbered item first; any block when the numbering of the two renderers differs.
  const numbered = citation.item ? [...container.querySelectorAll(`li[data-n="${Number(citation.item)}"]`)] : [];
  for (const block of [...numbered, ...container.querySelectorAll('li, p')]) {
    // The block's letters and digits, each with its text node and offset.
    const map = [];
    let text = '';
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.data.length; i++) {
        const c = letters(node.data[i]);
        if (c) {
          text += c;
          map.push([node, i]);
        }
      }
    }
    const at = text.indexOf(wanted);
    if (at < 0 || !wanted) continue;
    block.classList.add('req-hit');
    if (globalThis.CSS && CSS.highlights && typeof Highlight === 'function') {
      const range = document.createRange();
      range.setStart(map[at][0], map[at][1]);
      const [endNode, endOffset] = map[at + wanted.length - 1];
      range.setEnd(endNode, endOffset + 1);
      CSS.highlights.set('eerd-requirement', new Highlight(range));
    }
    return block;
  }
  return null;
}

/**
 * Renders findings grouped by category into `container`; `onSelect(finding, button)` when one is
 * chosen (click, Enter or Space: they are buttons with aria-pressed).
 */
export function renderFindings(container, findings, onSelect) {
  container.replaceChildren();
  if (!findings.length) {
    container.append(h('p', { class: 'no-findings' }, 'No mistakes found.'));
    return;
  }
  const groups = new Map();
  for (const f of findings) {
    if (!groups.has(f.category)) groups.set(f.category, []);
    groups.get(f.category).push(f);
  }
  const buttons = [];
  let n = 0;
  for (const [category, list] of groups) {
    const [title, help] = CATEGORIES[category] || [category, ''];
    const id = `cat-${category}-${n++}`;
    const ul = h('ul', { 'aria-labelledby': id });
    for (const f of list) {
      const button = h('button', { type: 'button', class: 'finding', 'aria-pressed': 'false', 'data-category': f.category, 'data-element': f.element },
        h('span', { class: 'path' }, f.element),
        f.student && f.student.toLowerCase() !== f.element.toLowerCase() ? h('span', { class: 'student' }, ` (yours: ${f.student})`) : null,
        explanationOf(f),
        citationOf(f));
      button.addEventListener('click', () => {
        for (const b of buttons) b.setAttribute('aria-pressed', String(b === button));
        onSelect(f, button);
      });
      buttons.push(button);
      ul.append(h('li', {}, button));
    }
    container.append(h('section', { class: 'category', 'data-category': category },
      h('h3', { id }, `${title} (${list.length})`),
      help ? h('p', { class: 'category-help' }, help) : null,
      ul));
  }
}

/** Resolves an `assignment` attribute: a library id or a URL of a reference .puml. */
export function assignmentUrls(assignment, base = ASSET_BASE) {
  if (/^[a-z0-9][a-z0-9_-]*$/i.test(assignment)) {
    const dir = new URL(`assignments/${assignment}/`, base);
    return { reference: new URL('reference.puml', dir), requirements: new URL('requirements.md', dir) };
  }
  return { reference: new URL(assignment, document.baseURI), requirements: null };
}

export async function fetchText(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}

export function formatBytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`;
}

// ---------------------------------------------------------------------------------------------
// Requirements: a small, safe Markdown renderer

/** Appends the inline Markdown of `text` (`code`, **bold**, *italic* / _italic_, not inside a
 * word: `Start_date` stays as it is) to `parent`, as DOM nodes with text content only (never
 * markup from the text); with `codeOnly`, only `code`. */
function appendInline(parent, text, codeOnly = false) {
  const pattern = codeOnly
    ? /(`[^`]+`)/g
    : /(`[^`]+`|\*\*[^*]+\*\*|\*[^*\s][^*]*\*|(?<!\w)_[^_\s][^_]*_(?!\w))/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    const token = m[0];
    if (token.startsWith('`')) parent.append(h('code', {}, token.slice(1, -1)));
    else if (token.startsWith('**')) parent.append(h('strong', {}, token.slice(2, -2)));
    else parent.append(h('em', {}, token.slice(1, -1)));
    last = m.index + token.length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

/**
 * Renders the Markdown `text` of an assignment's requirements into `container`: headings
 * (`#`…`######`), numbered and bulleted lists, paragraphs and inline code, bold and italic.
 * Everything else shows as text; HTML in the file is never interpreted (text nodes only).
 * Each numbered requirement keeps its number (`data-n`) so a finding can point at it.
 */
export function renderMarkdown(container, text) {
  container.replaceChildren();
  let list = null;
  let paragraph = null;
  const close = () => {
    list = null;
    paragraph = null;
  };
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw.trimEnd();
    let m;
    if (!line.trim()) {
      close();
    } else if ((m = line.match(/^(#{1,6})\s+(.*)$/))) {
      close();
      const heading = h(`h${Math.min(6, m[1].length + 1)}`, { class: 'md-heading' });
      appendInline(heading, m[2]);
      container.append(heading);
    } else if ((m = line.match(/^\s*(\d+)[.)]\s+(.*)$/)) || (m = line.match(/^\s*([-*+])\s+(.*)$/))) {
      const ordered = /\d/.test(m[1]);
      const tag = ordered ? 'ol' : 'ul';
      if (!list || list.tagName.toLowerCase() !== tag) {
        paragraph = null;
        list = h(tag, ordered ? { start: m[1] } : {});
        container.append(list);
      }
      const item = h('li', ordered ? { 'data-n': String(Number(m[1])) } : {});
      appendInline(item, m[2]);
      list.append(item);
    } else if (list && /^\s+/.test(raw) && list.lastElementChild) {
      // A continuation line of a list item.
      appendInline(list.lastElementChild, ` ${line.trim()}`);
    } else {
      list = null;
      if (!paragraph) {
        paragraph = h('p', {});
        container.append(paragraph);
      } else {
        paragraph.append(document.createTextNode(' '));
      }
      appendInline(paragraph, line.trim());
    }
  }
}
