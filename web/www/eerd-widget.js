// <eerd-grader assignment="company" model="/models/default/">: the embeddable EERD grader.
//
//   <script type="module" src="https://your.site/eerd/eerd-widget.js"></script>
//   <eerd-grader assignment="company"></eerd-grader>
//
// Attributes: `assignment` (library id, or URL of a reference .puml), `model` (URL of a model
// folder with manifest.json; default: models/default/ beside this script), `max-tokens`,
// `parent-origin` (target origin for postMessage when framed; default "*").
// After each grading it fires `eerd-graded` (bubbles, composed) with `detail` = {assignment,
// findings, complete, stop, …} and, when inside an iframe, posts {type: 'eerd-graded', ...detail}
// to the parent window. Its state is mirrored in the host's `data-model` (loading, ready,
// no-model, error), `data-grade` (idle, grading, graded, error) and `data-check` (pending, done:
// the text is checked and drawn) attributes. A selected finding stays highlighted in the drawing
// across redraws until another is selected or the text is edited.
//
// Student text reaches the DOM only through textContent / textarea.value.

import {
  ASSET_BASE, Engine, NoModelError, assignmentUrls, drawDiagram, fetchText, formatBytes, h,
  highlightFinding, highlightRequirement, loadWasm, renderDiagnostics, renderFindings, renderMarkdown,
  renderReasoning,
} from './core.js';

const SKELETON = '@startchen\n\n@endchen\n';
const engines = new Map(); // model URL -> Promise<Engine>, shared by widgets on one page

function engineFor(modelUrl, onProgress) {
  if (!engines.has(modelUrl)) {
    const engine = new Engine();
    const listeners = new Set();
    const promise = engine.load(modelUrl, (p) => listeners.forEach((l) => l(p))).then(() => engine);
    promise.listeners = listeners;
    promise.catch(() => engines.delete(modelUrl));
    engines.set(modelUrl, promise);
  }
  const promise = engines.get(modelUrl);
  promise.listeners?.add(onProgress);
  return promise;
}

let uid = 0;

export class EerdGrader extends HTMLElement {
  static get observedAttributes() {
    return ['assignment', 'model'];
  }

