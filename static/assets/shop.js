/* cardshop storefront: every shop page (home, catalog, product, sandbox checkout, order,
 * lookup). Loaded after /assets/common.js and /assets/i18n.js, all with `defer`; the page is
 * picked by <body data-page="...">. The CSP and textContent-only rules of common.js hold
 * here, and every user-visible string goes through I18n.t().
 */
(function () {
  'use strict';

  var I18n = window.I18n;
  var t = I18n.t;
  var C = window.Cardshop;
  var $ = C.$, el = C.el, append = C.append, clear = C.clear;
  var show = C.show, hide = C.hide, setText = C.setText, showError = C.showText;
  var params = C.params, ApiError = C.ApiError;

  function status(text) {
    var s = $('page-status');
    if (!s) return;
    if (text) { setText(s, text); show(s); } else { hide(s); }
  }

  function pageError(text) {
    status(null);
    showError($('page-error'), text);
  }

  /* ---- formatting ---------------------------------------------------------------------- */

  /* Minor units with two decimals: 4800 CNY -> "¥48.00", 4800 USD -> "48.00 USD". Integer
   * arithmetic only, so large amounts never round. */
  function money(amount, currency) {
    var n = Number(amount);
    if (!isFinite(n)) return '';
    var text = (n < 0 ? '-' : '') + C.minorText(Math.abs(Math.round(n)), true);
    var cur = String(currency || '').toUpperCase();
    if (cur === 'CNY' || cur === 'RMB') return '¥' + text;
    return cur ? text + ' ' + cur : text;
  }

  function stockText(p) {
    if (p.loop === true) return t('stock.loop');
    if (p.stock === null || p.stock === undefined) return t('stock.manual');
    if (p.stock <= 0) return t('stock.out');
    return t('stock.in', { n: p.stock });
  }

  function stockClass(p) {
    if (p.loop === true) return 'stock in';
    if (p.stock === null || p.stock === undefined) return 'stock manual';
    return p.stock <= 0 ? 'stock out' : 'stock in';
  }

  function dateTime(ts) {
    if (ts === null || ts === undefined) return '';
    var d = new Date(Number(ts) * 1000);
    try {
      return d.toLocaleString(I18n.lang, { year: 'numeric', month: '2-digit', day: '2-digit',
                                           hour: '2-digit', minute: '2-digit' });
    } catch (e) {
      return d.toLocaleString();
    }
  }

  function duration(secs) {
    secs = Math.max(0, Math.floor(secs));
    var h = Math.floor(secs / 3600), m = Math.floor((secs % 3600) / 60), s = secs % 60;
    var mm = C.pad2(m), ss = C.pad2(s);
    return h > 0 ? h + ':' + mm + ':' + ss : mm + ':' + ss;
  }

  function statusLabel(s) {
    return I18n.has('status.' + s) ? t('status.' + s) : String(s);
  }

  /* ---- API ----------------------------------------------------------------------------- */

  var CODE_BY_STATUS = { 400: 'invalid_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found',
                         409: 'conflict', 413: 'payload_too_large', 422: 'unprocessable',
                         428: 'challenge_required', 429: 'rate_limited', 503: 'unavailable' };

  /* Resolves {status, data, serverTime} on 2xx; rejects with an ApiError (code "network"
   * when the request never got an answer). */
  function api(method, path, body) {
    return C.requestSolving(method, path, body, null, checking).then(function (r) {
      var status = r.resp.status;
      if (r.resp.ok) return { status: status, data: r.data || {}, serverTime: r.serverTime };
      throw C.errorFrom(r.resp, r.data, {
        code: CODE_BY_STATUS[status] || (status >= 500 ? 'internal' : 'error'), message: '' });
    });
  }

  /* "Checking your browser…" while a proof-of-work challenge is being solved. */
  function checking(on) {
    var box = $('pow-notice');
    if (!box) {
      box = C.el('div', { id: 'pow-notice', className: 'notice pow-notice hidden',
                          attrs: { role: 'status', 'aria-live': 'polite' } }, t('pow.checking'));
      document.body.appendChild(box);
    }
    if (on) C.show(box); else C.hide(box);
  }

  function fieldLabel(field) {
    return I18n.has('field.' + field) ? t('field.' + field) : field;
  }

  /* "quantity: must be from 1 to 5" -> {fields: ["quantity"], text: "Quantity: must be ..."} */
  function fieldMessage(message) {
    var m = /^([a-z_][a-z0-9_]*(?:, ?[a-z_][a-z0-9_]*)*): (.+)$/i.exec(message || '');
    if (!m) return { fields: [], text: message };
    var fields = m[1].split(/, ?/);
    return { fields: fields, text: fields.map(fieldLabel).join(', ') + ': ' + I18n.serverMessage(m[2]) };
  }

  /* A friendly, translated sentence for any failure. ctx may override not_found. */
  function friendly(err, ctx) {
    ctx = ctx || {};
    if (!(err instanceof ApiError)) return t('err.generic');
    switch (err.code) {
      case 'network': return t('err.network');
      case 'out_of_stock': return t('err.out_of_stock');
      case 'invalid_request': return err.message ? fieldMessage(err.message).text : t('err.generic');
      case 'unprocessable':
        if (/^coupon: /.test(err.message)) return fieldMessage(err.message).text;
        return err.message ? fieldMessage(err.message).text : t('err.coupon');
      case 'rate_limited':
        return err.retryAfter > 0 ? t('err.rate_limited_secs', { n: err.retryAfter }) : t('err.rate_limited');
      case 'not_found': return ctx.notFound || t('err.not_found');
      case 'conflict': return ctx.conflict || t('err.conflict');
      case 'gateway_unavailable': return t('err.gateway_unavailable');
      case 'unavailable':
        return err.retryAfter > 0 ? t('err.unavailable_secs', { n: err.retryAfter }) : t('err.unavailable');
      case 'challenge': case 'challenge_required': return t('err.challenge');
      case 'forbidden': case 'unauthorized': return t('err.forbidden');
      case 'payload_too_large': return t('err.too_large');
      case 'internal': return t('err.internal');
      default: return err.status >= 500 ? t('err.internal') : t('err.generic');
    }
  }

  /* GET /api/config once per page (null when it failed); the header and banner use it, pages too. */
  var config = C.config;

  /* A URL we are willing to navigate to: same-site path or http(s). */
  function safeUrl(u) {
    if (typeof u !== 'string' || !u) return null;
    if (u.charAt(0) === '/' && u.charAt(1) !== '/' && u.charAt(1) !== '\\') return u;
    try {
      var parsed = new URL(u, window.location.href);
      if (parsed.protocol === 'https:' || parsed.protocol === 'http:') return parsed.href;
    } catch (e) { /* fall through */ }
    return null;
  }

  function orderUrl(orderNo, token) {
    var q = new URLSearchParams();
    q.set('order_no', orderNo);
    if (token) q.set('token', token);
    return '/shop/order?' + q.toString();
  }

  function productUrl(id) { return '/shop/product?id=' + encodeURIComponent(id); }

  /* ---- chrome: language, header, banner ------------------------------------------------ */

  var shopName = 'cardshop';
  var titlePart = null;

  function setTitle(part) {
    titlePart = part;
    document.title = part ? part + ' · ' + shopName : shopName;
  }

  function initChrome() {
    document.documentElement.lang = I18n.lang;
    I18n.apply(document);
    var sw = document.querySelector('[data-lang-switch]');
    if (sw) {
      var other = I18n.other();
      sw.textContent = other.label;
      sw.setAttribute('lang', other.code);
      sw.setAttribute('role', 'button');
      sw.addEventListener('click', function (ev) {
        ev.preventDefault();
        I18n.setLang(other.code);
        window.location.reload();
      });
    }
    var page = document.body.getAttribute('data-page');
    var links = document.querySelectorAll('[data-nav]');
    for (var i = 0; i < links.length; i++) {
      if (links[i].getAttribute('data-nav') === page) links[i].setAttribute('aria-current', 'page');
    }
    return config().then(function (cfg) {
      if (!cfg) return null;
      if (typeof cfg.name === 'string' && cfg.name) {
        shopName = cfg.name;
        var names = document.querySelectorAll('[data-shop-name]');
        for (var j = 0; j < names.length; j++) names[j].textContent = cfg.name;
        setTitle(titlePart);
      }
      if (window.ShopExtra) window.ShopExtra.chrome(cfg); /* logo, notice, contact link */
      if (cfg.sandbox === true) C.demoBanner(t('banner.demo'), { attrs: { role: 'note' } });
      return cfg;
    });
  }

  /* ---- product cards (home + catalog) -------------------------------------------------- */

  function productCard(p, categoryName) {
    var href = productUrl(p.id);
    var soldOut = p.stock !== null && p.stock !== undefined && p.stock <= 0;
    return el('article', { className: 'card product-card' + (soldOut ? ' sold-out' : ''),
                           dataset: { productId: p.id } },
      window.ShopExtra ? window.ShopExtra.cardImage(p) : null,
      categoryName ? el('p', { className: 'product-category' }, categoryName) : null,
      el('h2', { className: 'product-name' }, el('a', { href: href }, String(p.name))),
      el('p', { className: 'price' }, money(p.price, p.currency)),
      el('div', { className: 'card-foot' },
        el('span', { className: stockClass(p) }, stockText(p)),
        el('a', { className: 'button small' + (soldOut ? ' secondary' : ''), href: href,
                  attrs: { 'aria-hidden': 'true', tabindex: '-1' } },
           soldOut ? t('catalog.view') : t('catalog.buy'))));
  }

  /* ---- home ---------------------------------------------------------------------------- */

  function pageHome() {
    setTitle(null);
    api('GET', '/api/products').then(function (r) {
      var list = (r.data.products || []).filter(function (p) { return p.stock !== 0; }).slice(0, 4);
      if (!list.length) return;
      var grid = $('featured-grid');
      list.forEach(function (p) { grid.appendChild(productCard(p)); });
      show($('featured'));
    }, function () { /* the landing page works without the list */ });
  }

  /* ---- catalog ------------------------------------------------------------------------- */

  function pageCatalog() {
    setTitle(t('catalog.title'));
    var grid = $('product-grid');
    var filter = $('category-filter');
    var products = [], categories = {}, current = params().get('category') || '';

    function render() {
      clear(grid);
      var list = products.filter(function (p) { return !current || String(p.category_id) === current; });
      if (!list.length) {
        grid.appendChild(el('p', { className: 'muted empty' }, t('catalog.empty')));
        return;
      }
      list.forEach(function (p) { grid.appendChild(productCard(p, categories[p.category_id])); });
    }

    function chip(id, label) {
      return el('button', { type: 'button', className: 'chip', dataset: { category: id },
                            attrs: { 'aria-pressed': String(id === current) },
                            on: { click: function () { select(id); } } }, label);
    }

    function select(id) {
      current = id;
      var chips = filter.querySelectorAll('.chip');
      for (var i = 0; i < chips.length; i++) {
        chips[i].setAttribute('aria-pressed', String(chips[i].dataset.category === id));
      }
      var q = params();
      if (id) q.set('category', id); else q.delete('category');
      var qs = q.toString();
      try { window.history.replaceState(null, '', window.location.pathname + (qs ? '?' + qs : '')); } catch (e) { /* ignore */ }
      render();
    }

    function load() {
      status(t('common.loading'));
      hide($('page-error'));
      Promise.all([api('GET', '/api/categories'), api('GET', '/api/products')]).then(function (rs) {
        status(null);
        var cats = rs[0].data.categories || [];
        products = rs[1].data.products || [];
        categories = {};
        cats.forEach(function (c) { categories[c.id] = String(c.name); });
        if (current && !categories[current]) current = '';
        clear(filter);
        if (cats.length > 1) {
          filter.appendChild(chip('', t('catalog.all')));
          cats.forEach(function (c) { filter.appendChild(chip(String(c.id), String(c.name))); });
          show(filter);
        }
        render();
      }, function (err) {
        pageError(friendly(err));
        $('page-error').appendChild(document.createTextNode(' '));
        $('page-error').appendChild(el('button', { type: 'button', className: 'small secondary',
                                                   on: { click: load } }, t('common.retry')));
      });
    }
    load();
  }

  /* ---- product + checkout -------------------------------------------------------------- */

  var QTY_CEILING = 100000; /* the API's own upper bound for quantity */

  function pageProduct() {
    setTitle(t('product.title'));
    var id = params().get('id');
    if (!id || !/^\d+$/.test(id)) {
      pageError(t('product.missing_id'));
      return;
    }
    var product = null, gatewayNames = [];
    var form = $('order-form'), qty = $('quantity'), submit = $('order-submit');
    var errorBox = $('order-error');

    function bounds() {
      var min = Math.max(1, Number(product.min_qty) || 1);
      var max = Number(product.max_qty) > 0 ? Number(product.max_qty) : QTY_CEILING;
      if (product.stock !== null && product.stock !== undefined) max = Math.min(max, Number(product.stock));
      if (product.loop === true) max = min = 1; /* one shared key: one at a time */
      return { min: min, max: max };
    }

    function available() {
      var b = bounds();
      return b.max >= b.min;
    }

    function quantity() {
      var v = qty.value.trim();
      return /^\d+$/.test(v) ? parseInt(v, 10) : NaN;
    }

    function quantityHint(b) {
      return b.max >= QTY_CEILING ? t('product.quantity_hint_min', { min: b.min })
                                  : t('product.quantity_hint', { min: b.min, max: b.max });
    }

    /* The unit price of the highest tier the quantity reaches (tiers come sorted), else the
     * price: shown at once, then confirmed by the server's quote. */
    function tierUnit(q) {
      var unit = Number(product.price);
      (product.tiers || []).forEach(function (tier) {
        if (q >= Number(tier.min_qty)) unit = Number(tier.unit_price);
      });
      return unit;
    }

    function quoteNote(text, isError) {
      var note = $('quote-note');
      if (!text) { hide(note); return; }
      setText(note, text);
      note.className = isError ? 'hint quote-error' : 'hint';
      show(note);
    }

    function showPrice(unit, subtotal, discount, amount) {
      setText($('q-unit'), money(unit, product.currency));
      setText($('q-subtotal'), money(subtotal, product.currency));
      setText($('q-discount'), '−' + money(discount, product.currency));
      if (discount > 0) show($('q-discount-row')); else hide($('q-discount-row'));
      setText($('total'), money(amount, product.currency));
    }

    /* POST /api/orders/quote: the price the order will be charged (tiers and coupon), or the
     * refusal it would get, asked a moment after the buyer stops typing. Answers that come
     * back after a newer question are dropped. */
    var quoteTimer = null, quoteSeq = 0;
    function askQuote(q) {
      var picked = form.querySelector('input[name="gateway"]:checked');
      var gateway = picked ? picked.value : gatewayNames[0];
      if (!gateway) return;
      var body = { product_id: Number(id), quantity: q, gateway: gateway };
      var coupon = $('coupon').value.trim();
      if (coupon) body.coupon = coupon;
      var seq = ++quoteSeq;
      api('POST', '/api/orders/quote', body).then(function (r) {
        if (seq !== quoteSeq) return;
        var d = r.data;
        showPrice(d.unit_price, d.subtotal, d.discount, d.amount);
        var saved = money(d.discount, d.currency);
        /* A coupon covers as many units as it has uses left: say so when that is not all. */
        quoteNote(d.discount <= 0 ? null
          : d.coupon_units < d.quantity ? t('product.coupon_partial', { n: d.coupon_units, amount: saved })
          : t('product.coupon_applied', { amount: saved }));
        $('coupon').setAttribute('aria-invalid', 'false');
      }, function (err) {
        if (seq !== quoteSeq) return;
        var known = { invalid_request: 1, unprocessable: 1, out_of_stock: 1, not_found: 1 };
        quoteNote(known[err.code] ? friendly(err, { notFound: t('product.not_found') }) : t('product.quote_failed'),
                  !!known[err.code]);
        $('coupon').setAttribute('aria-invalid', err.code === 'unprocessable' ? 'true' : 'false');
      });
    }

    function updateTotal() {
      var q = quantity();
      var b = bounds();
      var ok = !isNaN(q) && q >= b.min && q <= b.max;
      quoteSeq++; /* whatever is in flight describes another question */
      if (quoteTimer) window.clearTimeout(quoteTimer);
      if (ok) {
        var unit = tierUnit(q);
        showPrice(unit, unit * q, 0, unit * q);
        quoteNote(null);
        quoteTimer = window.setTimeout(function () { askQuote(q); }, 250);
      } else {
        setText($('total'), '—');
        hide($('q-discount-row'));
        /* Refused, never changed behind the buyer's back: say what is allowed. */
        quoteNote(isNaN(q) ? null : fieldLabel('quantity') + ': ' + quantityHint(b), true);
      }
      qty.setAttribute('aria-invalid', ok ? 'false' : 'true');
      $('qty-dec').disabled = !available() || isNaN(q) || q <= b.min;
      $('qty-inc').disabled = !available() || (!isNaN(q) && q >= b.max);
    }

    function renderTiers() {
      var tiers = product.tiers || [];
      var body = $('tier-table').querySelector('tbody');
      clear(body);
      if (!tiers.length) { hide($('p-tiers')); return; }
      var rows = [{ min_qty: Math.max(1, Number(product.min_qty) || 1), unit_price: product.price }];
      tiers.forEach(function (tier) {
        if (Number(tier.min_qty) <= rows[0].min_qty) rows[0] = tier; else rows.push(tier);
      });
      rows.forEach(function (tier) {
        body.appendChild(el('tr', null,
          el('td', null, t('product.tier_from', { n: tier.min_qty })),
          el('td', null, money(tier.unit_price, product.currency))));
      });
      show($('p-tiers'));
    }

    function step(delta) {
      var b = bounds();
      var q = quantity();
      if (isNaN(q)) q = b.min;
      q = Math.min(b.max, Math.max(b.min, q + delta));
      qty.value = String(q);
      updateTotal();
    }

    function renderProduct() {
      var p = product;
      setTitle(String(p.name));
      setText($('p-name'), p.name);
      setText($('p-price'), money(p.price, p.currency));
      var st = $('p-stock');
      st.className = stockClass(p);
      setText(st, stockText(p));
      setText($('p-delivery'), p.delivery === 'manual' ? t('delivery.manual') : t('delivery.auto'));
      setText($('p-description'), p.description || '');
      if (window.ShopExtra) window.ShopExtra.product(p); /* image, checkout fields */
      var b = bounds();
      qty.min = String(b.min);
      qty.max = String(Math.max(b.min, b.max));
      if (isNaN(quantity())) qty.value = String(b.min);
      setText($('qty-hint'), quantityHint(b));
      renderTiers();
      var open = available() && gatewayNames.length > 0;
      if (!available()) { show($('sold-out')); } else { hide($('sold-out')); }
      var inputs = form.querySelectorAll('input, button');
      for (var i = 0; i < inputs.length; i++) inputs[i].disabled = !open;
      updateTotal();
    }

    /* One choice per gateway, or per wallet for a gateway that offers several (EPay types). */
    function renderGateways(names, channels) {
      var box = $('gateways');
      clear(box);
      if (!names.length) {
        box.appendChild(el('p', { className: 'notice' }, t('product.no_gateway')));
        return;
      }
      var first = true;
      function option(g, channel, label) {
        var inputId = 'gateway-' + String(g).replace(/[^a-z0-9_-]/gi, '_') +
                      (channel ? '-' + String(channel).replace(/[^a-z0-9_-]/gi, '_') : '');
        var attrs = channel ? { 'data-channel': String(channel) } : {};
        box.appendChild(el('label', { className: 'gateway-option', htmlFor: inputId },
          el('input', { type: 'radio', name: 'gateway', id: inputId, value: String(g), checked: first, attrs: attrs }),
          el('span', null, label)));
        first = false;
      }
      names.forEach(function (g) {
        var list = channels && Array.isArray(channels[g]) ? channels[g] : [];
        if (!list.length) {
          option(g, null, I18n.has('gateway.' + g) ? t('gateway.' + g) : String(g));
          return;
        }
        list.forEach(function (c) {
          option(g, c, I18n.has('channel.' + c) ? t('channel.' + c) : String(c));
        });
      });
    }

    function markInvalid(fields) {
      var map = { quantity: 'quantity', email: 'email', query_password: 'query-password', coupon: 'coupon' };
      var first = null;
      Object.keys(map).forEach(function (f) {
        var input = $(map[f]);
        var bad = fields.indexOf(f) >= 0;
        input.setAttribute('aria-invalid', bad ? 'true' : 'false');
        if (bad && !first) first = input;
      });
      if (first) first.focus();
    }

    function fail(text, fields) {
      showError(errorBox, text);
      markInvalid(fields || []);
    }

    function reload() {
      return api('GET', '/api/products/' + id).then(function (r) {
        product = r.data;
        renderProduct();
      }, function () { /* keep what we show */ });
    }

    /* A gateway that just failed may be out of the checkout now: show what is left. */
    function reloadGateways() {
      return api('GET', '/api/config').then(function (r) {
        var cfg = r.data || {};
        gatewayNames = Array.isArray(cfg.gateways) ? cfg.gateways.map(String) : [];
        renderGateways(gatewayNames, cfg.channels);
        renderProduct();
      }, function () { /* keep what we show */ });
    }

    function onSubmit(ev) {
      ev.preventDefault();
      hide(errorBox);
      markInvalid([]);
      var b = bounds();
      var q = quantity();
      if (isNaN(q) || q < b.min || q > b.max) {
        fail(fieldLabel('quantity') + ': ' + quantityHint(b), ['quantity']);
        return;
      }
      var email = $('email').value.trim();
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
        fail(fieldMessage('email: not a valid address').text, ['email']);
        return;
      }
      var qp = $('query-password').value;
      if (qp && qp.length < 4) {
        fail(fieldMessage('query_password: at least 4 characters').text, ['query_password']);
        return;
      }
      var picked = form.querySelector('input[name="gateway"]:checked');
      if (!picked) {
        fail(t('product.no_gateway'), []);
        return;
      }
      var body = { product_id: Number(id), quantity: q, email: email, gateway: picked.value };
      var channel = picked.getAttribute('data-channel');
      if (channel) body.channel = channel;
      var coupon = $('coupon').value.trim();
      if (coupon) body.coupon = coupon;
      if (qp) body.query_password = qp;
      var fieldError = window.ShopExtra ? window.ShopExtra.collect(product, body) : null;
      if (fieldError) {
        showError(errorBox, fieldError);
        return;
      }
      submit.disabled = true;
      setText(submit, t('product.submitting'));
      api('POST', '/api/orders', body).then(function (r) {
        var to = safeUrl(r.data.pay_url) || orderUrl(r.data.order_no, r.data.token);
        window.location.assign(to);
      }, function (err) {
        submit.disabled = false;
        setText(submit, t('product.submit'));
        var fields = [];
        if (err.code === 'invalid_request') fields = fieldMessage(err.message).fields;
        if (err.code === 'unprocessable') fields = ['coupon'];
        var own = err.code === 'invalid_request' && window.ShopExtra
          ? window.ShopExtra.serverMessage(product, err.message) : null;
        if (own) showError(errorBox, own);
        else fail(friendly(err, { notFound: t('product.not_found') }), fields);
        if (err.code === 'out_of_stock' || err.code === 'not_found') reload();
        if (err.code === 'gateway_unavailable') reloadGateways();
      });
    }

    /* A quantity out of bounds stays as typed and is refused with the reason (it used to be
     * changed to the maximum on blur, so a buyer could pay for fewer than he asked). */
    qty.addEventListener('input', updateTotal);
    $('coupon').addEventListener('input', updateTotal);
    $('gateways').addEventListener('change', updateTotal);
    $('qty-dec').addEventListener('click', function () { step(-1); });
    $('qty-inc').addEventListener('click', function () { step(1); });
    $('qty-dec').setAttribute('aria-label', fieldLabel('quantity') + ' −1');
    $('qty-inc').setAttribute('aria-label', fieldLabel('quantity') + ' +1');
    form.addEventListener('submit', onSubmit);

    Promise.all([api('GET', '/api/products/' + id), config()]).then(function (rs) {
      product = rs[0].data;
      var cfg = rs[1];
      gatewayNames = cfg && Array.isArray(cfg.gateways) ? cfg.gateways.map(String) : [];
      renderGateways(gatewayNames, cfg && cfg.channels);
      status(null);
      show($('product'));
      renderProduct();
    }, function (err) {
      pageError(friendly(err, { notFound: t('product.not_found') }));
    });
  }

  /* ---- sandbox gateway page ------------------------------------------------------------ */

  var PAID_STATES = { delivered: 1, paid: 1, paid_undelivered: 1 };

  function pageSandboxCheckout() {
    setTitle(t('pay.title'));
    var q = params();
    var no = q.get('order_no') || '', token = q.get('token') || '';
    if (!no || !token) {
      pageError(t('pay.missing'));
      return;
    }
    var target = orderUrl(no, token);
    var button = $('pay-now'), progress = $('pay-progress'), link = $('pay-order-link');
    var orderPath = '/api/orders/' + encodeURIComponent(no) + '?token=' + encodeURIComponent(token);
    var started = 0;
    link.href = target;

    function progressText(text, isError) {
      setText(progress, text);
      progress.className = isError ? 'error-box' : 'notice';
    }

    function done() {
      progressText(t('pay.confirmed'));
      window.location.assign(target);
    }

    function poll() {
      api('GET', orderPath).then(function (r) {
        var s = r.data.status;
        if (PAID_STATES[s]) { done(); return; }
        if (s !== 'pending') {
          progressText(s === 'expired' ? t('pay.expired') : t('pay.not_pending'), true);
          show(link);
          return;
        }
        if (Date.now() - started > 15000) { progressText(t('pay.still_waiting')); show(link); }
        window.setTimeout(poll, 1000);
      }, function (err) {
        if (err.code === 'not_found') { progressText(t('pay.not_found'), true); return; }
        /* transient: keep trying, say so */
        progressText(friendly(err), true);
        show(link);
        window.setTimeout(poll, 1000);
      });
    }

    button.addEventListener('click', function () {
      button.disabled = true;
      setText(button, t('pay.paying'));
      hide($('page-error'));
      api('POST', '/pay/sandbox/pay', { order_no: no, token: token }).then(function () {
        setText(button, t('pay.pay_now'));
        progressText(t('pay.waiting'));
        show(progress);
        started = Date.now();
        window.setTimeout(poll, 1000);
      }, function (err) {
        setText(button, t('pay.pay_now'));
        if (err.code === 'conflict') {
          /* already paid (or expired): the order page knows */
          started = Date.now();
          show(progress);
          poll();
          return;
        }
        button.disabled = err.code === 'not_found';
        progressText(friendly(err, { notFound: t('pay.not_found') }), true);
        show(progress);
      });
    });

    api('GET', orderPath).then(function (r) {
      var o = r.data;
      status(null);
      setText($('pay-no'), o.order_no);
      setText($('pay-product'), o.product_name + ' × ' + o.quantity);
      setText($('pay-amount'), money(o.amount, o.currency));
      show($('pay-order'));
      if (PAID_STATES[o.status]) { done(); return; }
      if (o.status !== 'pending') {
        button.disabled = true;
        progressText(o.status === 'expired' ? t('pay.expired') : t('pay.not_pending'), true);
        show(progress);
        show(link);
      }
    }, function (err) {
      pageError(friendly(err, { notFound: t('pay.not_found') }));
    });
  }


  /* ---- QR pay page (Alipay 当面付, WeChat Pay Native) ---------------------------------- */

  var SVG_NS = 'http://www.w3.org/2000/svg';
  var SVG_ATTRS = { viewBox: 1, width: 1, height: 1, fill: 1, d: 1, 'shape-rendering': 1 };

  /* The server's QR image rebuilt element by element: only <svg>, <rect> and <path> with
   * geometry attributes survive, so nothing in it can run or link anywhere. */
  function svgFrom(text) {
    var doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    var root = doc.documentElement;
    if (!root || root.localName !== 'svg' || doc.getElementsByTagName('parsererror').length) return null;
    function copy(node) {
      var out = document.createElementNS(SVG_NS, node.localName);
      Array.prototype.forEach.call(node.attributes, function (a) {
        if (SVG_ATTRS[a.name]) out.setAttribute(a.name, a.value);
      });
      Array.prototype.forEach.call(node.children, function (c) {
        if (c.localName === 'rect' || c.localName === 'path') out.appendChild(copy(c));
      });
      return out;
    }
    return copy(root);
  }

  /* What a phone opens instead of scanning: Alipay's scheme with the code, WeChat's code. */
  function appLink(gateway, qr) {
    if (gateway === 'alipay') {
      return 'alipays://platformapi/startapp?saId=10000007&qrcode=' + encodeURIComponent(qr);
    }
    if (gateway === 'wechat' && /^weixin:\/\//.test(qr)) return qr;
    return null;
  }

  function onPhone() {
    return /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent || '');
  }

  function pageQrPay() {
    setTitle(t('qrpay.title'));
    var q = params();
    var no = q.get('order_no') || '', token = q.get('token') || '';
    if (!no || !token) {
      pageError(t('pay.missing'));
      return;
    }
    var target = orderUrl(no, token);
    var base = '/api/orders/' + encodeURIComponent(no);
    var orderPath = base + '?token=' + encodeURIComponent(token);
    var progress = $('qr-progress');
    var order = null, clockSkew = 0;
    $('qr-order-link').href = target;

    function progressText(text, isError) {
      setText(progress, text);
      progress.className = isError ? 'error-box' : 'notice';
    }

    function tick() {
      if (!order || order.status !== 'pending') return;
      var left = Number(order.expires_at) - (Date.now() / 1000 + clockSkew);
      setText($('qr-left'), duration(left));
      window.setTimeout(tick, 1000);
    }

    function drawQr() {
      var box = $('qr-box');
      window.fetch(base + '/qr.svg?token=' + encodeURIComponent(token),
                   { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.text();
      }).then(function (text) {
        var svg = svgFrom(text);
        if (!svg) throw new Error('not an svg');
        clear(box);
        box.appendChild(svg);
      }).catch(function () {
        clear(box);
        box.appendChild(el('p', { className: 'error-box' }, t('qrpay.qr_failed')));
      });
    }

    function render(o) {
      var g = String(o.gateway || '');
      setText($('qr-gateway'), I18n.has('gateway.' + g) ? t('gateway.' + g) : g);
      setText($('qr-no'), o.order_no);
      setText($('qr-product'), o.product_name + ' × ' + o.quantity);
      setText($('qr-amount'), money(o.amount, o.currency));
      if (I18n.has('qrpay.hint_' + g)) setText($('qr-hint'), t('qrpay.hint_' + g));
      var link = o.qr ? appLink(g, String(o.qr)) : null;
      var app = $('qr-app');
      if (link && onPhone() && I18n.has('qrpay.open_' + g)) {
        app.href = link;
        setText(app, t('qrpay.open_' + g));
        show(app);
      }
      show($('qr-order'));
    }

    function settle(o) {
      if (PAID_STATES[o.status]) {
        progressText(t('pay.confirmed'));
        window.location.assign(target);
        return true;
      }
      if (o.status !== 'pending') {
        hide($('qr-box'));
        progressText(o.status === 'expired' ? t('pay.expired') : t('pay.not_pending'), true);
        return true;
      }
      return false;
    }

    function poll() {
      api('GET', orderPath).then(function (r) {
        order = r.data;
        if (!settle(r.data)) window.setTimeout(poll, 2000);
      }, function (err) {
        if (err.code === 'not_found') { progressText(t('pay.not_found'), true); return; }
        progressText(friendly(err), true);
        window.setTimeout(poll, 3000);
      });
    }

    api('GET', orderPath).then(function (r) {
      order = r.data;
      status(null);
      render(order);
      if (settle(order)) return;
      if (!order.qr) {
        progressText(t('qrpay.no_qr'), true);
      } else {
        drawQr();
      }
      if (r.serverTime) clockSkew = r.serverTime - Date.now() / 1000;
      tick();
      window.setTimeout(poll, 2000);
    }, function (err) {
      pageError(friendly(err, { notFound: t('pay.not_found') }));
    });
  }

  /* ---- order / delivery page ----------------------------------------------------------- */

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; },
                                                      function () { return legacyCopy(text); });
    }
    return Promise.resolve(legacyCopy(text));
  }

  function legacyCopy(text) {
    var area = el('textarea', { className: 'copy-buffer', value: text, readOnly: true,
                                attrs: { 'aria-hidden': 'true', tabindex: '-1' } });
    document.body.appendChild(area);
    var ok = false;
    try {
      area.select();
      area.setSelectionRange(0, text.length);
      ok = document.execCommand('copy');
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok;
  }

  function selectNode(node) {
    try {
      var range = document.createRange();
      range.selectNodeContents(node);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    } catch (e) { /* nothing more to do */ }
  }

  function copyButton(getText, selectTarget, label) {
    var timer = 0;
    var btn = el('button', { type: 'button', className: 'small copy' }, label);
    btn.addEventListener('click', function () {
      copyText(getText()).then(function (ok) {
        window.clearTimeout(timer);
        if (ok) {
          btn.textContent = t('order.copied');
          btn.classList.add('copied');
        } else {
          if (selectTarget) selectNode(selectTarget);
          btn.textContent = t('order.copy_failed');
        }
        timer = window.setTimeout(function () {
          btn.textContent = label;
          btn.classList.remove('copied');
        }, 2000);
      });
    });
    return btn;
  }

  function pageOrder() {
    setTitle(t('order.title'));
    var q = params();
    var no = q.get('order_no') || '', token = q.get('token') || '';
    if (!no) {
      pageError(t('order.missing'));
      return;
    }
    var path = '/api/orders/' + encodeURIComponent(no) + (token ? '?token=' + encodeURIComponent(token) : '');
    var order = null, clockSkew = 0, pollTimer = 0, tickTimer = 0, keysShown = false;
    var msg = $('o-message');

    function remaining() {
      return Number(order.expires_at) - (Date.now() / 1000 + clockSkew);
    }

    function tick() {
      window.clearTimeout(tickTimer);
      if (!order || order.status !== 'pending') return;
      var countdown = $('o-countdown');
      if (countdown) {
        var left = remaining();
        setText(countdown, left > 0 ? t('order.remaining', { t: duration(left) }) : t('order.expiring'));
      }
      tickTimer = window.setTimeout(tick, 1000);
    }

    function message(kind, children) {
      clear(msg);
      msg.className = 'order-message ' + kind;
      append(msg, children);
    }

    function renderKeys(keys) {
      var list = $('key-list');
      clear(list);
      keys.forEach(function (k) {
        var code = el('code', { className: 'key' }, String(k));
        list.appendChild(el('li', null, code, copyButton(function () { return String(k); }, code, t('order.copy'))));
      });
      var all = $('copy-all');
      var fresh = copyButton(function () { return keys.map(String).join('\n'); }, list, t('order.copy_all'));
      fresh.id = 'copy-all';
      fresh.classList.add('secondary');
      all.parentNode.replaceChild(fresh, all);
      if (keys.length < 2) hide(fresh);
      show($('o-keys'));
      keysShown = true;
    }

    function render() {
      var o = order;
      setTitle(t('order.title') + ' ' + o.order_no);
      var badge = $('o-status');
      badge.className = 'status-badge status-' + String(o.status).replace(/[^a-z_]/g, '');
      setText(badge, statusLabel(o.status));
      setText($('o-product'), o.product_name);
      setText($('o-no'), o.order_no);
      setText($('o-qty'), o.quantity);
      setText($('o-amount'), money(o.amount, o.currency));
      setText($('o-created'), dateTime(o.created_at));
      if (o.paid_at) {
        setText($('o-paid'), dateTime(o.paid_at));
        show($('o-paid')); show($('o-paid-label'));
      }
      switch (o.status) {
        case 'pending':
          var parts = [el('p', null, t('order.pending')), el('p', { id: 'o-countdown', className: 'countdown' })];
          if (o.gateway === 'sandbox' && token) {
            var payHref = '/pay/sandbox/checkout?order_no=' + encodeURIComponent(o.order_no) +
                          '&token=' + encodeURIComponent(token);
            parts.push(el('p', null, el('a', { className: 'button', href: payHref }, t('order.continue_pay'))));
          }
          message('notice', parts);
          tick();
          break;
        case 'delivered':
          message('success', el('p', null, t('order.delivered_msg')));
          if (!keysShown) {
            if (Array.isArray(o.keys) && o.keys.length) renderKeys(o.keys);
            else message('notice', el('p', null, t('order.no_keys')));
          }
          break;
        case 'paid':
          message('notice', el('p', null, t('order.paid_msg')));
          break;
        case 'paid_undelivered':
          message('warning', el('p', null, t('order.paid_undelivered_msg')));
          break;
        case 'expired':
          message('warning', [el('p', null, t('order.expired_msg')),
            el('p', null, el('a', { className: 'button', href: productUrl(o.product_id) }, t('order.back_to_product')))]);
          break;
        case 'refunded':
          message('notice', el('p', null, t('order.refunded_msg')));
          break;
        case 'cancelled':
          message('notice', el('p', null, t('order.cancelled_msg')));
          break;
        default:
          message('notice', el('p', null, statusLabel(o.status)));
      }
    }

    function schedule() {
      window.clearTimeout(pollTimer);
      if (!order) return;
      if (order.status === 'pending') pollTimer = window.setTimeout(load, 2000);
      else if (order.status === 'paid') pollTimer = window.setTimeout(load, 10000);
    }

    function load() {
      api('GET', path).then(function (r) {
        if (r.serverTime) clockSkew = r.serverTime - Date.now() / 1000;
        order = r.data;
        status(null);
        hide($('page-error'));
        show($('order'));
        render();
        schedule();
      }, function (err) {
        if (order && err.code !== 'not_found') {
          /* a hiccup while polling: keep the page, try again */
          pollTimer = window.setTimeout(load, 5000);
          return;
        }
        pageError(friendly(err, { notFound: t('order.not_found') }));
        if (err.code === 'not_found') {
          $('page-error').appendChild(document.createTextNode(' '));
          $('page-error').appendChild(el('a', { href: '/shop/lookup' }, t('order.lookup_link')));
        }
      });
    }
    load();
  }

  /* ---- lookup -------------------------------------------------------------------------- */

  function orderItem(o) {
    return el('li', null,
      el('a', { className: 'order-item', href: orderUrl(o.order_no, o.token) },
        el('span', { className: 'order-item-main' },
          el('span', { className: 'order-item-product' }, String(o.product_name || '') + ' × ' + o.quantity),
          el('span', { className: 'order-item-no mono' }, String(o.order_no))),
        el('span', { className: 'order-item-side' },
          el('span', { className: 'status-badge status-' + String(o.status).replace(/[^a-z_]/g, '') }, statusLabel(o.status)),
          el('span', { className: 'order-item-amount' }, money(o.amount, o.currency)),
          el('span', { className: 'order-item-date muted' }, dateTime(o.created_at)))));
  }

  /* Email alone: the server answers the same 202 whether or not the address has orders, so the
   * page shows one neutral confirmation; the links themselves go by mail. */
  function lookupMailForm() {
    var form = $('lookup-mail-form'), submit = $('lookup-mail-submit'), errorBox = $('lookup-mail-error');
    if (!form) return;
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      hide(errorBox);
      hide($('lookup-mail-sent'));
      var email = $('lookup-mail-email').value.trim() || $('lookup-email').value.trim();
      if (!email) { showError(errorBox, fieldLabel('email') + ': ' + I18n.serverMessage('required')); $('lookup-mail-email').focus(); return; }
      $('lookup-mail-email').value = email;
      submit.disabled = true;
      setText(submit, t('lookup.mail_sending'));
      api('POST', '/api/orders/lookup', { email: email }).then(function () {
        show($('lookup-mail-sent'));
      }, function (err) {
        showError(errorBox, friendly(err));
      }).then(function () {
        submit.disabled = false;
        setText(submit, t('lookup.mail_submit'));
      });
    });
  }

  function pageLookup() {
    setTitle(t('lookup.title'));
    var form = $('lookup-form'), submit = $('lookup-submit'), errorBox = $('lookup-error');

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      hide(errorBox);
      hide($('lookup-results'));
      var email = $('lookup-email').value.trim(), pw = $('lookup-password').value;
      if (!email) { showError(errorBox, fieldLabel('email') + ': ' + I18n.serverMessage('required')); $('lookup-email').focus(); return; }
      if (!pw) { showError(errorBox, fieldLabel('query_password') + ': ' + I18n.serverMessage('required')); $('lookup-password').focus(); return; }
      submit.disabled = true;
      setText(submit, t('lookup.searching'));
      api('POST', '/api/orders/lookup', { email: email, query_password: pw }).then(function (r) {
        var list = $('lookup-list');
        clear(list);
        var orders = r.data.orders || [];
        orders.forEach(function (o) { list.appendChild(orderItem(o)); });
        if (orders.length) hide($('lookup-none')); else show($('lookup-none'));
        show($('lookup-results'));
      }, function (err) {
        showError(errorBox, friendly(err));
      }).then(function () {
        submit.disabled = false;
        setText(submit, t('lookup.submit'));
      });
    });

    lookupMailForm();
    api('GET', '/api/orders').then(function (r) {
      var orders = r.data.orders || [];
      var list = $('recent-list');
      if (!orders.length) { setText($('recent-status'), t('lookup.recent_none')); return; }
      hide($('recent-status'));
      orders.forEach(function (o) { list.appendChild(orderItem(o)); });
    }, function (err) {
      hide($('recent-status'));
      showError($('recent-error'), friendly(err));
    });
  }

  /* ---- start --------------------------------------------------------------------------- */

  var PAGES = { home: pageHome, catalog: pageCatalog, product: pageProduct,
                'sandbox-checkout': pageSandboxCheckout, 'qr-pay': pageQrPay, order: pageOrder,
                lookup: pageLookup };

  function start() {
    initChrome();
    var page = PAGES[document.body.getAttribute('data-page')];
    if (page) page();
  }

  C.ready(start);

  window.CardshopShop = { money: money, el: el, api: api, friendly: friendly };
})();
