/* cardshop: the helpers every page shares, shop and admin alike, as `window.Cardshop`.
 *
 * Load it before the page's own library, all with `defer`:
 *   <script src="/assets/common.js" defer></script>
 *   <script src="/assets/shop.js" defer></script>      (or /assets/admin.js)
 * What differs between the two sides stays in their files: the shop's texts go through
 * I18n and its money reads "¥9.90"; the admin's are English, "9.90 CNY", with CSRF handling.
 *
 * Rules (the server sends a strict CSP, and the data is hostile until proven otherwise):
 *   - no inline scripts, styles or event handlers: listeners go through el()'s `on` or
 *     addEventListener;
 *   - server text goes into the page through textContent / createTextNode / properties only
 *     (see el()), never through innerHTML and friends.
 */
(function () {
  'use strict';

  /* ---- DOM ------------------------------------------------------------------------------ */

  function $(id) { return document.getElementById(id); }

  /* el('a', {href: u, className: 'x', text: 't', attrs: {...}, dataset: {...}, on: {click: fn}},
   *    'text', node, [more], ...)
   * Properties are assigned as properties (never as HTML); null/undefined ones are skipped;
   * attrs never sets on* or style; string and number children become text nodes,
   * null/undefined/false children are skipped, arrays are flattened. */
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
        } else if (k === 'on') {
          Object.keys(v).forEach(function (ev) { node.addEventListener(ev, v[ev]); });
        } else if (k === 'text') {
          node.textContent = String(v);
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

  function show(node) { if (node) node.classList.remove('hidden'); }
  function hide(node) { if (node) node.classList.add('hidden'); }
  function setText(node, text) { if (node) node.textContent = text == null ? '' : String(text); }

  /* Puts text in box (an error or notice element) and shows it. */
  function showText(box, text) {
    if (!box) return;
    setText(box, text);
    show(box);
  }

  /* The red demo banner at the top of the body, once. */
  function demoBanner(text, props) {
    if (document.querySelector('.demo-banner')) return;
    var banner = el('div', props, text);
    banner.classList.add('demo-banner');
    document.body.insertBefore(banner, document.body.firstChild);
  }

  function params() { return new URLSearchParams(window.location.search); }

  /* Runs fn once the document is parsed (at once when it already is). */
  function ready(fn) {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', fn);
    else fn();
  }

  /* ---- formatting ----------------------------------------------------------------------- */

  function pad2(x) { return (x < 10 ? '0' : '') + x; }

  /* An integer of minor units as "-1234.05" (grouped: "-1,234.05"). Integer arithmetic only,
   * so large amounts never round and "0.29" never reads 0.28999. */
  function minorText(minor, grouped) {
    var n = Math.abs(minor);
    var units = String(Math.floor(n / 100));
    if (grouped) units = units.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (minor < 0 ? '-' : '') + units + '.' + pad2(n % 100);
  }

  /* ---- HTTP ----------------------------------------------------------------------------- */

  /* {status, code, message, retryAfter (seconds from Retry-After, 0 when absent)};
   * status 0 with code "network" when the request never got an answer. */
  function ApiError(status, code, message, retryAfter) {
    this.name = 'ApiError';
    this.status = status;
    this.code = code || 'error';
    this.message = message || '';
    this.retryAfter = retryAfter || 0;
    this.redirecting = false;
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  var NETWORK_MESSAGE = 'Cannot reach the server. Check the connection and try again.';

  /* The answer's body: parsed JSON when the server says it is JSON (null when it does not
   * parse), else the text. */
  function readBody(resp) {
    var json = (resp.headers.get('Content-Type') || '').indexOf('application/json') !== -1;
    return resp.text().then(function (text) {
      if (!json) return text;
      try { return text ? JSON.parse(text) : null; } catch (e) { return null; }
    }, function () { return json ? null : ''; });
  }

  /* request(method, path, body?, headers?) -> Promise of {resp, data, serverTime}, whatever
   * the status; rejects only with the "network" ApiError.
   *   body: a plain object or array is sent as JSON; a string as text/plain; null/undefined: none.
   *   serverTime: the answer's Date in seconds (null without one), for clock skew. */
  function request(method, path, body, headers) {
    var h = { Accept: 'application/json' };
    var payload;
    if (body !== undefined && body !== null) {
      if (typeof Blob !== 'undefined' && body instanceof Blob) { /* a file: sent as it is */
        h['Content-Type'] = body.type || 'application/octet-stream';
        payload = body;
      } else if (typeof body === 'string') {
        h['Content-Type'] = 'text/plain; charset=utf-8';
        payload = body;
      } else {
        h['Content-Type'] = 'application/json';
        payload = JSON.stringify(body);
      }
    }
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    return fetch(path, { method: method, headers: h, body: payload,
                         credentials: 'same-origin', cache: 'no-store' }).then(function (resp) {
      var date = Date.parse(resp.headers.get('Date') || '');
      return readBody(resp).then(function (data) {
        return { resp: resp, data: data, serverTime: isNaN(date) ? null : date / 1000 };
      });
    }, function () {
      throw new ApiError(0, 'network', NETWORK_MESSAGE);
    });
  }

  /* The ApiError of a failed answer: the API's {"error": {code, message}} when the body has
   * one, else fallback.code / fallback.message; retryAfter from the Retry-After header. */
  function errorFrom(resp, data, fallback) {
    var e = data && typeof data === 'object' && data.error && typeof data.error === 'object'
      ? data.error : {};
    var code = typeof e.code === 'string' ? e.code : fallback.code;
    var message = typeof e.message === 'string' && e.message ? e.message : fallback.message;
    var retry = parseInt(resp.headers.get('Retry-After') || '0', 10);
    return new ApiError(resp.status, code, message, isNaN(retry) ? 0 : retry);
  }

  /* ---- proof-of-work challenge (428 challenge_required) --------------------------------- */

  /* What the last solutions cost, newest last: [{difficulty, tries, ms}] (shown to tests). */
  var powStats = [];

  /* Solves {token, difficulty} in a Web Worker (/assets/pow-worker.js): Promise of the
   * X-Challenge value "token:nonce". Rejects with the "challenge" ApiError when this browser
   * cannot run workers. */
  function solveChallenge(ch) {
    return new Promise(function (resolve, reject) {
      var fail = function () {
        reject(new ApiError(0, 'challenge', 'The browser check could not run.'));
      };
      var worker;
      try { worker = new Worker('/assets/pow-worker.js'); } catch (e) { fail(); return; }
      worker.onmessage = function (ev) {
        worker.terminate();
        var d = ev.data || {};
        if (typeof d.answer !== 'string') { fail(); return; }
        powStats.push({ difficulty: ch.difficulty, tries: d.tries, ms: d.ms });
        resolve(d.answer);
      };
      worker.onerror = function () { worker.terminate(); fail(); };
      worker.postMessage({ token: ch.token, difficulty: ch.difficulty });
    });
  }

  /* request() that answers challenges: on a 428 carrying one, onSolving(true) is called, the
   * challenge solved and the request sent again with X-Challenge (at most 3 times), then
   * onSolving(false). Resolves like request() with the last answer. */
  function requestSolving(method, path, body, headers, onSolving) {
    var note = function (on) { if (onSolving) onSolving(on); };
    function attempt(n, answer) {
      var h = {};
      Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
      if (answer) h['X-Challenge'] = answer;
      return request(method, path, body, h).then(function (r) {
        var ch = r.data && typeof r.data === 'object' ? r.data.challenge : null;
        if (r.resp.status !== 428 || !ch || typeof ch.token !== 'string' || n >= 3) return r;
        note(true);
        return solveChallenge(ch).then(function (solution) {
          note(false);
          return attempt(n + 1, solution);
        }, function (e) { note(false); throw e; });
      });
    }
    return attempt(0, null);
  }

  /* GET /api/config once per page: the object, or null when it cannot be had. */
  var configPromise = null;
  function config() {
    if (!configPromise) {
      configPromise = request('GET', '/api/config').then(function (r) {
        return r.resp.ok ? r.data || {} : null;
      }, function () { return null; });
    }
    return configPromise;
  }

  window.Cardshop = {
    $: $,
    el: el,
    append: append,
    clear: clear,
    show: show,
    hide: hide,
    setText: setText,
    showText: showText,
    demoBanner: demoBanner,
    params: params,
    ready: ready,
    pad2: pad2,
    minorText: minorText,
    ApiError: ApiError,
    request: request,
    requestSolving: requestSolving,
    solveChallenge: solveChallenge,
    powStats: powStats,
    errorFrom: errorFrom,
    config: config
  };
})();
