/* Orders: /admin/orders (static/admin/orders.html). Newest first, 50 a page, filtered by
 * status and searched by an exact order number or email; the state lives in the URL
 * (?status=&q=&page=) so a filtered view can be bookmarked, reloaded and gone back to. */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var el = A.el;
  var PAGE_SIZE = 50; /* the server's page size; the answer has no total */

  /* Known statuses, in the order the summary lists them, with their labels. */
  var STATUSES = [
    ['paid_undelivered', 'Paid, not delivered'],
    ['paid', 'Paid (to deliver)'],
    ['pending', 'Pending'],
    ['delivered', 'Delivered'],
    ['expired', 'Expired'],
    ['refunded', 'Refunded'],
    ['cancelled', 'Cancelled']
  ];
  var LABELS = {};
  STATUSES.forEach(function (s) { LABELS[s[0]] = s[1]; });

  var pageError = A.$('page-error');
  var statusSelect = A.$('status-filter');
  var searchBox = A.$('order-search');
  var filterForm = A.$('filter-form');
  var clearButton = A.$('search-clear');

  var state = { status: '', q: '', page: 1, currency: '' };
  var seq = 0; /* answers to superseded requests are dropped */

  function fromUrl() {
    var status = A.query('status') || '';
    state.status = Object.prototype.hasOwnProperty.call(LABELS, status) ? status : '';
    state.q = (A.query('q') || '').trim();
    state.page = Math.max(1, parseInt(A.query('page') || '1', 10) || 1);
    statusSelect.value = state.status;
    searchBox.value = state.q;
  }

  function urlOf() {
    var q = new URLSearchParams();
    if (state.status) q.set('status', state.status);
    if (state.q) q.set('q', state.q);
    if (state.page > 1) q.set('page', String(state.page));
    var s = q.toString();
    return location.pathname + (s ? '?' + s : '');
  }

  function statusLabel(status) {
    return Object.prototype.hasOwnProperty.call(LABELS, status) ? LABELS[status] : String(status || '?');
  }

  function badge(status) {
    var b = el('span', { className: 'badge order-status st-' + String(status).replace(/[^a-z_]/g, '') },
      statusLabel(status));
    b.dataset.status = String(status);
    if (status === 'paid_undelivered') {
      b.title = 'Paid after the order expired, with no key left for it: deliver by hand or refund.';
    } else if (status === 'paid') {
      b.title = 'Paid; waiting for the merchant to deliver (manual delivery).';
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
    if (o.status === 'pending' && o.expires_at) sub = 'expires ' + A.formatTime(o.expires_at);
    else if (o.status === 'delivered' && o.delivered_at && o.delivered_at !== o.paid_at) {
      sub = 'delivered ' + A.formatTime(o.delivered_at);
    }
    row.appendChild(el('td', { className: 'order-cell' },
      el('span', { className: 'mono order-no' }, o.order_no),
      sub ? el('span', { className: 'sub muted' }, sub) : null));

    var product = el('a', { className: 'product-name', href: '/admin/keys?product=' + encodeURIComponent(o.product_id) },
      o.product_name || ('#' + o.product_id));
    product.title = 'Card keys of this product';
    row.appendChild(el('td', { className: 'product-cell' }, product,
      el('span', { className: 'sub muted' }, '#' + o.product_id)));

    row.appendChild(el('td', { className: 'num qty' }, String(o.quantity)));

    var amount = el('td', { className: 'num amount' },
      el('span', { className: 'amount-value' }, A.formatMoney(o.amount, o.currency)));
    if (typeof o.discount === 'number' && o.discount > 0) {
      amount.appendChild(el('span', { className: 'sub muted discount' },
        'coupon −' + A.formatMoney(o.discount, '')));
    }
    row.appendChild(amount);

    row.appendChild(el('td', { className: 'status' }, badge(o.status)));
    row.appendChild(el('td', { className: 'email' }, o.email || ''));
    row.appendChild(el('td', { className: 'gateway' }, o.gateway || ''));
    row.appendChild(el('td', { className: 'mono trade-no' },
      o.trade_no ? o.trade_no : el('span', { className: 'muted' }, '—')));
    row.appendChild(timeCell(o.created_at, 'created'));
    row.appendChild(timeCell(o.paid_at, 'paid'));
    labelCells(row);
    return row;
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
      note.textContent = (n === 1 ? '1 order on this page was' : n + ' orders on this page were') +
        ' paid after expiring, with no key left: deliver by hand or refund.';
      note.classList.remove('hidden');
    } else {
      note.textContent = '';
      note.classList.add('hidden');
    }
  }

  function render(orders) {
    var body = A.$('orders-body');
    A.clear(body);
    orders.forEach(function (o) { body.appendChild(orderRow(o)); });
    renderSummary(orders);
    A.$('orders-loading').classList.add('hidden');
    var empty = A.$('orders-empty');
    if (orders.length === 0) {
      if (state.page > 1) empty.textContent = 'No more orders: this is past the last page.';
      else if (state.q || state.status) empty.textContent = 'No orders match this filter.';
      else empty.textContent = 'No orders yet.';
    }
    empty.classList.toggle('hidden', orders.length > 0);
    A.$('page-info').textContent = 'Page ' + state.page;
    A.$('page-prev').disabled = state.page <= 1;
    A.$('page-next').disabled = orders.length < PAGE_SIZE;
    clearButton.classList.toggle('hidden', !state.q && !state.status);
  }

  function load() {
    var mine = ++seq;
    var q = new URLSearchParams();
    q.set('status', state.status);
    q.set('q', state.q);
    q.set('page', String(state.page));
    A.$('orders-table').setAttribute('aria-busy', 'true');
    return A.api('GET', '/api/admin/orders?' + q.toString()).then(function (res) {
      if (mine !== seq) return;
      A.clearError(pageError);
      render((res && Array.isArray(res.orders)) ? res.orders : []);
    }).catch(function (err) {
      if (mine !== seq) return;
      A.$('orders-loading').classList.add('hidden');
      A.showError(pageError, err);
    }).then(function () {
      if (mine === seq) A.$('orders-table').removeAttribute('aria-busy');
    });
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

  statusSelect.addEventListener('change', function () {
    go({ status: statusSelect.value, q: searchBox.value.trim(), page: 1 });
  });
  filterForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    searchBox.value = searchBox.value.trim();
    go({ status: statusSelect.value, q: searchBox.value, page: 1 });
  });
  clearButton.addEventListener('click', function () {
    statusSelect.value = '';
    searchBox.value = '';
    go({ status: '', q: '', page: 1 });
    searchBox.focus();
  });
  A.$('page-prev').addEventListener('click', function () {
    if (state.page > 1) go({ page: state.page - 1 });
  });
  A.$('page-next').addEventListener('click', function () { go({ page: state.page + 1 }); });
  window.addEventListener('popstate', function () { fromUrl(); load(); });

  fromUrl();
  A.requireSession().then(function () {
    return A.config().then(function (cfg) {
      state.currency = (cfg && cfg.currency) || '';
      return load();
    });
  }).catch(function (err) { A.showError(pageError, err); });
})();
