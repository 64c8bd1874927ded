// The process owners' model editor and version comparison, built into one file by esbuild
// (scripts/vendor-assets.sh) and served by the app: no CDN, no inline script or style.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import DmnModeler from 'dmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

import spiffworkflow from './spiffworkflow.json';
import PlacementsPropertiesProvider from './placements-provider';

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn-embedded.css';
import './models.css';

function $(sel, root = document) { return root.querySelector(sel); }

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c);
  return node;
}

async function postJSON(url, body, csrf) {
  const response = await fetch(url, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf, Accept: 'application/json' },
    body: JSON.stringify(body)
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  return { status: response.status, data };
}

// ------------------------------------------------------------------------------- the editor
class Editor {
  constructor(root) {
    this.root = root;
    this.csrf = root.dataset.csrf;
    this.urls = { files: root.dataset.filesUrl, validate: root.dataset.validateUrl,
      deploy: root.dataset.deployUrl, preview: root.dataset.previewUrl };
    this.roles = JSON.parse(root.dataset.roles || '[]');
    this.files = {};
    this.current = null;
    this.problems = [];
    this.status = $('#editor-status');
    const self = this;
    this.context = {
      roles: this.roles,
      forms: () => Object.keys(self.files).filter((n) => n.startsWith('forms/') && n.endsWith('.json'))
        .map((n) => n.slice(6)).sort(),
      decisions: () => self.decisionIds()
    };
    this.bpmn = new BpmnModeler({
      container: $('#bpmn-canvas'),
      propertiesPanel: { parent: $('#bpmn-properties') },
      additionalModules: [
        BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
        { __init__: ['placementsPropertiesProvider'],
          placementsContext: ['value', this.context],
          placementsPropertiesProvider: ['type', PlacementsPropertiesProvider] }
      ],
      moddleExtensions: { spiffworkflow }
    });
    this.dmn = new DmnModeler({ container: $('#dmn-canvas') });
    window.bpmnModeler = this.bpmn;   // for the browser tests: modeler.saveXML()
    window.dmnModeler = this.dmn;
    window.modelEditor = this;
    this.bind();
  }

  bind() {
    $('#editor-file').addEventListener('change', (e) => this.open(e.target.value));
    $('#editor-validate').addEventListener('click', () => this.validate());
    $('#editor-deploy').addEventListener('click', () => this.deploy());
    $('#form-json').addEventListener('input', () => this.formChanged());
    $('#editor-open-dmn').addEventListener('click', () => this.openSelectedDecision());
    $('#editor-download').addEventListener('click', () => this.downloadCurrent());
  }

