// The host page's side: listen for the widget's event and the framed widget's message.
const received = document.getElementById('received');
const receivedFrame = document.getElementById('received-frame');
const widget = document.getElementById('widget');
const model = new URLSearchParams(location.search).get('model');
if (model && /^\/(?!\/)[A-Za-z0-9_./-]*\/$/.test(model)) {
  widget.setAttribute('model', model);
  document.getElementById('frame').src = `embed.html?assignment=bank&model=${encodeURIComponent(model)}`;
}
document.addEventListener('eerd-graded', (e) => {
  received.textContent = JSON.stringify(e.detail, null, 2);
  document.body.dataset.graded = String((Number(document.body.dataset.graded) || 0) + 1);
});
window.addEventListener('message', (e) => {
  if (e.origin !== location.origin || !e.data || e.data.type !== 'eerd-graded') return;
  receivedFrame.textContent = JSON.stringify(e.data, null, 2);
  document.body.dataset.framedGraded = String((Number(document.body.dataset.framedGraded) || 0) + 1);
});
