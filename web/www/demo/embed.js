// An iframe page holding one widget: ?assignment=ID&model=/path/.
const params = new URLSearchParams(location.search);
const widget = document.createElement('eerd-grader');
const assignment = params.get('assignment') || 'company';
if (/^[a-z0-9][a-z0-9_-]*$/i.test(assignment)) widget.setAttribute('assignment', assignment);
const model = params.get('model');
if (model && /^\/(?!\/)[A-Za-z0-9_./-]*\/$/.test(model)) widget.setAttribute('model', model);
document.body.append(widget);
await import('/eerd-widget.js');