  setStatus(text, kind = 'info') {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  async load() {
    const response = await fetch(this.urls.files, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const data = await response.json();
    this.files = data.files;
    const select = $('#editor-file');
    select.replaceChildren(...Object.keys(this.files).sort().map((n) => el('option', { value: n, textContent: n })));
    const wanted = this.root.dataset.file && this.files[this.root.dataset.file] !== undefined
      ? this.root.dataset.file : Object.keys(this.files).sort().find((n) => n.endsWith('.bpmn'));
    select.value = wanted;
    await this.open(wanted);
    this.root.dataset.ready = 'true';
  }

  decisionIds() {
    const ids = [];
    for (const [name, text] of Object.entries(this.files)) {
      if (!name.endsWith('.dmn')) continue;
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      for (const d of doc.getElementsByTagNameNS('*', 'decision')) ids.push(d.getAttribute('id'));
    }
    return ids.sort();
  }

  async stash() {
    // Keep the open file's edits in memory before switching, validating or deploying.
    const name = this.current;
    if (!name) return;
    if (name.endsWith('.bpmn')) {
      const { xml } = await this.bpmn.saveXML({ format: true });
      this.files[name] = xml;
    } else if (name.endsWith('.dmn')) {
      const { xml } = await this.dmn.saveXML({ format: true });
      this.files[name] = xml;
    } else {
      this.files[name] = $('#form-json').value;
    }
  }

  show(kind) {
    for (const id of ['bpmn-pane', 'dmn-pane', 'json-pane']) $('#' + id).hidden = id !== kind;
  }

  async open(name) {
    await this.stash();
    this.current = name;
    $('#editor-file').value = name;
    this.importWarnings = [];
    this.importError = null;
    try {
      if (name.endsWith('.bpmn')) {
        this.show('bpmn-pane');
        const result = await this.bpmn.importXML(this.files[name]);
        this.importWarnings = result.warnings || [];
        this.bpmn.get('canvas').zoom('fit-viewport');
      } else if (name.endsWith('.dmn')) {
        this.show('dmn-pane');
        const result = await this.dmn.importXML(this.files[name]);
        this.importWarnings = result.warnings || [];
      } else {
        this.show('json-pane');
        $('#form-json').value = this.files[name];
        this.formChanged();
      }
      this.setStatus(`Opened ${name}` + (this.importWarnings.length ? ` (${this.importWarnings.length} import warnings)` : ''));
    } catch (err) {
      this.importError = String(err && err.message || err);
      this.setStatus(`${name} could not be opened: ${this.importError}`, 'error');
    }
    this.markProblems();
    return { warnings: this.importWarnings.map((w) => String(w.message || w)), error: this.importError };
  }

  async openSelectedDecision() {
    const selection = this.current && this.current.endsWith('.bpmn') ? this.bpmn.get('selection').get() : [];
    let decision = null;
    if (selection.length) {
      const bo = selection[0].businessObject;
      const values = (bo.extensionElements && bo.extensionElements.values) || [];
      const called = values.find((v) => v.$type === 'spiffworkflow:CalledDecisionId');
      decision = called && called.value;
    }
    const file = Object.keys(this.files).find((n) => n.endsWith('.dmn') && (!decision || this.files[n].includes(`id="${decision}"`)));
    if (!file) { this.setStatus('No DMN file holds that decision', 'error'); return; }
    await this.open(file);
    if (decision) {
      const view = this.dmn.getViews().find((v) => v.element.id === decision && v.type === 'decisionTable');
      if (view) await this.dmn.open(view);
    }
  }

  formChanged() {
    const text = $('#form-json').value;
    const out = $('#form-preview');
    clearTimeout(this.previewTimer);
    this.previewTimer = setTimeout(async () => {
      try { JSON.parse(text); } catch (e) {
        out.replaceChildren(el('p', { class: 'govuk-error-message', textContent: `Not valid JSON: ${e.message}` }));
        return;
      }
      const response = await fetch(this.urls.preview, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': this.csrf },
        body: JSON.stringify({ form: text })
      });
      const html = await response.text();
      const doc = new DOMParser().parseFromString(html, 'text/html');
      out.replaceChildren(...doc.body.childNodes);
      out.dataset.updated = String(Date.now());
    }, 250);
  }

  downloadCurrent() {
    this.stash().then(() => {
      const blob = new Blob([this.files[this.current]], { type: 'application/octet-stream' });
      const a = el('a', { href: URL.createObjectURL(blob), download: this.current.split('/').pop() });
      document.body.append(a);
      a.click();
      a.remove();
    });
  }

  async validate() {
    await this.stash();
    const { status, data } = await postJSON(this.urls.validate, { files: this.files }, this.csrf);
    this.problems = data.problems || [];
    this.showProblems();
    if (status !== 200) this.setStatus('The check failed: ' + ((data.error && data.error.message) || status), 'error');
    else if (this.problems.length) this.setStatus(`${this.problems.length} problem(s) found`, 'error');
    else this.setStatus('No problems found: this bundle can be deployed', 'ok');
    return this.problems;
  }

  async deploy() {
    await this.stash();
    const note = $('#editor-note').value;
    const { status, data } = await postJSON(this.urls.deploy, { files: this.files, note }, this.csrf);
    if (status === 201) {
      this.problems = [];
      this.showProblems();
      this.setStatus(`Deployed as version ${data.number}`, 'ok');
      const link = $('#editor-deployed');
      link.href = data.url;
      link.textContent = `Go to version ${data.number}`;
      link.hidden = false;
    } else {
      this.problems = data.problems || [];
      this.showProblems();
      this.setStatus((data.error && data.error.message) || `Not deployed (${status})`, 'error');
    }
    return { status, data };
  }

  showProblems() {
    const list = $('#editor-problems');
    list.replaceChildren(...this.problems.map((p) => {
      const link = el('a', { href: '#', class: 'govuk-link', textContent: `${p.file || 'bundle'}${p.element_id ? ' – ' + p.element_id : ''}` });
      link.addEventListener('click', (e) => { e.preventDefault(); this.goTo(p); });
      return el('li', { 'data-element-id': p.element_id || '' }, link, ': ' + p.message);
    }));
    $('#editor-problems-box').hidden = !this.problems.length;
    this.markProblems();
  }

  async goTo(problem) {
    if (problem.file && this.files[problem.file] !== undefined && problem.file !== this.current) await this.open(problem.file);
    if (problem.element_id && this.current.endsWith('.bpmn')) {
      const shape = this.bpmn.get('elementRegistry').get(problem.element_id);
      if (shape) this.bpmn.get('selection').select(shape);
    }
  }

  markProblems() {
    if (!this.current || !this.current.endsWith('.bpmn')) return;
    const canvas = this.bpmn.get('canvas');
    const overlays = this.bpmn.get('overlays');
    const registry = this.bpmn.get('elementRegistry');
    overlays.remove({ type: 'problem' });
    for (const shape of registry.getAll()) canvas.removeMarker(shape.id, 'app-problem');
    for (const p of this.problems) {
      if (!p.element_id || (p.file && p.file !== this.current)) continue;
      const shape = registry.get(p.element_id);
      if (!shape) continue;
      canvas.addMarker(shape.id, 'app-problem');
      if (shape.waypoints) continue;
      overlays.add(shape.id, 'problem', {
        position: { top: -12, right: 12 },
        html: el('span', { class: 'app-problem-badge', title: p.message, textContent: '!' })
      });
    }
  }
}

// --------------------------------------------------------------------------- comparing
class Compare {
  constructor(root) {
    this.root = root;
    this.left = new NavigatedViewer({ container: $('#compare-left') });
    this.right = new NavigatedViewer({ container: $('#compare-right') });
    window.compareViewers = [this.left, this.right];
    $('#compare-file').addEventListener('change', (e) => this.open(e.target.value));
  }

