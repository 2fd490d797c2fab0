// Offline shell: the page's own files, network first, the last copy when offline. Model files
// are not handled here (the page caches them by checksum with the Cache API).
const SHELL = 'eerd-shell-v1';
const FILES = ['/', '/index.html', '/app.js', '/core.js', '/eerd-widget.js', '/worker.js', '/eerd-web.js',
  '/eerd-web_bg.wasm', '/style.css', '/widget.css', '/assignments/index.json'];

self.addEventListener('install', (event) => {
  self.skipWaiting();
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).catch(() => {}));
});

self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.includes('/models/')) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(SHELL).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request).then((hit) => hit || Response.error())),
  );
});
