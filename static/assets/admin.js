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
 * Pages also load the string dictionaries before this file:
 *   <script src="/assets/i18n.js" defer></script>
 *   <script src="/assets/admin-i18n.js" defer></script>
 * and every visible string goes through I18n.t() or a data-i18n attribute (applied here).
 *
 * What it does on every page that includes it:
 *   - builds the header: the shop's name (GET /api/config), ONE navigation made from PAGES
 *     below (a new page is one line there, no edit to every HTML file), the language switch,
 *     the signed-in user and the sign-out button; the sign-in page gets the name and switch;
 *   - fills [data-i18n] texts, and the title from <body data-title="key">;
 *   - shows the red demo banner when GET /api/config says the sandbox gateway is on;
 *   - wires every [data-action="logout"] button;
 *   - marks the current nav link with aria-current="page".
 */
(function () {
  'use strict';

  var C = window.Cardshop;
  var ApiError = C.ApiError;
  /* A page that does not load the dictionaries yet (i18n.js, admin-i18n.js) still gets an
   * English header and messages; tests/browser/test_pages.py asks every page to load them. */
  var I18n = window.I18n && window.I18n.extend ? window.I18n : fallbackI18n();
  var t = I18n.t;

  function fallbackI18n() {
    var en = { 'admin.brand_sub': 'admin', 'admin.sign_out': 'Sign out', 'nav.label': 'Admin pages',
      'nav.dashboard': 'Dashboard', 'nav.products': 'Products', 'nav.orders': 'Orders',
      'nav.coupons': 'Coupons', 'nav.mail': 'Mail', 'nav.team': 'Team', 'nav.settings': 'Settings',
      'nav.audit': 'Audit log', 'admin.err.generic': 'Something went wrong.' };
    function tr(key, params) {
      var s = Object.prototype.hasOwnProperty.call(en, key) ? en[key] : key;
      return s.replace(/\{(\w+)\}/g, function (m, k) { return params && k in params ? String(params[k]) : m; });
    }
    return { lang: 'en', t: tr, has: function (k) { return k in en; }, apply: function () {},
             other: function () { return { code: 'en', label: 'English' }; }, setLang: function () {} };
  }

  var TOKEN_KEY = 'cardshop.admin.csrf';
  var PAGES_KEY = 'cardshop.admin.pages';
  var ROLE_KEY = 'cardshop.admin.role';
  var SIGN_IN = '/admin/';
  var HOME = '/admin/dashboard';

  /* The admin's navigation, in order. `also`: pages under the entry (marked current with
   * it). `probe`: a page another change adds; its link shows once the page answers.
   * `owner`: owners only (the server answers staff 403): staff do not see the link. */
  var PAGES = [
    { path: '/admin/dashboard', key: 'nav.dashboard' },
    { path: '/admin/products', key: 'nav.products', also: ['/admin/keys'] },
    { path: '/admin/orders', key: 'nav.orders' },
    { path: '/admin/coupons', key: 'nav.coupons' },
    { path: '/admin/mail', key: 'nav.mail' },
    { path: '/admin/gateways', key: 'nav.gateways', owner: true },
    { path: '/admin/team', key: 'nav.team' },
    { path: '/admin/settings', key: 'nav.settings', owner: true },
    { path: '/admin/audit', key: 'nav.audit' }
  ];

  /* ---- errors ------------------------------------------------------------------------- */

  /* The server's message in the admin's language where it is a known one ("quantity: must
   * be from 1 to 5"), else as sent. */
  function serverText(text) {
    if (I18n.has('server.' + text)) return t('server.' + text);
    var m = /^([a-z_.]+): (.+)$/.exec(text);
    if (m && I18n.has('server.' + m[2])) return m[1] + ': ' + t('server.' + m[2]);
    return text;
  }

  function messageOf(err) {
    if (!err) return t('admin.err.generic');
    if (err instanceof ApiError) {
      var text = err.message ? serverText(err.message) : t('admin.err.generic');
      var msg = text.charAt(0).toUpperCase() + text.slice(1);
      if (err.status === 0 || err.code === 'network') msg = t('admin.err.network');
      if (err.status === 503) msg = t('admin.err.busy');
      if (err.status === 428 || err.code === 'challenge') msg = t('admin.err.challenge');
      if (err.status === 429 && !err.message) msg = t('admin.err.too_many');
      if (err.status === 429 && err.retryAfter > 0) {
        var secs = err.retryAfter;
        msg += t(secs >= 120 ? 'admin.err.retry_minutes' : 'admin.err.retry_seconds',
                 { n: secs >= 120 ? Math.ceil(secs / 60) : secs });
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
      message: t('admin.err.http', { status: resp.status + (resp.statusText ? ' ' + resp.statusText : '') })
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
        showRole(data.role);
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
                        attrs: { role: 'status', 'aria-live': 'polite' } }, t('admin.checking'));
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

  /* 990, "CNY" -> "9.90 CNY" (English) or "¥9.90" (Chinese, as the shop writes it) */
  function formatMoney(minor, currency) {
    if (typeof minor !== 'number' || !isFinite(minor) || Math.floor(minor) !== minor) return '';
    var s = C.minorText(minor, false);
    if (I18n.lang === 'zh-CN' && currency === 'CNY') return (minor < 0 ? '-¥' : '¥') + s.replace(/^-/, '');
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

  /* "2024-05-01 12:30" (English) or "2024/05/01 12:30" (Chinese): local date, a space, local
   * time (pages split the two at the space). */
  function formatTime(seconds) {
    if (typeof seconds !== 'number' || !seconds) return '';
    var d = new Date(seconds * 1000);
    var two = C.pad2;
    var sep = I18n.lang === 'zh-CN' ? '/' : '-';
    return d.getFullYear() + sep + two(d.getMonth() + 1) + sep + two(d.getDate()) + ' ' +
      two(d.getHours()) + ':' + two(d.getMinutes());
  }

  /* "2024-05-01" -> "May 1" / "5月1日": the dashboard's day labels (dates as the server sends
   * them, read as calendar dates, not instants). */
  function formatDay(date) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(date || ''));
    if (!m) return String(date || '');
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    try {
      return d.toLocaleDateString(I18n.lang, { month: 'short', day: 'numeric', timeZone: 'UTC' });
    } catch (e) {
      return m[2] + '-' + m[3];
    }
  }

  /* 12345 -> "12,345" (both languages group by thousands) */
  function formatCount(n) {
    return typeof n === 'number' && isFinite(n) ? n.toLocaleString(I18n.lang) : '';
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

  function showBanner() {
    return config().then(function (cfg) {
      if (cfg.sandbox === true) C.demoBanner(t('admin.banner'), { id: 'demo-banner', attrs: { role: 'alert' } });
    });
  }

  /* ---- header: shop name, navigation, language switch ------------------------------------ */

  /* The name of the last visit until /api/config answers, so the header does not flicker. */
  var NAME_KEY = 'cardshop.admin.shop_name';
  var shopName = (function () {
    try { return window.sessionStorage.getItem(NAME_KEY) || 'cardshop'; } catch (e) { return 'cardshop'; }
  })();

  function setTitle() {
    var key = document.body.getAttribute('data-title');
    var part = pageTitle || (key ? t(key) : '');
    document.title = (part ? part + ' · ' : '') + shopName + ' ' + t('admin.brand_sub');
  }
  var pageTitle = null;

  /* A page's own title part (e.g. the product whose keys are shown). */
  function titled(part) {
    pageTitle = part;
    setTitle();
  }

  function samePage(a, b) {
    function norm(p) { return p.replace(/\.html$/, '').replace(/\/$/, ''); }
    return norm(a) === norm(b);
  }

  function readProbes() {
    try { return JSON.parse(window.sessionStorage.getItem(PAGES_KEY) || '{}') || {}; } catch (e) { return {}; }
  }

  /* A page that may not exist in this build is listed once it answers (remembered for the
   * browser session, so each page is asked about once). */
  function probe(link, path) {
    var known = readProbes();
    if (known[path] === true) { link.classList.remove('hidden'); return; }
    if (known[path] === false) return;
    fetch(path, { method: 'HEAD', credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
      known = readProbes();
      known[path] = r.ok;
      try { window.sessionStorage.setItem(PAGES_KEY, JSON.stringify(known)); } catch (e) { /* ignored */ }
      if (r.ok) link.classList.remove('hidden');
    }, function () { /* offline: stays hidden */ });
  }

  /* The role of the last session seen (remembered for the browser session, so a staff
   * admin's header is right from the first paint); links marked owner-only follow it. */
  function readRole() {
    try { return window.sessionStorage.getItem(ROLE_KEY); } catch (e) { return null; }
  }

  function showRole(role) {
    try { window.sessionStorage.setItem(ROLE_KEY, role || ''); } catch (e) { /* ignored */ }
    Array.prototype.forEach.call(document.querySelectorAll('nav a[data-owner-only]'), function (a) {
      a.classList.toggle('hidden', role !== 'owner');
    });
  }

  function navLinks() {
    var here = location.pathname;
    var nav = C.el('nav', { attrs: { 'aria-label': t('nav.label') } });
    PAGES.forEach(function (p) {
      var a = C.el('a', { href: p.path, dataset: { nav: p.path.split('/').pop() } }, t(p.key));
      var current = samePage(here, p.path) || (p.also || []).some(function (x) { return samePage(here, x); });
      if (current) a.setAttribute('aria-current', 'page');
      if (p.owner) {
        a.setAttribute('data-owner-only', '');
        if (readRole() === 'staff') a.classList.add('hidden');
      }
      if (p.probe && !current) {
        a.classList.add('hidden');
        probe(a, p.path);
      }
      nav.appendChild(a);
    });
    return nav;
  }

  function langSwitch() {
    var other = I18n.other();
    var sw = C.el('a', { href: '#', className: 'lang-switch', attrs: { lang: other.code, role: 'button' },
                         dataset: { langSwitch: '' } }, other.label);
    sw.addEventListener('click', function (ev) {
      ev.preventDefault();
      I18n.setLang(other.code);
      window.location.reload();
    });
    return sw;
  }

  /* Rebuilds the page's <header class="admin-top"> (also one copied from an older page with
   * its own nav): data-admin-header="plain" (sign-in) gets the name and the switch only. */
  function buildHeader() {
    var header = document.querySelector('header.admin-top');
    if (!header) return;
    var plain = header.getAttribute('data-admin-header') === 'plain';
    C.clear(header);
    var brand = C.el(plain ? 'span' : 'a', { className: 'brand', href: plain ? null : HOME },
      C.el('span', { className: 'shop-name', dataset: { shopName: '' } }, shopName), ' ',
      C.el('span', { className: 'brand-sub' }, t('admin.brand_sub')));
    header.appendChild(brand);
    if (!plain) header.appendChild(navLinks());
    header.appendChild(langSwitch());
    if (plain) return;
    header.appendChild(C.el('span', { className: 'who', dataset: { adminUser: '' } }));
    header.appendChild(C.el('button', { type: 'button', className: 'secondary small',
                                        dataset: { action: 'logout' } }, t('admin.sign_out')));
  }

  function showShopName() {
    return config().then(function (cfg) {
      if (typeof cfg.name !== 'string' || !cfg.name) return;
      shopName = cfg.name;
      try { window.sessionStorage.setItem(NAME_KEY, shopName); } catch (e) { /* ignored */ }
      Array.prototype.forEach.call(document.querySelectorAll('[data-shop-name]'), function (n) {
        n.textContent = shopName;
      });
      setTitle();
    });
  }

  /* Runs when this file does (the page is parsed; the page's own script runs next), so the
   * page script finds its texts already in the admin's language. */
  function initChrome() {
    document.documentElement.lang = I18n.lang;
    I18n.apply(document);
    buildHeader();
    setTitle();
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
    showShopName();
    showBanner();
  }

  initChrome();
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
    formatDay: formatDay,
    formatCount: formatCount,
    t: t,
    lang: I18n.lang,
    titled: titled,
    home: HOME,
    pages: PAGES,
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
