// The reporter's service worker. It keeps the report form (network first, so a reporter
// with a signal always sees what is stored now) and the app's static files (cache first).
// It keeps no other page and no figures: not the lists, not the reviewers' pages.
// Signing out clears it all (Clear-Site-Data, and static/offline.js).
"use strict";

const CACHE = {{ cache|tojson }};
const FILES = {{ files|tojson }};
const STATIC = {{ static|tojson }};
const FORM = new RegExp({{ form|tojson }});

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

function isForm(url) {
  return url.origin === self.location.origin && FORM.test(url.pathname) && !url.search;
}

function isStatic(url) {
  return url.origin === self.location.origin && url.pathname.startsWith(STATIC);
}

// Only the form as the server shows it to the signed-in reporter: not a redirect (to the
// sign-in page) nor an error page.
async function keepForm(url, response) {
  if (response.ok && response.type === "basic" && !response.redirected) {
    const cache = await caches.open(CACHE);
    await cache.put(url.href, response.clone());
  }
  return response;
}

async function formFromNetworkFirst(request, url) {
  try {
    return await keepForm(url, await fetch(request));
  } catch (error) {
    const kept = await caches.match(url.href, { ignoreVary: true });
    if (kept) {
      return kept;
    }
    throw error;
  }
}

async function staticFromCacheFirst(request) {
  const kept = await caches.match(request, { ignoreVary: true });
  if (kept) {
    return kept;
  }
  const response = await fetch(request);
  if (response.ok && response.type === "basic") {
    const cache = await caches.open(CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  // The kept form is for the reporter opening it; the page's script, asking for the form
  // before it sends a kept report, needs the server's answer or none.
  if (isForm(url) && request.mode === "navigate") {
    event.respondWith(formFromNetworkFirst(request, url));
  } else if (isStatic(url)) {
    event.respondWith(staticFromCacheFirst(request));
  }
});

// The page that registered the worker was loaded before it: it asks for its form to be kept.
self.addEventListener("message", (event) => {
  const path = event.data && event.data.keep;
  if (typeof path !== "string") {
    return;
  }
  const url = new URL(path, self.location.origin);
  if (isForm(url)) {
    event.waitUntil(fetch(url.href, { credentials: "same-origin" }).then((r) => keepForm(url, r)));
  }
});
