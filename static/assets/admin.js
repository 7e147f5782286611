/* cardshop admin: helpers shared by every page under /admin/.
 *
 * Pages load the shared library, this file, then their own script (all with `defer`):
 *   <script src="/assets/common.js" defer></script>
 *   <script src="/assets/admin.js" defer></script>
 *   <script src="/admin/products.js" defer></script>
 * and call the helpers through `window.CardshopAdmin` (alias `Admin`), which also hands on
 * the DOM helpers of common.js (window.Cardshop). The CSP and textContent-only rules of
 * common.js hold here and in the page scripts.
 *
 * What it does on every page that includes it:
 *   - shows the red demo banner when GET /api/config says the sandbox gateway is on;
 *   - wires every [data-action="logout"] button;
 *   - marks the current nav link with aria-current="page".
 */
(function () {
  'use strict';

  var C = window.Cardshop;
  var ApiError = C.ApiError;

  var TOKEN_KEY = 'cardshop.admin.csrf';
  var SIGN_IN = '/admin/';
  var GENERIC = 'Something went wrong.';

  /* ---- errors ------------------------------------------------------------------------- */

  function messageOf(err) {
    if (!err) return GENERIC;
    if (err instanceof ApiError) {
      var text = err.message || GENERIC;
      var msg = text.charAt(0).toUpperCase() + text.slice(1);
      if (err.status === 503) msg = 'The server is busy right now; try again in a moment.';
      if (err.status === 428 || err.code === 'challenge') {
        msg = 'The browser check did not complete; try again.';
      }
      if (err.status === 429 && !err.message) msg = 'Too many attempts.';
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
    C.showText(box, typeof err === 'string' ? err : messageOf(err));
  }

  function clearError(box) {
    C.setText(box, '');
    C.hide(box);
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

  /* An answer without the API's error body (a proxy's page, say) still says what happened. */
  function errorFrom(resp, data) {
    return C.errorFrom(resp, data, {
      code: 'http_' + resp.status,
      message: 'The server answered ' + resp.status + (resp.statusText ? ' ' + resp.statusText : '') + '.'
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
    return C.request('GET', '/api/admin/session').then(function (r) {
      var data = r.data;
      if (r.resp.ok && data && typeof data.csrf_token === 'string') {
        saveToken(data.csrf_token);
        return data;
      }
      var err = errorFrom(r.resp, data);
      if (r.resp.status === 401 && !opts.noRedirect) throw redirectError(err);
      throw err;
    });
  }

  function csrfToken(forceRefresh) {
    var t = forceRefresh ? null : readToken();
    if (t) return Promise.resolve(t);
    return session().then(function (s) { return s.csrf_token; });
  }

  /* "Checking your browser…" while a proof-of-work challenge is being solved. */
  function checking(on) {
    var box = C.$('pow-notice');
    if (!box) {
      box = C.el('p', { id: 'pow-notice', className: 'notice pow-notice hidden',
                        attrs: { role: 'status', 'aria-live': 'polite' } }, 'Checking your browser…');
      document.body.appendChild(box);
    }
    if (on) C.show(box); else C.hide(box);
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
      var ready = unsafe && !opts.noToken ? csrfToken(n > 0) : Promise.resolve(null);
      return ready.then(function (token) {
        return C.requestSolving(method, path, body, token ? { 'X-CSRF-Token': token } : null,
                                checking);
      }).then(function (r) {
        var resp = r.resp;
        if (resp.ok) return r.data;
        var err = errorFrom(resp, r.data);
        if (resp.status === 401 && !opts.noRedirect) throw redirectError(err);
        if (resp.status === 403 && unsafe && !opts.noToken && n === 0) {
          saveToken(null); /* stale token (signed in again elsewhere?): fetch it once more */
          return attempt(1);
        }
        throw err;
      });
    }
    return attempt(0);
  }

  /* ---- money: integers of minor units, never floating point ----------------------------- */

  var PRICE_MAX = 1000000000; /* the server's limit, in minor units */

  /* 990, "CNY" -> "9.90 CNY" */
  function formatMoney(minor, currency) {
    if (typeof minor !== 'number' || !isFinite(minor) || Math.floor(minor) !== minor) return '';
    var s = C.minorText(minor, false);
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
    var two = C.pad2;
    return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + ' ' +
      two(d.getHours()) + ':' + two(d.getMinutes());
  }

  /* ---- DOM ------------------------------------------------------------------------------ */

  /* Disables the submit controls of a form while promise runs. */
  function busy(form, promise) {
    var controls = form ? form.querySelectorAll('button, input[type=submit]') : [];
    Array.prototype.forEach.call(controls, function (b) { b.disabled = true; });
    function done() { Array.prototype.forEach.call(controls, function (b) { b.disabled = false; }); }
    return promise.then(function (v) { done(); return v; }, function (e) { done(); throw e; });
  }

  function query(name) {
    return C.params().get(name);
  }

  /* ---- shop configuration and the demo banner --------------------------------------------- */

  function config() {
    return C.config().then(function (cfg) {
      return cfg || { name: 'cardshop', currency: '', gateways: [], sandbox: false };
    });
  }

  var BANNER_TEXT = 'Demo mode: the sandbox gateway is on \u2014 anyone can pay without money.';

  function showBanner() {
    return config().then(function (cfg) {
      if (cfg.sandbox === true) C.demoBanner(BANNER_TEXT, { id: 'demo-banner', attrs: { role: 'alert' } });
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

  /* The team and settings pages, on pages whose nav does not list them yet (a link already
   * there is left alone). Text only. */
  function addTeamLinks() {
    var nav = document.querySelector('.admin-top nav');
    if (!nav) return;
    [['/admin/team', 'Team'], ['/admin/settings', 'Settings']].forEach(function (l) {
      if (nav.querySelector('a[href="' + l[0] + '"]')) return;
      var text = window.TeamStrings ? window.TeamStrings('nav.' + l[1].toLowerCase()) : l[1];
      nav.appendChild(C.el('a', { href: l[0] }, text));
    });
  }

  function wirePage() {
    addTeamLinks();
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

  C.ready(wirePage);

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
    el: C.el,
    clear: C.clear,
    $: C.$,
    busy: busy,
    query: query,
    showError: showError,
    clearError: clearError,
    showNotice: C.showText,
    messageOf: messageOf
  };
  window.CardshopAdmin = Admin;
  window.Admin = Admin;
})();
