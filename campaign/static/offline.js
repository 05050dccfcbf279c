// Reporting with no signal. On the report form, a report sent while the phone has no
// connection is kept on the phone (localStorage) and sent when the connection returns: at
// the "online" event, or the next time a page of the app opens. What the server answers is
// then shown in place of the page, as if the form had been sent then.
// The kept report names the version the reporter saw, so the server refuses it, rather
// than overwrite, if someone else changed the report meanwhile.
// Without JavaScript the form posts as usual. The texts come translated in the data-
// attributes of #outbox. Signing out deletes what this script and the worker kept.
(function () {
  "use strict";

  var KEY = "campaign.outbox";
  var status = document.getElementById("outbox");
  if (!status) { return; }
  var texts = status.dataset;
  var sending = false;
  // The report this page is sending, until its POST leaves: a page closed before then
  // gives it back, so the next page sends it at once rather than a minute later.
  var checking = null;
  // A page being left (closed, or another address opened in its tab) may still get the
  // "online" event before it goes: it starts nothing it could not finish.
  var leaving = false;

  function say(text) {
    status.textContent = text || "";
  }

  // [{url, fields: [[name, value], ...], kept: ISO time}], at most one per form.
  function waiting() {
    try {
      return JSON.parse(localStorage.getItem(KEY) || "[]");
    } catch (error) {
      return [];
    }
  }

  function store(items) {
    if (items.length) {
      localStorage.setItem(KEY, JSON.stringify(items));
    } else {
      localStorage.removeItem(KEY);
    }
  }

  function keep(item) {
    var items = waiting().filter(function (other) { return other.url !== item.url; });
    item.kept = new Date().toISOString();
    items.push(item);
    store(items);
    say(texts.waiting);
  }

  // Another page of the app (a second tab, the page just left) may be sending it: it
  // marks the report for a minute, so the server gets it once, not twice.
  var SENDING_FOR = 60 * 1000;

  function mark(item, sending) {
    store(waiting().map(function (other) {
      if (other.url === item.url && other.kept === item.kept) { other.sending = sending; }
      return other;
    }));
  }

  function forget(item) {
    store(waiting().filter(function (other) {
      return other.url !== item.url || other.kept !== item.kept;
    }));
  }

  function fieldsOf(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) {  // "Lưu nháp" or "Gửi báo cáo"
      data.append(submitter.name, submitter.value);
    }
    var fields = [];
    data.forEach(function (value, name) { fields.push([name, String(value)]); });
    return fields;
  }

  function pathOf(url) {
    return new URL(url, location.href).pathname;
  }

  // The CSRF token may have expired while the phone was offline: the form page gives the
  // session's current one. The version is never refreshed: it is what the reporter saw.
  function post(item) {
    return fetch(item.url, { credentials: "same-origin", cache: "no-store" }).then(function (page) {
      if (pathOf(page.url) !== pathOf(item.url)) {
        return { signIn: true };  // the session ended: sent to the sign-in page
      }
      return page.text().then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html")
          .querySelector("input[name=csrf_token]");
        if (leaving) {
          throw new Error("the page is being left");
        }
        var body = new URLSearchParams();
        item.fields.forEach(function (field) {
          var value = field[0] === "csrf_token" && fresh ? fresh.value : field[1];
          body.append(field[0], value);
        });
        checking = null;  // from here the server may get it: the mark stays
        return fetch(item.url, { method: "POST", body: body, credentials: "same-origin" })
          .then(function (response) { return { response: response }; });
      });
    });
  }

  // The server's answer in place of this page: where it redirected (the form, with its
  // message), or the form again with its errors or the conflict.
  function show(response) {
    return response.text().then(function (html) {
      var answer = new DOMParser().parseFromString(html, "text/html");
      var main = document.querySelector("main");
      var next = answer.querySelector("main");
      if (!main || !next) {
        location.assign(response.url);
        return;
      }
      main.replaceWith(document.importNode(next, true));
      document.title = answer.title;
      if (response.url && response.url !== location.href) {
        history.replaceState(null, "", response.url);
      }
    });
  }

  function sendWaiting() {
    var items = waiting();
    if (!items.length && (status.textContent === texts.sending || status.textContent === texts.waiting)) {
      say("");  // sent from another page of the app
    }
    if (!items.length || sending || leaving) { return; }
    if (navigator.onLine === false) {
      say(texts.waiting);
      return;
    }
    var now = Date.now();
    var free = items.filter(function (item) { return !(now - (item.sending || 0) < SENDING_FOR); });
    if (!free.length) {
      say(texts.sending);
      setTimeout(sendWaiting, SENDING_FOR);  // in case that page was closed meanwhile
      return;
    }
    var item = free[0];
    sending = true;
    mark(item, now);
    checking = item;
    say(texts.sending);
    post(item).then(function (outcome) {
      if (outcome.signIn) {
        sending = false;
        checking = null;
        mark(item, 0);
        say(texts.signIn);
        return;
      }
      forget(item);
      return show(outcome.response).then(function () {
        sending = false;
        say(texts.sent);
        sendWaiting();
      });
    }).catch(function () {
      sending = false;
      checking = null;
      mark(item, 0);
      say(texts.waiting);  // no connection after all: wait for the next chance
    });
  }

  // "Online" may still mean no signal: a report is posted by the browser itself only when
  // the server answers; else it is kept.
  function onReport(event, form) {
    if (form.dataset.posting === "yes") { return; }
    event.preventDefault();
    var submitter = event.submitter;
    var item = { url: form.action, fields: fieldsOf(form, submitter) };
    if (navigator.onLine === false) {
      keep(item);
      return;
    }
    fetch(texts.probe, { method: "HEAD", cache: "no-store", credentials: "same-origin" })
      .then(function () {
        form.dataset.posting = "yes";
        if (submitter && form.requestSubmit) {
          form.requestSubmit(submitter);
        } else {
          form.requestSubmit();
        }
      }, function () { keep(item); });
  }

  function clearKept() {
    localStorage.removeItem(KEY);
    if (!window.caches) { return Promise.resolve(); }
    return caches.keys().then(function (names) {
      return Promise.all(names.map(function (name) { return caches.delete(name); }));
    });
  }

  // A phone may be shared: what was kept goes with the reporter.
  function onSignOut(event, form) {
    if (form.dataset.cleared === "yes") { return; }
    event.preventDefault();
    if (waiting().length && !window.confirm(texts.discard)) { return; }
    clearKept().then(function () {
      form.dataset.cleared = "yes";
      form.requestSubmit();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-offline")) {
      onReport(event, form);
    } else if (form.hasAttribute("data-sign-out")) {
      onSignOut(event, form);
    }
  });

  window.addEventListener("online", sendWaiting);
  window.addEventListener("pagehide", function () {
    leaving = true;
    if (checking) {
      mark(checking, 0);
      checking = null;
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {  // back from the browser's page cache
      leaving = false;
      sendWaiting();
    }
  });
  window.addEventListener("storage", function (event) {  // another page kept or sent one
    if (event.key === KEY) { sendWaiting(); }
  });
  window.addEventListener("offline", function () {
    if (waiting().length) { say(texts.waiting); }
  });

  if (document.querySelector("form[data-offline]") && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(texts.worker, { scope: texts.scope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      // This page came before the worker: ask it to keep the form for a reload offline.
      if (registration.active) {
        registration.active.postMessage({ keep: location.pathname });
      }
    }).catch(function () { /* no worker: the page still keeps and sends reports */ });
  }

  sendWaiting();
}());
