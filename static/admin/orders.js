/* Orders: /admin/orders (static/admin/orders.html). Newest first, 50 a page, filtered by
 * status, product, gateway and a date range and searched by part of an order number, email or
 * trade number, with the totals of the whole filter and a CSV export of it; the state lives in
 * the URL (?status=&product_id=&gateway=&from=&to=&q=&page=) so a filtered view can be
 * bookmarked, reloaded and gone back to.
 *
 * "Details" opens the order's detail (GET /api/admin/orders/{no}): its fields, payment,
 * delivered keys masked (shown in clear on demand, which the audit log records), history and
 * the merchant's actions (cancel, confirm paid, refund, resend), each behind a confirm dialog
 * with a note for the audit log.
 *
 * Each row has actions that open a panel in a row under it: "Deliver" (orders paid and waiting
 * for keys: POST /api/admin/orders/{no}/deliver with the keys typed, or with no body to take
 * them from stock) and "Payments" (the gateway notifies stored for the order,
 * GET /api/admin/payment-events?order_no=). */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var el = A.el;
  var PAGE_SIZE = 50; /* the server's page size */

  /* Strings: static/assets/admin-i18n.js (keys "orders.*"), as on every admin page; admin.js
   * has put the page's [data-i18n] texts in the admin's language before this runs. */
  var t = A.t;

  /* Known statuses, in the order the summary lists them, with their labels. */
  var STATUSES = [
    ['paid_undelivered', t('orders.st.paid_undelivered')],
    ['paid', t('orders.st.paid')],
    ['pending', t('orders.st.pending')],
    ['delivered', t('orders.st.delivered')],
    ['expired', t('orders.st.expired')],
    ['refunded', t('orders.st.refunded')],
    ['cancelled', t('orders.st.cancelled')]
  ];
  var LABELS = {};
  STATUSES.forEach(function (s) { LABELS[s[0]] = s[1]; });

  var pageError = A.$('page-error');
  var pageNotice = A.$('page-notice');
  var statusSelect = A.$('status-filter');
  var searchBox = A.$('order-search');
  var filterForm = A.$('filter-form');
  var clearButton = A.$('search-clear');

  var productSelect = A.$('product-filter');
  var gatewaySelect = A.$('gateway-filter');
  var fromBox = A.$('from-filter');
  var toBox = A.$('to-filter');
  var csvLink = A.$('csv-link');
  var dialog = A.$('action-dialog');

  var state = { status: '', q: '', page: 1, currency: '', product_id: '', gateway: '', from: '', to: '' };
  var FILTERS = ['status', 'product_id', 'gateway', 'from', 'to', 'q'];
  var DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
  var seq = 0; /* answers to superseded requests are dropped */
  var current = []; /* the orders shown, in table order */
  var panels = {}; /* order_no -> {tr, deliver, payments}: the open panels under a row */
  var panelSeq = 0; /* unique ids for the controls inside panels */

  /* Orders the merchant can deliver by hand. */
  function deliverable(o) {
    return o.status === 'paid' || o.status === 'paid_undelivered';
  }

  function fromUrl() {
    var status = A.query('status') || '';
    state.status = Object.prototype.hasOwnProperty.call(LABELS, status) ? status : '';
    state.q = (A.query('q') || '').trim();
    state.page = Math.max(1, parseInt(A.query('page') || '1', 10) || 1);
    state.product_id = /^\d+$/.test(A.query('product_id') || '') ? A.query('product_id') : '';
    state.gateway = (A.query('gateway') || '').slice(0, 32);
    state.from = DATE_RE.test(A.query('from') || '') ? A.query('from') : '';
    state.to = DATE_RE.test(A.query('to') || '') ? A.query('to') : '';
    statusSelect.value = state.status;
    searchBox.value = state.q;
    fromBox.value = state.from;
    toBox.value = state.to;
    selectValue(productSelect, state.product_id);
    selectValue(gatewaySelect, state.gateway);
  }

  /* Sets a select's value, adding the option first when the list does not have it (yet). */
  function selectValue(select, value) {
    if (value && !Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
      select.appendChild(el('option', { value: value }, value));
    }
    select.value = value;
  }

  function filtersActive() {
    return FILTERS.some(function (k) { return !!state[k]; });
  }

  function urlOf() {
    var q = new URLSearchParams();
    FILTERS.forEach(function (k) { if (state[k]) q.set(k, state[k]); });
    if (state.page > 1) q.set('page', String(state.page));
    var s = q.toString();
    return location.pathname + (s ? '?' + s : '');
  }

  /* A local calendar day as epoch seconds: its first second, or its last one. */
  function daySeconds(text, end) {
    var p = text.split('-').map(function (x) { return parseInt(x, 10); });
    var d = end ? new Date(p[0], p[1] - 1, p[2], 23, 59, 59) : new Date(p[0], p[1] - 1, p[2], 0, 0, 0);
    return String(Math.floor(d.getTime() / 1000));
  }

  /* The API's query for the current filter (dates as seconds). */
  function apiQuery() {
    var q = new URLSearchParams();
    ['status', 'product_id', 'gateway', 'q'].forEach(function (k) { if (state[k]) q.set(k, state[k]); });
    if (state.from) q.set('from', daySeconds(state.from, false));
    if (state.to) q.set('to', daySeconds(state.to, true));
    return q;
  }

  function statusLabel(status) {
    return Object.prototype.hasOwnProperty.call(LABELS, status) ? LABELS[status] : String(status || '?');
  }

  function badge(status) {
    var b = el('span', { className: 'badge order-status st-' + String(status).replace(/[^a-z_]/g, '') },
      statusLabel(status));
    b.dataset.status = String(status);
    if (status === 'paid_undelivered') {
      b.title = t('orders.paid_undelivered_title');
    } else if (status === 'paid') {
      b.title = t('orders.paid_title');
    }
    return b;
  }

  /* Local date over local time, so two time columns stay narrow. */
  function timeCell(seconds, className) {
    var cell = el('td', { className: 'time-cell ' + className });
    if (typeof seconds === 'number' && seconds > 0) {
      var parts = A.formatTime(seconds).split(' ');
      cell.appendChild(el('span', { className: 'date' }, parts[0]));
      cell.appendChild(document.createTextNode(' '));
      cell.appendChild(el('span', { className: 'clock' }, parts.slice(1).join(' ')));
      cell.title = new Date(seconds * 1000).toString();
    } else {
      cell.appendChild(el('span', { className: 'muted' }, '—'));
    }
    return cell;
  }

  function orderRow(o) {
    var row = el('tr', {
      className: 'status-' + String(o.status).replace(/[^a-z_]/g, '') +
        (o.status === 'paid_undelivered' ? ' attention' : ''),
      dataset: { orderNo: o.order_no, status: o.status }
    });

    var sub = null;
    if (o.status === 'pending' && o.expires_at) sub = t('orders.expires', { time: A.formatTime(o.expires_at) });
    else if (o.status === 'delivered' && o.delivered_at && o.delivered_at !== o.paid_at) {
      sub = t('orders.delivered_at', { time: A.formatTime(o.delivered_at) });
    }
    row.appendChild(el('td', { className: 'order-cell' },
      el('span', { className: 'mono order-no' }, o.order_no),
      sub ? el('span', { className: 'sub muted' }, sub) : null));

    var product = el('a', { className: 'product-name', href: '/admin/keys?product=' + encodeURIComponent(o.product_id) },
      o.product_name || ('#' + o.product_id));
    product.title = t('orders.product_title');
    row.appendChild(el('td', { className: 'product-cell' }, product,
      el('span', { className: 'sub muted' }, '#' + o.product_id)));

    row.appendChild(el('td', { className: 'num qty' }, String(o.quantity)));

    var amount = el('td', { className: 'num amount' },
      el('span', { className: 'amount-value' }, A.formatMoney(o.amount, o.currency)));
    if (typeof o.discount === 'number' && o.discount > 0) {
      amount.appendChild(el('span', { className: 'sub muted discount' },
        t('orders.coupon', { amount: A.formatMoney(o.discount, '') })));
    }
    row.appendChild(amount);

    row.appendChild(el('td', { className: 'status' }, badge(o.status)));
    row.appendChild(emailCell(o.email || ''));
    row.appendChild(el('td', { className: 'gateway' }, o.gateway || ''));
    row.appendChild(el('td', { className: 'mono trade-no' },
      o.trade_no ? o.trade_no : el('span', { className: 'muted' }, '—')));
    row.appendChild(timeCell(o.created_at, 'created'));
    row.appendChild(timeCell(o.paid_at, 'paid'));
    row.appendChild(actionsCell(o));
    if (window.OrderFields) window.OrderFields.decorate(row, o); /* the buyer's checkout fields */
    labelCells(row);
    return row;
  }

  /* A long address may wrap before its "@" rather than widen the table. */
  function emailCell(email) {
    var at = email.lastIndexOf('@');
    if (at <= 0) return el('td', { className: 'email' }, email);
    return el('td', { className: 'email' }, email.slice(0, at), el('wbr'), email.slice(at));
  }

  function actionsCell(o) {
    var p = panels[o.order_no] || {};
    var cell = el('td', { className: 'actions row-actions' });
    if (deliverable(o)) {
      var deliver = el('button', { type: 'button', className: 'small deliver-toggle' }, t('orders.deliver'));
      deliver.setAttribute('aria-expanded', p.deliver ? 'true' : 'false');
      deliver.title = t('orders.deliver_title');
      deliver.addEventListener('click', function () { toggleDeliver(o.order_no); });
      cell.appendChild(deliver);
    }
    var detail = el('button', { type: 'button', className: 'small detail-toggle' }, t('orders.detail.toggle'));
    detail.setAttribute('aria-expanded', p.detail ? 'true' : 'false');
    detail.addEventListener('click', function () { toggleDetail(o.order_no); });
    cell.appendChild(detail);
    var pay = el('button', { type: 'button', className: 'secondary small payments-toggle' }, t('orders.payments'));
    pay.setAttribute('aria-expanded', p.payments ? 'true' : 'false');
    pay.title = t('orders.payments_title');
    pay.addEventListener('click', function () { togglePayments(o.order_no); });
    cell.appendChild(pay);
    return cell;
  }

  /* Each cell carries its column's name: the narrow layout shows it in front of the value. */
  var columnNames = null;
  function labelCells(row) {
    if (!columnNames) {
      columnNames = Array.prototype.map.call(document.querySelectorAll('#orders-table thead th'),
        function (th) { return th.textContent.trim(); });
    }
    Array.prototype.forEach.call(row.cells, function (td, i) {
      if (columnNames[i]) td.dataset.label = columnNames[i];
    });
  }

  /* Counts per status and the delivered total (per currency) of the orders on this page. */
  function renderSummary(orders) {
    var counts = {};
    var delivered = {};
    var currencies = [];
    orders.forEach(function (o) {
      counts[o.status] = (counts[o.status] || 0) + 1;
      if (o.status === 'delivered' && typeof o.amount === 'number') {
        if (!Object.prototype.hasOwnProperty.call(delivered, o.currency)) {
          delivered[o.currency] = 0;
          currencies.push(o.currency);
        }
        delivered[o.currency] += o.amount;
      }
    });

    A.$('sum-count').textContent = String(orders.length);
    var box = A.$('sum-statuses');
    A.clear(box);
    var known = STATUSES.map(function (s) { return s[0]; });
    var present = known.filter(function (s) { return counts[s]; });
    Object.keys(counts).forEach(function (s) { if (known.indexOf(s) === -1) present.push(s); });
    present.forEach(function (s) {
      box.appendChild(el('span', { className: 'summary-status', dataset: { status: s } },
        badge(s), ' ', el('span', { className: 'count' }, String(counts[s]))));
    });

    var total = currencies.length
      ? currencies.map(function (c) { return A.formatMoney(delivered[c], c); }).join(' + ')
      : A.formatMoney(0, state.currency);
    A.$('sum-delivered').textContent = total;
    A.$('orders-summary').classList.toggle('hidden', orders.length === 0);

    var note = A.$('attention-note');
    var n = counts.paid_undelivered || 0;
    if (n > 0) {
      note.textContent = t(n === 1 ? 'orders.attention_one' : 'orders.attention_many', { n: n });
      note.classList.remove('hidden');
    } else {
      note.textContent = '';
      note.classList.add('hidden');
    }
  }

  function render(orders) {
    var body = A.$('orders-body');
    A.clear(body);
    current = orders.slice();
    panels = {};
    orders.forEach(function (o) { body.appendChild(orderRow(o)); });
    renderSummary(orders);
    A.$('orders-loading').classList.add('hidden');
    var empty = A.$('orders-empty');
    if (orders.length === 0) {
      if (state.page > 1) empty.textContent = t('orders.past_last');
      else if (filtersActive()) empty.textContent = t('orders.no_match');
      else empty.textContent = t('orders.none');
    }
    empty.classList.toggle('hidden', orders.length > 0);
    A.$('page-info').textContent = t('common.page', { n: state.page });
    A.$('page-prev').disabled = state.page <= 1;
    A.$('page-next').disabled = orders.length < PAGE_SIZE;
    clearButton.classList.toggle('hidden', !filtersActive());
  }

  /* ---- panels under a row: delivery and payment notifications ---------------------------- */

  function orderOf(no) {
    for (var i = 0; i < current.length; i++) if (current[i].order_no === no) return current[i];
    return null;
  }

  function rowOf(no) {
    var rows = A.$('orders-body').rows;
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].dataset.orderNo === no && !rows[i].classList.contains('order-detail')) return rows[i];
    }
    return null;
  }

  function columnCount() {
    return A.$('orders-table').tHead.rows[0].cells.length;
  }

  /* The detail row under an order's row, made on first use. Holds the delivery panel first,
   * then the payments panel. */
  function panelsOf(no) {
    var p = panels[no];
    if (!p) p = panels[no] = { tr: null, cell: null, deliver: null, payments: null, detail: null };
    if (!p.tr) {
      var row = rowOf(no);
      p.cell = el('td', { className: 'detail-cell', colSpan: columnCount() });
      p.tr = el('tr', { className: 'order-detail', dataset: { detailOf: no } }, p.cell);
      row.parentNode.insertBefore(p.tr, row.nextSibling);
      row.classList.add('has-detail');
    }
    return p;
  }

  function dropIfEmpty(no) {
    var p = panels[no];
    if (!p || p.deliver || p.payments || p.detail) return;
    if (p.tr && p.tr.parentNode) p.tr.parentNode.removeChild(p.tr);
    var row = rowOf(no);
    if (row) row.classList.remove('has-detail');
    delete panels[no];
  }

  function setExpanded(no, css, open) {
    var row = rowOf(no);
    var b = row && row.querySelector(css);
    if (b) b.setAttribute('aria-expanded', open ? 'true' : 'false');
    return b;
  }

  /* Lines that hold a key: trimmed, blank ones dropped (the server reads them the same way). */
  function keyLines(text) {
    return String(text || '').split(/\r\n|\r|\n/).map(function (l) { return l.trim(); })
      .filter(function (l) { return l !== ''; });
  }

  /* English only: for texts not moved to admin-i18n.js yet (use counted() for new ones). */
  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }

  /* "1 key" / "3 keys" in the admin's language: the pair orders.<what>_one / _many. */
  function counted(n, what) {
    return t('orders.' + what + (n === 1 ? '_one' : '_many'), { n: n });
  }

  function toggleDeliver(no) {
    var p = panels[no];
    if (p && p.deliver) {
      p.deliver.parentNode.removeChild(p.deliver);
      p.deliver = null;
      var b = setExpanded(no, '.deliver-toggle', false);
      dropIfEmpty(no);
      if (b) b.focus();
      return;
    }
    var o = orderOf(no);
    if (!o || !deliverable(o)) return;
    p = panelsOf(no);
    p.deliver = deliverForm(o);
    p.cell.insertBefore(p.deliver, p.cell.firstChild);
    setExpanded(no, '.deliver-toggle', true);
    p.deliver.querySelector('textarea').focus();
  }

  function deliverForm(o) {
    var id = 'deliver-keys-' + (++panelSeq);
    var need = o.quantity;
    var product = o.product_name || ('#' + o.product_id);
    var box = el('textarea', {
      id: id, name: 'keys', rows: Math.min(Math.max(need, 2), 10), spellcheck: false,
      attrs: { autocomplete: 'off', autocapitalize: 'off', 'aria-describedby': id + '-count' }
    });
    var count = el('span', { id: id + '-count', className: 'key-count', attrs: { 'aria-live': 'polite' } });
    var error = el('p', { className: 'error hidden deliver-error', attrs: { role: 'alert' } });
    var send = el('button', { type: 'submit', className: 'small deliver-keys' }, t('orders.deliver_keys'));
    var stock = el('button', { type: 'button', className: 'secondary small deliver-stock' }, t('orders.deliver_stock'));
    var cancel = el('button', { type: 'button', className: 'secondary small deliver-cancel' }, t('common.cancel'));
    var form = el('form', { className: 'deliver-form', noValidate: true, dataset: { orderNo: o.order_no } },
      el('h3', null, t('orders.deliver_order'), el('span', { className: 'mono' }, o.order_no)),
      el('label', { htmlFor: id },
        t('orders.keys_for'), el('strong', null, product), t('orders.colon'),
        el('span', { className: 'need' }, counted(need, 'key')), t('orders.one_per_line')),
      box,
      el('p', { className: 'hint muted' }, count,
        t('orders.new_keys_hint'),
        t('orders.stock_hint', { keys: counted(need, 'available_key') })),
      error,
      el('div', { className: 'actions' }, send, stock, cancel));

    function showCount() {
      var n = keyLines(box.value).length;
      count.textContent = t(need === 1 ? 'orders.count_one' : 'orders.count_many', { n: n, need: need });
      count.classList.toggle('ok', n === need);
      count.classList.toggle('off', n > 0 && n !== need);
    }
    showCount();
    box.addEventListener('input', showCount);

    function deliver(body) {
      A.clearError(error);
      return A.busy(form, A.api('POST', '/api/admin/orders/' + encodeURIComponent(o.order_no) + '/deliver', body))
        .then(function (view) {
          delivered(o.order_no, view, body === null);
        }).catch(function (err) {
          A.showError(error, err);
          if (body !== null) box.focus();
        });
    }

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var keys = keyLines(box.value);
      if (keys.length === 0) {
        /* an empty body would take keys from stock: never send one from this button */
        A.showError(error, t('orders.err.no_keys', { keys: counted(need, 'key') }));
        box.focus();
        return;
      }
      deliver(keys.join('\n') + '\n');
    });
    stock.addEventListener('click', function () { deliver(null); });
    cancel.addEventListener('click', function () { toggleDeliver(o.order_no); });
    form.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape') { ev.preventDefault(); toggleDeliver(o.order_no); }
    });
    return form;
  }

  /* The server's view of the delivered order replaces what the row showed (the list's own
   * fields, email, discount and trade number, are kept). */
  function delivered(no, view, fromStock) {
    var o = orderOf(no);
    if (!o) return;
    var merged = {};
    Object.keys(o).forEach(function (k) { merged[k] = o[k]; });
    if (view && typeof view === 'object') {
      Object.keys(view).forEach(function (k) { if (k !== 'keys') merged[k] = view[k]; });
    }
    current[current.indexOf(o)] = merged;

    var p = panels[no];
    if (p && p.deliver) {
      p.deliver.parentNode.removeChild(p.deliver);
      p.deliver = null;
    }
    var old = rowOf(no);
    var row = orderRow(merged);
    row.classList.add('fresh');
    old.parentNode.replaceChild(row, old);
    if (p && (p.payments || p.detail)) row.classList.add('has-detail');
    dropIfEmpty(no);
    renderSummary(current);

    A.showNotice(pageNotice, t(fromStock ? 'orders.delivered_notice_stock' : 'orders.delivered_notice', {
      no: no, state: merged.status === 'delivered' ? t('orders.delivered_word')
        : t('orders.is_now', { status: statusLabel(merged.status) }),
      keys: counted(merged.quantity, 'key') }));
    var payBtn = row.querySelector('.payments-toggle');
    if (payBtn) payBtn.focus();
  }

  function togglePayments(no) {
    var p = panels[no];
    if (p && p.payments) {
      p.payments.parentNode.removeChild(p.payments);
      p.payments = null;
      setExpanded(no, '.payments-toggle', false);
      dropIfEmpty(no);
      return;
    }
    var o = orderOf(no);
    if (!o) return;
    p = panelsOf(no);
    p.payments = paymentsPanel(o);
    p.cell.appendChild(p.payments);
    setExpanded(no, '.payments-toggle', true);
  }

  /* "2024-05-01 12:30:05": payment notifies arrive seconds apart. */
  function timeWithSeconds(seconds) {
    if (typeof seconds !== 'number' || !seconds) return '';
    var s = new Date(seconds * 1000).getSeconds();
    return A.formatTime(seconds) + ':' + (s < 10 ? '0' : '') + s;
  }

  function outcomeClass(outcome) {
    var head = String(outcome || '').split(':')[0].trim();
    if (head === 'delivered' || head === 'paid') return 'oc-good';
    if (head === 'repeat') return 'oc-quiet';
    return 'oc-bad'; /* rejected, error, paid_undelivered, duplicate_payment, anything new */
  }

  function field(label, value, className) {
    return el('div', { className: 'event-field ' + (className || '') },
      el('span', { className: 'event-label' }, label),
      el('span', { className: 'event-value' }, value));
  }

  function eventItem(e, currency) {
    var verified = e.verified === true;
    var amount = typeof e.amount === 'number' ? A.formatMoney(e.amount, currency)
      : el('span', { className: 'muted' }, '—');
    var when = el('span', null, timeWithSeconds(e.created_at));
    if (e.created_at) when.title = new Date(e.created_at * 1000).toString();
    var item = el('li', { className: 'payment-event ' + (verified ? 'verified' : 'unverified'),
      dataset: { id: e.id } },
      el('div', { className: 'event-fields' },
        field(t('orders.ev.time'), when, 'event-time'),
        field(t('orders.gateway'), e.gateway || '', 'event-gateway'),
        field(t('orders.trade_no'), e.trade_no ? el('span', { className: 'mono' }, e.trade_no)
          : el('span', { className: 'muted' }, '—'), 'event-trade'),
        field(t('orders.amount'), amount, 'event-amount'),
        field(t('orders.ev.verified'), el('span', { className: 'badge ' + (verified ? 'ev-yes' : 'ev-no') },
          verified ? t('orders.ev.verified') : t('orders.ev.not_verified')), 'event-verified'),
        field(t('orders.ev.outcome'), el('span', { className: 'badge event-outcome ' + outcomeClass(e.outcome) },
          e.outcome || '?'), 'event-outcome-field')));
    var raw = typeof e.raw === 'string' ? e.raw : '';
    item.appendChild(el('details', { className: 'event-raw' },
      el('summary', null, t('orders.ev.raw'), e.ip ? el('span', { className: 'muted' }, t('orders.ev.from', { ip: e.ip })) : null),
      raw ? el('pre', { className: 'raw mono' }, raw) : el('p', { className: 'muted' }, t('orders.ev.empty'))));
    return item;
  }

  function paymentsPanel(o) {
    var list = el('ol', { className: 'event-list' });
    var status = el('p', { className: 'muted events-status' }, t('common.loading'));
    var error = el('p', { className: 'error hidden', attrs: { role: 'alert' } });
    var panel = el('section', { className: 'payments-panel', dataset: { orderNo: o.order_no },
      attrs: { 'aria-label': t('orders.ev.label', { no: o.order_no }) } },
      el('h3', null, t('orders.ev.title')), status, error, list);
    var q = new URLSearchParams();
    q.set('order_no', o.order_no);
    panel.setAttribute('aria-busy', 'true');
    A.api('GET', '/api/admin/payment-events?' + q.toString()).then(function (res) {
      var events = (res && Array.isArray(res.events)) ? res.events : [];
      A.clear(list);
      events.forEach(function (e) { list.appendChild(eventItem(e, o.currency)); });
      if (events.length === 0) {
        status.textContent = t('orders.ev.none');
      } else if (events.length >= 100) {
        status.textContent = t('orders.ev.newest100');
      } else {
        status.textContent = t('orders.ev.count', { n: counted(events.length, 'notification') });
      }
    }).catch(function (err) {
      status.classList.add('hidden');
      A.showError(error, err);
    }).then(function () { panel.removeAttribute('aria-busy'); });
    return panel;
  }

  /* ---- the order's detail: fields, payment, keys, history and actions ------------------- */

  var ACTIONS = {
    cancel: function (o) { return o.status === 'pending'; },
    'confirm-paid': function (o) { return o.status === 'pending' || o.status === 'expired'; },
    refund: function (o) { return o.status === 'paid' || o.status === 'delivered' || o.status === 'paid_undelivered'; },
    resend: function (o) { return o.status === 'delivered'; }
  };

  function toggleDetail(no, focusFirst) {
    var p = panels[no];
    if (p && p.detail) {
      p.detail.parentNode.removeChild(p.detail);
      p.detail = null;
      setExpanded(no, '.detail-toggle', false);
      dropIfEmpty(no);
      return;
    }
    if (!orderOf(no)) return;
    p = panelsOf(no);
    p.detail = el('section', { className: 'detail-panel', dataset: { orderNo: no },
      attrs: { 'aria-label': t('orders.detail.title') + ' ' + no, 'aria-busy': 'true' } },
      el('p', { className: 'muted' }, t('orders.detail.loading')));
    p.cell.insertBefore(p.detail, p.cell.firstChild);
    setExpanded(no, '.detail-toggle', true);
    var panel = p.detail;
    A.api('GET', '/api/admin/orders/' + encodeURIComponent(no)).then(function (d) {
      if (panels[no] && panels[no].detail === panel) fillDetail(panel, d, focusFirst);
    }).catch(function (err) {
      A.clear(panel);
      panel.appendChild(el('p', { className: 'error', attrs: { role: 'alert' } }, A.messageOf(err)));
    }).then(function () { panel.removeAttribute('aria-busy'); });
  }

  function dlRow(dl, label, value) {
    dl.appendChild(el('dt', null, label));
    dl.appendChild(el('dd', null, value === null || value === undefined || value === '' ? t('orders.detail.none') : value));
  }

  function fillDetail(panel, d, focusFirst) {
    A.clear(panel);
    panel.dataset.status = d.status;
    panel.appendChild(el('h3', null, t('orders.detail.title') + ' ', el('span', { className: 'mono' }, d.order_no),
      ' ', badge(d.status)));
    var dl = el('dl', { className: 'detail-fields' });
    dlRow(dl, t('orders.detail.buyer'), d.email);
    dlRow(dl, t('orders.detail.ip'), d.client_ip);
    dlRow(dl, t('orders.detail.lang'), d.lang);
    dlRow(dl, t('orders.detail.unit'), A.formatMoney(d.unit_price, d.currency) + ' × ' + d.quantity);
    dlRow(dl, t('orders.detail.coupon'), d.coupon ? d.coupon + ' (−' + A.formatMoney(d.discount, '') + ')' : null);
    [['created', d.created_at], ['expires', d.status === 'pending' ? d.expires_at : null], ['paid', d.paid_at],
     ['delivered', d.delivered_at], ['cancelled', d.cancelled_at], ['refunded', d.refunded_at]]
      .forEach(function (x) { if (x[1]) dlRow(dl, t('orders.detail.' + x[0]), A.formatTime(x[1])); });
    panel.appendChild(dl);

    panel.appendChild(el('h4', null, t('orders.detail.payment')));
    panel.appendChild(d.payment
      ? el('p', { className: 'detail-payment' }, t('orders.detail.payment_line', {
        amount: A.formatMoney(d.payment.amount, d.currency), gateway: d.payment.gateway,
        trade: d.payment.trade_no, time: A.formatTime(d.payment.created_at) }))
      : el('p', { className: 'muted detail-payment' }, t('orders.detail.no_payment')));

    panel.appendChild(keysBlock(d));
    panel.appendChild(actionsBlock(d, focusFirst));

    panel.appendChild(el('h4', null, t('orders.detail.events')));
    var events = Array.isArray(d.events) ? d.events : [];
    var list = el('ol', { className: 'event-list' });
    events.forEach(function (e) { list.appendChild(eventItem(e, d.currency)); });
    panel.appendChild(events.length ? list : el('p', { className: 'muted' }, t('orders.detail.no_events')));

    panel.appendChild(el('h4', null, t('orders.detail.history')));
    var history = Array.isArray(d.history) ? d.history : [];
    var hl = el('ul', { className: 'history-list' });
    history.forEach(function (h) {
      var note = h.detail && typeof h.detail.note === 'string' && h.detail.note ? ' — ' + h.detail.note : '';
      hl.appendChild(el('li', { dataset: { action: h.action } },
        el('span', { className: 'muted' }, A.formatTime(h.created_at) + ' '),
        el('strong', null, h.action), ' ' + (h.admin || '') + note));
    });
    panel.appendChild(history.length ? hl : el('p', { className: 'muted' }, t('orders.detail.no_history')));
  }

  function keysBlock(d) {
    var box = el('div', { className: 'detail-keys' }, el('h4', null, t('orders.detail.keys')));
    var keys = Array.isArray(d.keys) ? d.keys : [];
    if (!keys.length) {
      box.appendChild(el('p', { className: 'muted' }, t('orders.detail.no_keys')));
      return box;
    }
    var list = el('ul', { className: 'key-list mono' });
    keys.forEach(function (k) { list.appendChild(el('li', { className: 'masked' }, k.masked)); });
    var error = el('p', { className: 'error hidden', attrs: { role: 'alert' } });
    var show = el('button', { type: 'button', className: 'secondary small show-keys', title: t('orders.detail.show_keys_hint') },
      t('orders.detail.show_keys'));
    show.addEventListener('click', function () {
      A.clearError(error);
      show.disabled = true;
      A.api('GET', '/api/admin/orders/' + encodeURIComponent(d.order_no) + '/keys').then(function (res) {
        A.clear(list);
        ((res && res.keys) || []).forEach(function (k) { list.appendChild(el('li', { className: 'clear-key' }, k)); });
        show.parentNode.removeChild(show);
      }).catch(function (err) {
        show.disabled = false;
        A.showError(error, err);
      });
    });
    box.appendChild(list);
    box.appendChild(show);
    box.appendChild(error);
    return box;
  }

  function actionsBlock(d, focusFirst) {
    var box = el('div', { className: 'detail-actions actions' });
    var any = false;
    Object.keys(ACTIONS).forEach(function (name) {
      if (!ACTIONS[name](d)) return;
      any = true;
      var b = el('button', { type: 'button', className: 'small order-action' + (name === 'cancel' || name === 'refund' ? ' danger' : ''),
        dataset: { action: name } }, t('orders.action.' + name));
      b.addEventListener('click', function () { askAction(name, d, b); });
      box.appendChild(b);
    });
    if (!any) box.appendChild(el('p', { className: 'muted' }, t('orders.detail.no_actions')));
    if (focusFirst && any) setTimeout(function () { box.querySelector('button').focus(); }, 0);
    return el('div', null, el('h4', null, t('orders.detail.actions')), box);
  }

  /* The confirm dialog: the question, a note, and the call once confirmed. */
  var asking = null; /* {name, order, opener} while the dialog is open */

  function askAction(name, d, opener) {
    asking = { name: name, order: d, opener: opener };
    A.$('action-title').textContent = t('orders.action.' + name) + ' · ' + d.order_no;
    A.$('action-text').textContent = t('orders.ask.' + name, {
      no: d.order_no, amount: A.formatMoney(d.amount, d.currency), email: d.email });
    A.$('action-confirm').textContent = t('orders.action.' + name);
    A.$('action-confirm').classList.toggle('danger', name === 'cancel' || name === 'refund');
    A.$('action-note').value = '';
    A.clearError(A.$('action-error'));
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    A.$('action-note').focus();
  }

  function closeDialog() {
    if (typeof dialog.close === 'function') dialog.close();
    else dialog.removeAttribute('open');
    if (asking && asking.opener && document.body.contains(asking.opener)) asking.opener.focus();
    asking = null;
  }

  A.$('action-back').addEventListener('click', closeDialog);
  dialog.addEventListener('cancel', function () { asking = null; });
  A.$('action-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (!asking) return;
    var job = asking;
    var form = A.$('action-form');
    A.clearError(A.$('action-error'));
    var no = job.order.order_no;
    A.busy(form, A.api('POST', '/api/admin/orders/' + encodeURIComponent(no) + '/' + job.name,
      { note: A.$('action-note').value.trim() })).then(function (view) {
      closeDialog();
      var key = job.name === 'confirm-paid' && view && view.outcome === 'repeat' ? 'orders.done.repeat' : 'orders.done.' + job.name;
      A.showNotice(pageNotice, t(key, { no: no, status: statusLabel(view && view.status) }));
      keepNotice = true;
      return load().then(function () { if (orderOf(no)) toggleDetail(no, true); });
    }).catch(function (err) {
      A.showError(A.$('action-error'), err);
    });
  });

  function load() {
    var mine = ++seq;
    var q = apiQuery();
    var csv = q.toString();
    csvLink.href = '/api/admin/orders.csv' + (csv ? '?' + csv : '');
    q.set('page', String(state.page));
    A.$('orders-table').setAttribute('aria-busy', 'true');
    return A.api('GET', '/api/admin/orders?' + q.toString()).then(function (res) {
      if (mine !== seq) return;
      A.clearError(pageError);
      if (!keepNotice) A.clearError(pageNotice);
      keepNotice = false;
      render((res && Array.isArray(res.orders)) ? res.orders : []);
      renderTotals(res && res.totals);
    }).catch(function (err) {
      if (mine !== seq) return;
      A.$('orders-loading').classList.add('hidden');
      A.showError(pageError, err);
    }).then(function () {
      if (mine === seq) A.$('orders-table').removeAttribute('aria-busy');
    });
  }

  var keepNotice = false; /* the next load keeps the notice of the action that caused it */

  function renderTotals(totals) {
    var box = A.$('orders-totals');
    if (!totals || typeof totals.count !== 'number') { box.classList.add('hidden'); return; }
    A.$('total-count').textContent = String(totals.count);
    A.$('total-amount').textContent = A.formatMoney(totals.amount, state.currency);
    A.$('total-paid').textContent = String(totals.paid_count);
    A.$('total-paid-amount').textContent = A.formatMoney(totals.paid_amount, state.currency);
    box.classList.remove('hidden');
  }

  /* The filter as the form shows it. */
  function formState() {
    return {
      status: statusSelect.value, q: searchBox.value.trim(), product_id: productSelect.value,
      gateway: gatewaySelect.value, from: DATE_RE.test(fromBox.value) ? fromBox.value : '',
      to: DATE_RE.test(toBox.value) ? toBox.value : '', page: 1
    };
  }

  /* A new filter or page: remember it in the history, then load. */
  function go(changes) {
    Object.keys(changes).forEach(function (k) { state[k] = changes[k]; });
    var url = urlOf();
    try {
      if (url !== location.pathname + location.search) history.pushState(null, '', url);
    } catch (e) { /* ignored */ }
    return load();
  }

  [statusSelect, productSelect, gatewaySelect, fromBox, toBox].forEach(function (c) {
    c.addEventListener('change', function () { go(formState()); });
  });
  filterForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    searchBox.value = searchBox.value.trim();
    go(formState());
  });
  clearButton.addEventListener('click', function () {
    statusSelect.value = '';
    searchBox.value = '';
    productSelect.value = '';
    gatewaySelect.value = '';
    fromBox.value = '';
    toBox.value = '';
    go(formState());
    searchBox.focus();
  });
  A.$('page-prev').addEventListener('click', function () {
    if (state.page > 1) go({ page: state.page - 1 });
  });
  A.$('page-next').addEventListener('click', function () { go({ page: state.page + 1 }); });
  window.addEventListener('popstate', function () { fromUrl(); load(); });

  /* The filter's choices: the products (admin list) and the configured gateways. */
  function fillChoices(cfg) {
    (cfg && Array.isArray(cfg.gateways) ? cfg.gateways : []).forEach(function (g) {
      var name = typeof g === 'string' ? g : (g && (g.name || g.id));
      if (name) selectValue(gatewaySelect, String(name));
    });
    gatewaySelect.value = state.gateway;
    return A.api('GET', '/api/admin/products').then(function (res) {
      ((res && res.products) || []).forEach(function (p) {
        var id = String(p.id);
        var known = Array.prototype.filter.call(productSelect.options, function (o) { return o.value === id; });
        if (known.length) known[0].textContent = p.name;
        else productSelect.appendChild(el('option', { value: id }, p.name));
      });
      productSelect.value = state.product_id;
    }).catch(function () { /* the filter still works with an id from the URL */ });
  }

  fromUrl();
  A.requireSession().then(function () {
    return A.config().then(function (cfg) {
      state.currency = (cfg && cfg.currency) || '';
      return Promise.all([load(), fillChoices(cfg)]);
    });
  }).catch(function (err) { A.showError(pageError, err); });
})();
