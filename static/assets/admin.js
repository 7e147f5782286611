/* cardshop admin: helpers shared by every page under /admin/.
 *
 * Pages load this file first, then their own script (both with `defer`):
 *   <script src="/assets/admin.js" defer></script>
 *   <script src="/admin/products.js" defer></script>
 * and call the helpers through `window.CardshopAdmin` (alias `Admin`).
 *
 * Rules (the server sends a strict CSP, and the data is hostile until proven otherwise):
 *   - no inline scripts, styles or event handlers: wire everything here or in page scripts;
 *   - server text goes into the page through textContent / createTextNode / properties only
 *     (see el() below), never through innerHTML and friends.
 *
 * What it does on every page that includes it:
 *   - shows the red demo banner when GET /api/config says the sandbox gateway is on;
 *   - wires every [data-action="logout"] button;
 *   - marks the current nav link with aria-current="page".
 */
(function () {
  'use strict';

  var TOKEN_KEY = 'cardshop.admin.csrf';
  var SIGN_IN = '/admin/';

  /* ---- errors ------------------------------------------------------------------------- */

  function ApiError(status, code, message, retryAfter) {
    this.name = 'ApiError';
    this.status = status;
    this.code = code || 'error';
    this.message = message || 'Something went wrong.';
    this.retryAfter = retryAfter || 0;
    this.redirecting = false;
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  function messageOf(err) {
    if (!err) return 'Something went wrong.';
    if (err instanceof ApiError) {
      var msg = err.message.charAt(0).toUpperCase() + err.message.slice(1);
      if (err.status === 429 && err.retryAfter > 0) {
        var secs = err.retryAfter;
        msg += ' (try again in ' + (secs >= 120 ? Math.ceil(secs / 60) + ' minutes' : secs + ' seconds') + ')';
      }
      return msg;
    }
    return String(err.message || err);
  }

  /* Shows err (an ApiError, an Error or a string) in the element box; nothing when the page
   * is already on its way to the sign-in form. */
  function showError(box, err) {
    if (!box) return;
    if (err && err.redirecting) return;
    box.textContent = typeof err === 'string' ? err : messageOf(err);
    box.classList.remove('hidden');
  }

  function clearError(box) {
    if (!box) return;
    box.textContent = '';
    box.classList.add('hidden');
  }

  function showNotice(box, text) {
    if (!box) return;
    box.textContent = text;
    box.classList.remove('hidden');
  }

  /* ---- CSRF token ---------------------------------------------------------------------- */

  function readToken() {
    try { return window.sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function saveToken(token) {
    try {
      if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage disabled: the token is fetched again when needed */ }
  }

  /* Where a page sends the browser when the session is missing or over. */
  function goSignIn() {
    var here = location.pathname + location.search;
    var target = SIGN_IN;
    if (location.pathname !== SIGN_IN && location.pathname !== '/admin/index.html') {
      target += '?next=' + encodeURIComponent(here);
    }
    location.replace(target);
  }

  /* ---- HTTP ----------------------------------------------------------------------------- */

  function parseBody(resp) {
    var type = resp.headers.get('Content-Type') || '';
    if (type.indexOf('application/json') !== -1) {
      return resp.json().catch(function () { return null; });
    }
    return resp.text().catch(function () { return ''; });
  }

  function errorFrom(resp, data) {
    var code = 'http_' + resp.status;
    var message = 'The server answered ' + resp.status + (resp.statusText ? ' ' + resp.statusText : '') + '.';
    if (data && typeof data === 'object' && data.error && typeof data.error === 'object') {
      if (typeof data.error.code === 'string') code = data.error.code;
      if (typeof data.error.message === 'string' && data.error.message) message = data.error.message;
    }
    var retry = parseInt(resp.headers.get('Retry-After') || '0', 10);
    return new ApiError(resp.status, code, message, isNaN(retry) ? 0 : retry);
  }

  function send(method, path, headers, payload) {
    return fetch(path, {
      method: method,
      headers: headers,
      body: payload,
      credentials: 'same-origin',
      cache: 'no-store'
    }).catch(function () {
      throw new ApiError(0, 'network', 'Cannot reach the server. Check the connection and try again.');
    });
  }

  function redirectError(err) {
    saveToken(null);
    goSignIn();
    err.redirecting = true;
    return err;
  }

  /* The session (and its CSRF token) from the server; remembers the token. */
  function session(opts) {
    opts = opts || {};
    return send('GET', '/api/admin/session', { Accept: 'application/json' }).then(function (resp) {
      return parseBody(resp).then(function (data) {
        if (resp.ok && data && typeof data.csrf_token === 'string') {
          saveToken(data.csrf_token);
          return data;
        }
        var err = errorFrom(resp, data);
        if (resp.status === 401 && !opts.noRedirect) throw redirectError(err);
        throw err;
      });
    });
  }

  function csrfToken(forceRefresh) {
    var t = forceRefresh ? null : readToken();
    if (t) return Promise.resolve(t);
    return session().then(function (s) { return s.csrf_token; });
  }

  /* api(method, path, body?, opts?) -> Promise of the parsed answer (JSON object, else text).
   *   body: a plain object or array is sent as JSON; a string as text/plain; null/undefined: none.
   *   opts.noRedirect: a 401 rejects instead of going to the sign-in form.
   *   opts.noToken: do not send (or fetch) the CSRF token (sign-in only).
   * Rejects with an ApiError {status, code, message, retryAfter}. Unsafe methods carry
   * X-CSRF-Token; a token the server refuses (403) is refreshed once and the request retried. */
  function api(method, path, body, opts) {
    opts = opts || {};
    method = String(method || 'GET').toUpperCase();
    var unsafe = method !== 'GET' && method !== 'HEAD';

    function attempt(n) {
      var headers = { Accept: 'application/json' };
      var payload;
      if (body !== undefined && body !== null) {
        if (typeof body === 'string') {
          headers['Content-Type'] = 'text/plain; charset=utf-8';
          payload = body;
        } else {
          headers['Content-Type'] = 'application/json';
          payload = JSON.stringify(body);
        }
      }
      var ready = unsafe && !opts.noToken ? csrfToken(n > 0) : Promise.resolve(null);
      return ready.then(function (token) {
        if (token) headers['X-CSRF-Token'] = token;
        return send(method, path, headers, payload);
      }).then(function (resp) {
        return parseBody(resp).then(function (data) {
          if (resp.ok) return data;
          var err = errorFrom(resp, data);
          if (resp.status === 401 && !opts.noRedirect) throw redirectError(err);
          if (resp.status === 403 && unsafe && !opts.noToken && n === 0) {
            saveToken(null); /* stale token (signed in again elsewhere?): fetch it once more */
            return attempt(1);
          }
          throw err;
        });
      });
    }
    return attempt(0);
  }

  /* ---- money: integers of minor units, never floating point ----------------------------- */

  var PRICE_MAX = 1000000000; /* the server's limit, in minor units */

  /* 990, "CNY" -> "9.90 CNY" */
  function formatMoney(minor, currency) {
    if (typeof minor !== 'number' || !isFinite(minor) || Math.floor(minor) !== minor) return '';
    var neg = minor < 0;
    var n = Math.abs(minor);
    var major = Math.floor(n / 100);
    var cents = n % 100;
    var s = (neg ? '-' : '') + String(major) + '.' + (cents < 10 ? '0' : '') + String(cents);
    return currency ? s + ' ' + currency : s;
  }

  /* "9.90" / "9.9" / "9" / "9,90" / ".5" -> 990 / 990 / 900 / 990 / 50; anything else
   * (more than two decimals, signs, letters, too large) -> null. Works on the digits as text,
   * so "0.29" is 29 and not 28.999999999999996. */
  function parseMoney(text) {
    var m = /^\s*(\d*)(?:[.,](\d{0,2}))?\s*$/.exec(String(text == null ? '' : text));
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) return null;
    var major = m[1].replace(/^0+(?=\d)/, '') || '0';
    if (major.length > 8) return null;
    var cents = ((m[2] || '') + '00').slice(0, 2);
    var value = parseInt(major, 10) * 100 + parseInt(cents, 10);
    return value <= PRICE_MAX ? value : null;
  }

  /* 990 -> "9.90" (for a form field) */
  function moneyInput(minor) {
    return formatMoney(minor, '');
  }

  /* "12" -> 12; "", "1.5", "-1", "abc" -> null */
  function parseCount(text) {
    var s = String(text == null ? '' : text).trim();
    if (!/^\d{1,9}$/.test(s)) return null;
    return parseInt(s, 10);
  }

  function formatTime(seconds) {
    if (typeof seconds !== 'number' || !seconds) return '';
    var d = new Date(seconds * 1000);
    function two(x) { return (x < 10 ? '0' : '') + x; }
    return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + ' ' +
      two(d.getHours()) + ':' + two(d.getMinutes());
  }

  /* ---- DOM ------------------------------------------------------------------------------ */

  /* el('a', {href: '/x', className: 'button', dataset: {id: 3}}, 'text', otherNode, ...)
   * Properties are assigned as properties (never as HTML); string children become text
   * nodes; null/undefined/false children are skipped; arrays are flattened. */
  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === undefined || v === null) return;
        if (k === 'dataset') {
          Object.keys(v).forEach(function (d) { node.dataset[d] = String(v[d]); });
        } else if (k === 'attrs') {
          Object.keys(v).forEach(function (a) {
            if (/^on/i.test(a) || a.toLowerCase() === 'style') return;
            node.setAttribute(a, String(v[a]));
          });
        } else if (k === 'innerHTML' || k === 'outerHTML' || /^on/i.test(k)) {
          throw new Error('el(): refusing to set ' + k);
        } else {
          node[k] = v;
        }
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }

  function clear(node) {
    while (node && node.firstChild) node.removeChild(node.firstChild);
  }

  function $(id) { return document.getElementById(id); }

  /* Disables the submit controls of a form while promise runs. */
  function busy(form, promise) {
    var controls = form ? form.querySelectorAll('button, input[type=submit]') : [];
    Array.prototype.forEach.call(controls, function (b) { b.disabled = true; });
    function done() { Array.prototype.forEach.call(controls, function (b) { b.disabled = false; }); }
    return promise.then(function (v) { done(); return v; }, function (e) { done(); throw e; });
  }

  function query(name) {
    return new URLSearchParams(location.search).get(name);
  }

  /* ---- shop configuration and the demo banner --------------------------------------------- */

  var configPromise = null;
  function config() {
    if (!configPromise) {
      configPromise = api('GET', '/api/config', null, { noRedirect: true }).catch(function () {
        return { name: 'cardshop', currency: '', gateways: [], sandbox: false };
      });
    }
    return configPromise;
  }

  var BANNER_TEXT = 'Demo mode: the sandbox gateway is on \u2014 anyone can pay without money.';

  function showBanner() {
    return config().then(function (cfg) {
      if (!cfg || cfg.sandbox !== true || document.getElementById('demo-banner')) return;
      var banner = el('div', { id: 'demo-banner', className: 'demo-banner', attrs: { role: 'alert' } }, BANNER_TEXT);
      document.body.insertBefore(banner, document.body.firstChild);
    });
  }

  /* ---- session helpers for signed-in pages ------------------------------------------------ */

  /* Resolves with {username, csrf_token}, or sends the browser to the sign-in form. Fills
   * every [data-admin-user] element with the username. */
  function requireSession() {
    return session().then(function (s) {
      Array.prototype.forEach.call(document.querySelectorAll('[data-admin-user]'), function (n) {
        n.textContent = s.username || '';
      });
      return s;
    });
  }

  function logout() {
    return api('POST', '/api/admin/logout', null, { noRedirect: true }).catch(function () {
      /* already signed out, or the server is away: the sign-in form is right either way */
    }).then(function () {
      saveToken(null);
      location.assign(SIGN_IN);
    });
  }

  function wirePage() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-action="logout"]'), function (b) {
      b.addEventListener('click', function (ev) {
        ev.preventDefault();
        b.disabled = true;
        logout();
      });
    });
    var path = location.pathname.replace(/\.html$/, '').replace(/\/$/, '');
    Array.prototype.forEach.call(document.querySelectorAll('.admin-top nav a'), function (a) {
      var target = a.pathname.replace(/\.html$/, '').replace(/\/$/, '');
      if (target === path) a.setAttribute('aria-current', 'page');
    });
    showBanner();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', wirePage);
  else wirePage();

  var Admin = {
    api: api,
    ApiError: ApiError,
    session: session,
    requireSession: requireSession,
    saveToken: saveToken,
    logout: logout,
    goSignIn: goSignIn,
    config: config,
    formatMoney: formatMoney,
    parseMoney: parseMoney,
    moneyInput: moneyInput,
    parseCount: parseCount,
    formatTime: formatTime,
    el: el,
    clear: clear,
    $: $,
    busy: busy,
    query: query,
    showError: showError,
    clearError: clearError,
    showNotice: showNotice,
    messageOf: messageOf
  };
  window.CardshopAdmin = Admin;
  window.Admin = Admin;
})();