  async load() {
    const response = await fetch(this.root.dataset.compareUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    this.data = await response.json();
    const names = Object.keys({ ...this.data.old_files, ...this.data.new_files }).filter((n) => n.endsWith('.bpmn')).sort();
    const select = $('#compare-file');
    select.replaceChildren(...names.map((n) => el('option', { value: n, textContent: n })));
    const first = names.find((n) => this.data.changes.some((c) => c.file === n)) || names[0];
    if (first) { select.value = first; await this.open(first); }
    this.root.dataset.ready = 'true';
  }

  async open(name) {
    const changes = this.data.changes.filter((c) => c.file === name);
    await this.show(this.left, this.data.old_files[name], changes, ['removed', 'changed']);
    await this.show(this.right, this.data.new_files[name], changes, ['added', 'changed']);
  }

  async show(viewer, xml, changes, kinds) {
    if (!xml) { viewer.clear(); return; }
    await viewer.importXML(xml);
    const canvas = viewer.get('canvas');
    canvas.zoom('fit-viewport');
    const registry = viewer.get('elementRegistry');
    for (const c of changes) {
      if (!kinds.includes(c.kind) || !registry.get(c.element_id)) continue;
      canvas.addMarker(c.element_id, 'app-diff-' + c.kind);
    }
  }
}

window.addEventListener('DOMContentLoaded', () => {
  const editorRoot = document.getElementById('model-editor');
  if (editorRoot) {
    const editor = new Editor(editorRoot);
    window.modelEditorReady = editor.load();
  }
  const compareRoot = document.getElementById('model-compare');
  if (compareRoot) {
    const compare = new Compare(compareRoot);
    window.modelCompareReady = compare.load();
  }
});
