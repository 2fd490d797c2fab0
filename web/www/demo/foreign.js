// A course page whose widget files live on another origin (?from=http://host:port/), as when a
// course site embeds the grader served elsewhere. That host must send CORS headers.
const params = new URLSearchParams(location.search);
const base = new URL(params.get('from') || '/', location.href);
if (!/^https?:$/.test(base.protocol)) throw new Error('?from must be an http(s) URL');
document.getElementById('from').textContent = base.href;
const widget = document.createElement('eerd-grader');
widget.setAttribute('assignment', 'company');
const model = params.get('model');
if (model && /^\/(?!\/)[A-Za-z0-9_./-]*\/$/.test(model)) widget.setAttribute('model', new URL(model, base).href);
document.getElementById('slot').append(widget);
const received = document.getElementById('received');
document.addEventListener('eerd-graded', (e) => {
  received.textContent = JSON.stringify(e.detail, null, 2);
  document.body.dataset.graded = String((Number(document.body.dataset.graded) || 0) + 1);
});
await import(new URL('eerd-widget.js', base).href);
