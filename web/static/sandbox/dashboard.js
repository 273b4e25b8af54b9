// paysandbox dashboard: live regions, admin API forms, copy buttons and the
// signature comparer. Plain JavaScript, no dependencies, no build step.
// Pages work without it (forms post to page endpoints); with it, forms call
// the admin API and the page follows GET /_sandbox/api/events.
(function () {
  'use strict';
  var $ = function (sel, el) { return (el || document).querySelector(sel); };
  var $$ = function (sel, el) { return Array.prototype.slice.call((el || document).querySelectorAll(sel)); };
  var body = document.body;

  // ---- sandbox clock and ages -------------------------------------------
  var clock = $('#sbx-clock');
  var base = { server: clock ? Date.parse(clock.dateTime) : Date.now(), local: Date.now() };
  function sandboxNow() { return base.server + (Date.now() - base.local); }
  function fmtTime(ms) { return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC'); }
  function fmtDur(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return (s % 60 === 0 || m >= 10) ? m + 'm' : m + 'm ' + (s % 60) + 's';
    var h = Math.floor(m / 60);
    if (h < 24) return m % 60 === 0 ? h + 'h' : h + 'h ' + (m % 60) + 'm';
    var d = Math.floor(h / 24);
    return h % 24 === 0 ? d + 'd' : d + 'd ' + (h % 24) + 'h';
  }
  function tick() {
    var now = sandboxNow();
    if (clock) clock.textContent = fmtTime(now).replace(/\.\d+ UTC$/, ' UTC');
    $$('time[data-age]').forEach(function (t) {
      var at = Date.parse(t.dateTime);
      if (!isNaN(at)) t.textContent = now >= at ? fmtDur(now - at) : 'in ' + fmtDur(at - now);
    });
  }
  function rebase() {
    clock = $('#sbx-clock');
    if (clock) base = { server: Date.parse(clock.dateTime), local: Date.now() };
  }
  setInterval(tick, 1000);

  // ---- live regions ------------------------------------------------------
  var follow = body.dataset.follow || '';
  var watch = (body.dataset.watch || '').split(/\s+/).filter(Boolean);
  var live = $('#sbx-live');
  var pending = false, inflight = false, lastRun = 0, timer = null;
  var MIN_GAP = 600;

  function setLive(state, text) {
    if (!live) return;
    live.className = 'live ' + state;
    if (live.textContent !== text) live.textContent = text;
  }

  function refreshSoon() {
    pending = true;
    if (inflight || timer) return;
    timer = setTimeout(run, Math.max(0, MIN_GAP - (Date.now() - lastRun)));
  }

  function run() {
    timer = null;
    if (!pending || inflight) return;
    if (document.hidden) { document.addEventListener('visibilitychange', refreshSoon, { once: true }); return; }
    pending = false; inflight = true; lastRun = Date.now();
    fetch(location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) {
        if (r.status === 404) setLive('off', 'this page is gone (was the sandbox reset?)');
        return r.ok ? r.text() : null;
      })
      .then(function (html) { if (html) swap(html); })
      .catch(function () {})
      .then(function () { inflight = false; if (pending) refreshSoon(); });
  }

  function typing(el) {
    var a = document.activeElement;
    return a && el.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName) && a.type !== 'hidden';
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    var focused = document.activeElement, focusKey = null;
    if (focused && focused !== body) focusKey = focused.id ? '#' + focused.id : focused.dataset && focused.dataset.action ? '[data-action="' + focused.dataset.action + '"]' : null;
    $$('[data-live-region]').forEach(function (el) {
      var nu = el.id && doc.getElementById(el.id);
      if (!nu) return;
      if (typing(el)) { pending = true; return; }
      if (el.innerHTML === nu.innerHTML) return;
      var old = {};
      $$('tr[data-key]', el).forEach(function (tr) { old[tr.dataset.key] = tr.dataset.sig; });
      var open = $$('details[open]', el).map(function (d, i) { return d.id || i; });
      el.innerHTML = nu.innerHTML;
      var details = $$('details', el);
      open.forEach(function (k) { var d = typeof k === 'string' ? document.getElementById(k) : details[k]; if (d) d.open = true; });
      if (Object.keys(old).length || $$('tr[data-key]', el).length) {
        $$('tr[data-key]', el).forEach(function (tr) {
          if (old[tr.dataset.key] !== tr.dataset.sig) tr.classList.add('flash-row');
        });
      }
    });
    var newTitle = doc.querySelector('title');
    if (newTitle) document.title = newTitle.textContent;
    if (focusKey && !document.contains(focused)) {
      var again = $(focusKey);
      if (again) again.focus(); else $('#flash') && $('#flash').focus();
    }
    rebase(); tick();
    setLive('on', 'live');
  }

  var lastSeen = Number(body.dataset.lastId || 0);
  var entryKinds = ['request', 'transition', 'callback', 'timer', 'page', 'hook', 'note'];
  var notices = ['clock', 'scenarios', 'reset', 'lost'];

  function onEntry(ev) {
    if (ev.lastEventId) lastSeen = Math.max(lastSeen, Number(ev.lastEventId) || 0);
    if (follow === 'all') { refreshSoon(); return; }
    if (follow !== 'ids') return;
    try {
      var e = JSON.parse(ev.data);
      if ((e.objects || []).some(function (id) { return watch.indexOf(id) >= 0; })) refreshSoon();
    } catch (err) { refreshSoon(); }
  }
  function onNotice(ev) {
    if (ev.type === 'clock') {
      try { var c = JSON.parse(ev.data); base = { server: Date.parse(c.now), local: Date.now() }; tick(); } catch (err) {}
    }
    if (follow) refreshSoon();
  }

  var es = null, retry = 1000;
  function connect() {
    if (!window.EventSource) { setLive('off', 'live updates need a browser with EventSource'); return; }
    es = new EventSource('/_sandbox/api/events?since=' + lastSeen);
    es.onopen = function () { retry = 1000; setLive('on', follow ? 'live' : 'connected'); };
    es.onerror = function () {
      setLive('off', 'reconnecting…');
      es.close();
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
    entryKinds.forEach(function (k) { es.addEventListener(k, onEntry); });
    notices.forEach(function (k) { es.addEventListener(k, onNotice); });
  }
  connect();
  window.addEventListener('pagehide', function () { if (es) es.close(); });

  // ---- forms that call the admin API --------------------------------------
  function formJSON(f) {
    var out = {};
    Array.prototype.forEach.call(f.elements, function (el) {
      if (!el.name || el.name === 'return' || el.name === 'csrf' || el.disabled || el.type === 'file' || /^(BUTTON|FIELDSET)$/.test(el.tagName)) return;
      var optional = el.hasAttribute('data-optional');
      if (el.type === 'checkbox') {
        if (el.checked) out[el.name] = true; else if (!optional) out[el.name] = false;
        return;
      }
      var v = el.value.trim();
      if (v === '' && optional) return;
      out[el.name] = v;
    });
    return out;
  }

  function flash(kind, text) {
    var box = $('#flash');
    if (!box) return;
    box.innerHTML = '';
    var p = document.createElement('p');
    p.className = 'flash ' + kind;
    p.setAttribute('role', kind === 'bad' ? 'alert' : 'status');
    p.textContent = text;
    box.appendChild(p);
  }

  // okMessage says what a form's API call did, as the no-script form
  // handlers do (dashboard_forms.go): "pay → verifying",
  // "advanced 15m: 3 timers fired", "reset: khipu's objects, … are forgotten".
  function okMessage(f, btn, j) {
    if (!j) return '';
    switch (f.dataset.flash) {
      case 'action': {
        var action = btn && btn.dataset.action || 'action';
        if (!j.status) return action + ': done';
        if (j.status === f.dataset.status) return action + ': done (still ' + j.status + ')';
        return action + ' \u2192 ' + j.status;
      }
      case 'advance': {
        var by = (f.elements.by && f.elements.by.value || '').trim();
        var n = Number(j.fired || 0);
        var timers = n === 0 ? 'no timer was due' : n === 1 ? '1 timer fired' : n + ' timers fired';
        return 'advanced ' + by + ': ' + timers;
      }
      case 'reset': {
        var what = f.elements.provider && f.elements.provider.value;
        return 'reset: ' + (what || 'every provider') + "'s objects, timers, callbacks and journal entries are forgotten";
      }
    }
    return '';
  }

  function problemsHTML(list) {
    var ul = document.createElement('ul');
    ul.className = 'problems';
    list.forEach(function (p) {
      var li = document.createElement('li');
      if (p.line) {
        var b = document.createElement('button');
        b.type = 'button'; b.className = 'linkish'; b.dataset.line = p.line; b.textContent = 'line ' + p.line;
        li.appendChild(b); li.appendChild(document.createTextNode(': '));
      }
      li.appendChild(document.createTextNode((p.rule ? p.rule + ': ' : '') + (p.message || p.text)));
      ul.appendChild(li);
    });
    return ul;
  }

  document.addEventListener('submit', function (ev) {
    var f = ev.target;
    if (!(f instanceof HTMLFormElement) || !f.dataset.api) return;
    ev.preventDefault();
    if (f.dataset.confirm && !window.confirm(f.dataset.confirm)) return;
    var btn = ev.submitter || $('button[type=submit]', f);
    var mode = f.dataset.body || 'json';
    var headers = {}, payload = Promise.resolve(undefined);
    if (f.elements.csrf) headers['X-CSRF-Token'] = f.elements.csrf.value;
    if (mode === 'json') {
      headers['Content-Type'] = 'application/json';
      payload = Promise.resolve(JSON.stringify(formJSON(f)));
    } else if (mode.indexOf('raw:') === 0) {
      headers['Content-Type'] = 'application/yaml';
      var file = f.elements.file && f.elements.file.files && f.elements.file.files[0];
      var field = f.elements[mode.slice(4)];
      payload = file ? file.text().then(function (t) { if (field) field.value = t; return t; }) : Promise.resolve(field ? field.value : '');
    }
    if (btn) btn.disabled = true;
    var problems = $('#upload-problems', f);
    payload.then(function (data) {
      return fetch(f.dataset.api, { method: f.dataset.method || 'POST', headers: headers, body: data, credentials: 'same-origin' });
    }).then(function (r) {
      return r.text().then(function (text) {
        var j = null;
        try { j = JSON.parse(text); } catch (err) { /* not JSON */ }
        if (r.ok) {
          if (problems) problems.innerHTML = '';
          flash('ok', okMessage(f, btn, j) || f.dataset.ok || 'done');
          refreshSoon();
          return;
        }
        var msg = j && j.error ? j.error.message : 'HTTP ' + r.status + ' ' + text.slice(0, 200);
        if (problems && j && j.error && j.error.problems) {
          problems.innerHTML = '<p class="bad-text">The scenario was not loaded:</p>';
          problems.appendChild(problemsHTML(j.error.problems));
          return;
        }
        var what = btn && btn.dataset.action ? btn.dataset.action + ': ' : '';
        flash('bad', what + msg);
      });
    }).catch(function (err) {
      flash('bad', 'the request failed: ' + err);
    }).then(function () { if (btn) btn.disabled = false; });
  });

  // ---- clicks: copy buttons, problem lines ----------------------------------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var ta = document.createElement('textarea');
      ta.value = text; ta.setAttribute('readonly', ''); ta.style.position = 'fixed'; ta.style.opacity = '0';
      body.appendChild(ta); ta.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (err) { ok = false; }
      body.removeChild(ta);
      if (ok) resolve(); else reject(new Error('copy refused'));
    });
  }

  // rawOf is a canonical string's exact text: the page shows control
  // characters escaped and keeps the original in data-raw.
  function rawOf(pre) { return pre.hasAttribute('data-raw') ? pre.dataset.raw : pre.textContent; }

  document.addEventListener('click', function (ev) {
    var b = ev.target.closest && ev.target.closest('button');
    if (!b) return;
    if (b.classList.contains('copy')) {
      var label = b.dataset.label || b.textContent;
      b.dataset.label = label;
      var from = b.dataset.copyFrom && document.getElementById(b.dataset.copyFrom);
      copyText(from ? rawOf(from) : (b.dataset.copy || '')).then(function () { b.textContent = 'Copied'; }, function () { b.textContent = 'Select and copy by hand'; });
      setTimeout(function () { b.textContent = label; }, 1500);
      return;
    }
    if (b.dataset.line) {
      var ta = $('#yaml');
      if (!ta) return;
      var lines = ta.value.split('\n'), n = Number(b.dataset.line) - 1, start = 0;
      for (var i = 0; i < n && i < lines.length; i++) start += lines[i].length + 1;
      ta.focus();
      ta.setSelectionRange(start, start + (lines[n] || '').length);
    }
  });

  // ---- signature comparer ----------------------------------------------------
  var mine = $('#mine');
  if (mine) {
    var out = $('#mine-result');
    var show = function (s) {
      return s.replace(/[\x00-\x1f\x7f]/g, function (c) {
        return c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : '\\x' + ('0' + c.charCodeAt(0).toString(16)).slice(-2);
      });
    };
    mine.addEventListener('input', function () {
      var v = mine.value;
      if (v.length > 0 && v.charAt(v.length - 1) === '\n' && !/\n$/.test(v.slice(0, -1))) v = v.slice(0, -1);
      var lines = [];
      $$('pre[data-candidate]').forEach(function (pre, i) {
        var li = pre.closest('li'), want = rawOf(pre);
        var sig = li ? ($('pre.sig', li) || {}).textContent : '';
        var name = li ? li.querySelector('h3').firstChild.textContent.trim() : 'candidate ' + (i + 1);
        if (li) li.classList.remove('differs');
        if (!v) return;
        if (sig && v.trim().toLowerCase() === sig.trim().toLowerCase()) { lines.push(name + ': that is this candidate\'s signature.'); return; }
        if (v === want) { lines.push(name + ': identical.'); return; }
        var k = 0;
        while (k < v.length && k < want.length && v.charAt(k) === want.charAt(k)) k++;
        if (li) li.classList.add('differs');
        lines.push(name + ': differs at character ' + (k + 1) + ' of ' + want.length + ' — yours: …' +
          show(v.slice(Math.max(0, k - 20), k)) + '[' + show(v.slice(k, k + 20)) + ']…, the sandbox\'s: …' +
          show(want.slice(Math.max(0, k - 20), k)) + '[' + show(want.slice(k, k + 20)) + ']…' +
          (k === v.length ? ' (yours ends here)' : k === want.length ? ' (the sandbox\'s ends here)' : ''));
      });
      out.textContent = lines.join('\n');
    });
  }

})();