  constructor() {
    super();
    const id = `eerd${++uid}`;
    this.ids = id;
    const root = this.attachShadow({ mode: 'open' });
    const el = (this.el = {});
    el.status = h('p', { class: 'model-status', role: 'status', 'aria-live': 'polite' }, 'Starting…');
    el.progress = h('progress', { class: 'model-progress', max: '1', value: '0', 'aria-label': 'Model download' });
    el.editor = h('textarea', {
      id: `${id}-editor`, class: 'editor', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off',
      rows: '18', 'aria-describedby': `${id}-diag-summary`,
    });
    el.file = h('input', { type: 'file', accept: '.puml,.plantuml,.txt,text/plain', class: 'visually-hidden', tabindex: '-1', 'aria-hidden': 'true' });
    el.open = h('button', { type: 'button', class: 'open' }, 'Open .puml file…');
    el.diagSummary = h('p', { id: `${id}-diag-summary`, class: 'diag-summary', 'aria-live': 'polite' });
    el.diagnostics = h('ul', { class: 'diagnostics', 'aria-label': 'Diagram checks' });
    el.svg = h('svg:svg', { class: 'diagram', role: 'img', 'aria-label': 'Drawing of your diagram' });
    el.drawNote = h('p', { class: 'draw-note' });
    el.fit = h('button', { type: 'button', class: 'fit', 'aria-pressed': 'false' }, 'Fit to width');
    el.svgWrap = h('div', { class: 'svg-wrap', tabindex: '0', 'aria-label': 'Diagram drawing, scrollable' }, el.svg);
    el.grade = h('button', { type: 'button', class: 'grade', disabled: true }, 'Grade');
    el.stop = h('button', { type: 'button', class: 'stop', disabled: true }, 'Stop');
    el.gradeStatus = h('p', { class: 'grade-status', role: 'status', 'aria-live': 'polite' });
    el.reasoning = h('pre', { class: 'reasoning', tabindex: '0', 'aria-label': 'Model reasoning (streamed)' });
    el.reasons = h('ol', { class: 'reasons', 'aria-label': 'Reasoning in plain sentences' });
    el.findings = h('div', { class: 'findings', id: `${id}-findings` });
    el.requirements = h('div', { class: 'requirements' });

    root.append(
      h('link', { rel: 'stylesheet', href: new URL('widget.css', ASSET_BASE).href }),
      h('div', { class: 'grader' },
        h('div', { class: 'status-bar' }, el.status, el.progress),
        h('section', { class: 'pane edit', 'aria-labelledby': `${id}-edit-h` },
          h('h2', { id: `${id}-edit-h` }, 'Your diagram'),
          el.requirements,
          h('label', { for: `${id}-editor`, class: 'editor-label' }, 'PlantUML Chen text (@startchen … @endchen)'),
          el.editor,
          h('div', { class: 'tools' }, el.open, el.file),
          h('h3', {}, 'Checks'), el.diagSummary, el.diagnostics),
        h('section', { class: 'pane draw', 'aria-labelledby': `${id}-draw-h` },
          h('div', { class: 'pane-head' }, h('h2', { id: `${id}-draw-h` }, 'Drawing'), el.fit),
          el.svgWrap,
          el.drawNote),
        h('section', { class: 'pane grade-pane', 'aria-labelledby': `${id}-grade-h` },
          h('h2', { id: `${id}-grade-h` }, 'Grading'),
          h('div', { class: 'actions' }, el.grade, el.stop),
          el.gradeStatus,
          el.reasons,
          h('details', { class: 'reasoning-box' }, h('summary', {}, 'Details: the full reasoning trace'), el.reasoning),
          h('h3', { id: `${id}-findings-h` }, 'Findings'),
          el.findings)));
    el.findings.setAttribute('aria-labelledby', `${id}-findings-h`);

    el.editor.addEventListener('input', () => {
      // An edit ends the selection of a finding (the findings are about the old text).
      this.clearSelection();
      this.scheduleCheck();
    });
    el.editor.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.grade();
      }
    });
    el.open.addEventListener('click', () => el.file.click());
    el.file.addEventListener('change', async () => {
      const f = el.file.files && el.file.files[0];
      if (!f) return;
      this.value = await f.text();
      el.file.value = '';
    });
    el.fit.addEventListener('click', () => {
      const on = el.fit.getAttribute('aria-pressed') !== 'true';
      el.fit.setAttribute('aria-pressed', String(on));
      el.svgWrap.classList.toggle('fit', on);
    });
    el.grade.addEventListener('click', () => this.grade());
    el.stop.addEventListener('click', () => this.stop());

    this.reference = null;
    this.requirements = null;
    this.engine = null;
    this.lastResult = null;
    this.selected = null;
    this.drawn = false;
    this.setState('model', 'loading');
    this.setState('grade', 'idle');
  }

  connectedCallback() {
    if (!this.started) {
      this.started = true;
      if (!this.el.editor.value) this.el.editor.value = SKELETON;
      loadWasm().then(() => this.runCheck());
      this.loadModel();
      this.loadAssignment();
    }
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (!this.started || oldValue === newValue) return;
    if (name === 'assignment') this.loadAssignment();
    if (name === 'model') this.loadModel();
  }

  get modelUrl() {
    return new URL(this.getAttribute('model') || new URL('models/default/', ASSET_BASE).href, document.baseURI).href;
  }

  /** The student's diagram text. */
  get value() {
    return this.el.editor.value;
  }

  set value(text) {
    this.el.editor.value = text;
    this.clearSelection();
    this.runCheck();
  }

  /** Unselects the selected finding: no button pressed, nothing highlighted. */
  clearSelection() {
    this.select(null);
    for (const b of this.el.findings.querySelectorAll('button.finding[aria-pressed="true"]')) b.setAttribute('aria-pressed', 'false');
  }

  /**
   * Shows finding `f` (or nothing, for null): its element in the drawing and its requirement
   * sentence in the widget's requirements; tells the host page with an `eerd-select` event
   * (`detail.finding`, with `requirement` when a sentence was found) so that it can highlight
   * requirements it shows itself. Returns the highlighted drawing element, if any.
   */
  select(f) {
    const hit = highlightFinding(this.el.svg, f);
    highlightRequirement(this.el.requirements, f ? f.requirement : null);
    if (f || this.selected) {
      this.selected = f;
      this.dispatchEvent(new CustomEvent('eerd-select', { bubbles: true, composed: true, detail: { finding: f ? publicFinding(f) : null } }));
    }
    return hit;
  }

  setState(kind, state) {
    this.setAttribute(`data-${kind}`, state);
  }

  async loadModel() {
    const url = this.modelUrl;
    this.setState('model', 'loading');
    this.el.status.textContent = 'Loading the grading model…';
    this.el.progress.hidden = false;
    this.el.progress.removeAttribute('value');
    this.updateButtons();
    try {
      const engine = await engineFor(url, ({ loaded, total, fromCache }) => {
        if (url !== this.modelUrl) return;
        this.el.progress.max = total || 1;
        this.el.progress.value = loaded;
        this.el.status.textContent = `${fromCache ? 'Loading the grading model from the cache' : 'Downloading the grading model'}: ${formatBytes(loaded)} of ${formatBytes(total)}`;
      });
      if (url !== this.modelUrl) return;
      this.engine = engine;
      const card = engine.files.card || {};
      const name = card.name ? `${card.name}, ` : '';
      this.el.status.textContent = `Model ready (${name}${formatBytes(engine.files.bytes)}, ${engine.files.fromCache ? 'from the cache' : 'downloaded'}, ${Math.round(engine.loadMs)} ms).`;
      this.el.progress.hidden = true;
      this.setState('model', 'ready');
      this.dispatchEvent(new CustomEvent('eerd-model', { bubbles: true, composed: true, detail: { state: 'ready', fromCache: engine.files.fromCache, loadMs: engine.loadMs, card: engine.files.card, info: engine.info } }));
    } catch (err) {
      if (url !== this.modelUrl) return;
      this.engine = null;
      this.el.progress.hidden = true;
      if (err instanceof NoModelError) {
        this.setState('model', 'no-model');
        this.el.status.textContent = `No grading model is installed (${err.message}). The checks and the drawing work; grading needs a model: see the README ("cargo xtask serve").`;
      } else {
        this.setState('model', 'error');
        this.el.status.textContent = `The grading model could not be loaded: ${err.message}`;
      }
      this.dispatchEvent(new CustomEvent('eerd-model', { bubbles: true, composed: true, detail: { state: this.getAttribute('data-model'), error: err.message } }));
    }
    this.updateButtons();
  }

  async loadAssignment() {
    const assignment = this.getAttribute('assignment');
    this.reference = null;
    this.el.requirements.replaceChildren();
    this.updateButtons();
    if (!assignment) return;
    const urls = assignmentUrls(assignment);
    try {
      const text = await fetchText(urls.reference);
      if (assignment !== this.getAttribute('assignment')) return;
      this.reference = text;
      this.requirements = null;
      if (urls.requirements) {
        const req = await fetchText(urls.requirements).catch(() => null);
        if (assignment !== this.getAttribute('assignment')) return;
        this.requirements = req;
        if (req !== null && this.hasAttribute('show-requirements')) {
          const text = h('div', { class: 'requirements-text' });
          renderMarkdown(text, req);
          this.el.requirements.replaceChildren(h('details', {}, h('summary', {}, 'Assignment'), text));
        }
      }
    } catch (err) {
      this.el.gradeStatus.textContent = `The assignment "${assignment}" could not be loaded: ${err.message}`;
    }
    const draft = this.storageKey && localStorage.getItem(this.storageKey);
    if (draft !== null && draft !== undefined && this.hasAttribute('keep-drafts')) this.value = draft;
    this.updateButtons();
  }

  get storageKey() {
    const a = this.getAttribute('assignment');
    return a ? `eerd-draft:${a}` : null;
  }

  updateButtons() {
    const busy = this.engine && this.engine.busy;
    this.el.grade.disabled = !this.engine || !this.reference || busy;
    this.el.stop.disabled = !busy;
  }

  scheduleCheck() {
    this.setState('check', 'pending');
    clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(() => this.runCheck(), 120);
    if (this.hasAttribute('keep-drafts') && this.storageKey) {
      try {
        localStorage.setItem(this.storageKey, this.el.editor.value);
      } catch {
        // storage full or disabled
      }
    }
  }

  async runCheck() {
    this.setState('check', 'pending');
    clearTimeout(this.checkTimer);
    const wasm = await loadWasm();
    const text = this.el.editor.value;
    const diagnostics = JSON.parse(wasm.check(text));
    renderDiagnostics(this.el.diagnostics, diagnostics);
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = diagnostics.length - errors;
    this.el.diagSummary.textContent = diagnostics.length
      ? `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}.`
      : 'No problems found.';
    this.syntaxOk = !diagnostics.some((d) => d.code === 'syntax');
    const drawn = JSON.parse(wasm.draw(text));
    if (drawn.ok) {
      drawDiagram(this.el.svg, drawn.drawing);
      const n = drawn.drawing.nodes;
      this.el.svg.setAttribute('aria-label', `Drawing of your diagram: ${n.filter((x) => x.kind === 'entity').length} entity types, ${n.filter((x) => x.kind === 'relationship').length} relationship types, ${n.filter((x) => x.kind === 'attribute').length} attributes`);
      const broken = drawn.error_lines || [];
      this.el.drawNote.textContent = broken.length
        ? `The drawing leaves out line${broken.length === 1 ? '' : 's'} ${broken.join(', ')} (syntax error${broken.length === 1 ? '' : 's'}, listed under Checks).`
        : '';
      this.drawn = true;
    } else {
      this.el.drawNote.textContent = this.drawn
        ? 'The text has syntax errors: the drawing shows the last version without them.'
        : 'The drawing appears once the text has no syntax errors.';
    }
    // Checked and drawn: tests and host pages wait on this state, not on time.
    if (this.el.editor.value === text) this.setState('check', 'done');
  }

  /** Grades the current text; resolves to the event detail (or null). */
  async grade() {
    if (!this.engine || !this.reference || this.engine.busy) return null;
    if (!this.syntaxOk) {
      this.el.gradeStatus.textContent = 'Fix the syntax errors listed under Checks first.';
      return null;
    }
    const student = this.el.editor.value;
    const started = performance.now();
    this.setState('grade', 'grading');
    this.el.reasoning.textContent = '';
    this.el.reasons.replaceChildren();
    this.el.findings.replaceChildren();
    this.select(null);
    this.el.reasoning.closest('details').open = true;
    this.el.gradeStatus.textContent = 'Grading…';
    let pendingText = '';
    let frame = 0;
    const flush = () => {
      frame = 0;
      this.el.reasoning.append(document.createTextNode(pendingText));
      pendingText = '';
      this.el.reasoning.scrollTop = this.el.reasoning.scrollHeight;
    };
    let count = 0;
    const grading = this.engine.grade({
      reference: this.reference,
      student,
      requirements: this.requirements,
      maxTokens: Number(this.getAttribute('max-tokens')) || 64,
    }, (piece, n) => {
      count = n;
      pendingText += piece;
      if (!frame) frame = requestAnimationFrame(flush);
    });
    this.updateButtons();
    this.el.stop.focus({ preventScroll: true });
    let result;
    try {
      result = await grading;
    } catch (err) {
      if (frame) cancelAnimationFrame(frame);
      flush();
      this.setState('grade', 'error');
      this.el.gradeStatus.textContent = `Grading failed: ${err.message}`;
      this.updateButtons();
      this.el.grade.focus({ preventScroll: true });
      return null;
    }
    if (frame) cancelAnimationFrame(frame);
    flush();
    if (result.terminated) {
      // Stopped by terminating the worker: read what was streamed so far.
      const wasm = await loadWasm();
      Object.assign(result, JSON.parse(wasm.read_completion(result.text, this.reference, student, this.requirements ?? undefined)));
    }
    this.lastResult = result;
    const findings = result.findings || [];
    if (!findings.length && !result.complete) {
      // No findings block: the answer was cut off or malformed; that is not "no mistakes".
      this.el.findings.replaceChildren(h('p', { class: 'no-answer' }, result.stop === 'cancelled'
        ? 'Stopped before the model listed any findings.'
        : 'The model did not produce a list of findings, so nothing can be concluded. Try again, or ask your teacher.'));
    } else {
      renderFindings(this.el.findings, findings, (f) => {
        const hit = this.select(f);
        if (hit && hit.scrollIntoView) hit.scrollIntoView({ block: 'nearest', inline: 'nearest' });
      });
      // The reasoning in plain sentences; the raw trace stays behind its toggle.
      renderReasoning(this.el.reasons, result);
      this.el.reasoning.closest('details').open = false;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const cats = new Set(findings.map((f) => f.category)).size;
    let summary = result.stop === 'cancelled'
      ? `Stopped after ${count} tokens. ${findings.length} finding${findings.length === 1 ? '' : 's'} so far.`
      : `Graded in ${seconds} s: ${findings.length} finding${findings.length === 1 ? '' : 's'}${findings.length ? ` in ${cats} categor${cats === 1 ? 'y' : 'ies'}` : ''}.`;
    if (result.stop !== 'cancelled' && !result.complete) summary += ' The model did not finish its answer; the list may be incomplete.';
    if (result.errors && result.errors.length) summary += ` ${result.errors.length} line(s) of the model's answer could not be read.`;
    if (result.dropped && result.dropped.length) summary += ` ${result.dropped.length} finding(s) about elements the solution does not have were dropped.`;
    this.el.gradeStatus.textContent = summary;
    this.setState('grade', 'graded');
    this.updateButtons();
    this.el.grade.focus({ preventScroll: true });
    const detail = {
      assignment: this.getAttribute('assignment'),
      findings: findings.map(publicFinding),
      complete: !!result.complete,
      stop: result.stop,
      promptTokens: result.prompt_tokens ?? null,
      generatedTokens: result.generated_tokens ?? count,
      timing: result.timing || null,
    };
    this.dispatchEvent(new CustomEvent('eerd-graded', { bubbles: true, composed: true, detail }));
    if (window.parent && window.parent !== window) {
      window.parent.postMessage({ type: 'eerd-graded', ...detail }, this.getAttribute('parent-origin') || '*');
    }
    return detail;
  }

  stop() {
    if (this.engine) this.engine.stop();
  }
}

/** A finding as events carry it: category, element, the student's element, explanation, and
 * the requirement sentence (`{item, sentence}`) or null. */
function publicFinding({ category, element, student, explanation, requirement }) {
  return { category, element, student: student ?? null, explanation, requirement: requirement ?? null };
}

if (!customElements.get('eerd-grader')) customElements.define('eerd-grader', EerdGrader);
