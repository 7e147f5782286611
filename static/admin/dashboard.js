/* Dashboard: /admin/dashboard (static/admin/dashboard.html), from one
 * GET /api/admin/stats?days=30: today, the last 7 and 30 days (orders, paid, revenue,
 * conversion), a revenue chart drawn as inline SVG with DOM calls (no library), the best
 * sellers and the products running out of keys. */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var el = A.el;
  var t = A.t;
  var SVG = 'http://www.w3.org/2000/svg';
  var pageError = A.$('page-error');
  var currency = '';

  function sum(days) {
    return days.reduce(function (acc, d) {
      acc.orders += d.orders;
      acc.paid += d.paid;
      acc.revenue += d.revenue;
      return acc;
    }, { orders: 0, paid: 0, revenue: 0 });
  }

  /* paid / orders as "37.5%"; "—" with no order (a payment of an earlier day's order can make
   * it pass 100%: both counts are per day, as the contract defines them). */
  function conversion(f) {
    if (!f.orders) return '—';
    var tenths = Math.round(f.paid * 1000 / f.orders);
    return (tenths / 10).toLocaleString(A.lang || undefined, { maximumFractionDigits: 1 }) + '%';
  }

  function fillTile(id, f) {
    var dl = A.$(id).querySelector('dl');
    A.clear(dl);
    [['dash.orders', A.formatCount(f.orders), 'orders'],
     ['dash.paid', A.formatCount(f.paid), 'paid'],
     ['dash.revenue', A.formatMoney(f.revenue, currency), 'revenue'],
     ['dash.conversion', conversion(f), 'conversion']].forEach(function (row) {
      var dt = el('dt', null, t(row[0]));
      if (row[2] === 'conversion') dt.title = t('dash.conversion_hint');
      dl.appendChild(el('div', { className: 'figure figure-' + row[2] }, dt,
        el('dd', { dataset: { figure: row[2] } }, row[1])));
    });
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* Bars of revenue per day; the tallest one and zero are labelled on the axis, three dates
   * under it, and each bar carries its figures as a <title> (a tooltip, and read aloud). */
  function chart(days) {
    var W = 720, H = 240, left = 64, right = 8, top = 12, bottom = 28;
    var max = days.reduce(function (m, d) { return Math.max(m, d.revenue); }, 0);
    var plotW = W - left - right, plotH = H - top - bottom;
    var step = plotW / Math.max(days.length, 1);
    var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', role: 'img',
      class: 'revenue-chart', preserveAspectRatio: 'xMidYMid meet' });
    var label = t('dash.chart_label', { first: A.formatDay(days[0] && days[0].date),
      last: A.formatDay(days.length ? days[days.length - 1].date : ''), max: A.formatMoney(max, currency) });
    root.setAttribute('aria-label', label);
    root.appendChild(svg('title', {}, label));
    var axis = svg('g', { class: 'axis' });
    axis.appendChild(svg('line', { x1: left, y1: top + plotH, x2: W - right, y2: top + plotH }));
    axis.appendChild(svg('line', { x1: left, y1: top, x2: W - right, y2: top, class: 'grid' }));
    axis.appendChild(svg('text', { x: left - 6, y: top + 4, 'text-anchor': 'end' }, A.formatMoney(max, currency)));
    axis.appendChild(svg('text', { x: left - 6, y: top + plotH, 'text-anchor': 'end' }, A.formatMoney(0, currency)));
    root.appendChild(axis);
    var bars = svg('g', { class: 'bars' });
    days.forEach(function (d, i) {
      var h = max > 0 ? Math.round(d.revenue / max * plotH) : 0;
      var x = left + i * step + step * 0.15;
      var bar = svg('rect', { x: x.toFixed(1), y: top + plotH - h, width: (step * 0.7).toFixed(1),
        height: Math.max(h, d.revenue > 0 ? 1 : 0), class: 'bar', 'data-date': d.date,
        'data-revenue': d.revenue });
      bar.appendChild(svg('title', {}, t('dash.chart_day', { date: A.formatDay(d.date),
        revenue: A.formatMoney(d.revenue, currency), paid: d.paid, orders: d.orders })));
      bars.appendChild(bar);
    });
    root.appendChild(bars);
    var marks = svg('g', { class: 'dates' });
    [0, Math.floor((days.length - 1) / 2), days.length - 1].forEach(function (i, n, all) {
      if (i < 0 || all.indexOf(i) !== n) return;
      var anchor = n === 0 ? 'start' : n === 2 ? 'end' : 'middle';
      var x = n === 0 ? left : n === 2 ? W - right : left + (i + 0.5) * step;
      marks.appendChild(svg('text', { x: x.toFixed(1), y: H - 8, 'text-anchor': anchor }, A.formatDay(days[i].date)));
    });
    root.appendChild(marks);
    var box = A.$('chart-box');
    A.clear(box);
    box.appendChild(root);
  }

  function renderTop(list) {
    var body = A.$('top-body');
    A.clear(body);
    list.forEach(function (p) {
      body.appendChild(el('tr', { dataset: { id: p.id } },
        el('td', null, el('a', { href: '/admin/keys?product=' + encodeURIComponent(p.id) }, p.name)),
        el('td', { className: 'num' }, A.formatCount(p.paid)),
        el('td', { className: 'num' }, A.formatMoney(p.revenue, currency))));
    });
    A.$('top-empty').classList.toggle('hidden', list.length > 0);
  }

  function renderLow(list, threshold) {
    var ul = A.$('low-list');
    A.clear(ul);
    A.$('low-hint').textContent = t('dash.low_hint', { n: threshold });
    list.forEach(function (p) {
      ul.appendChild(el('li', { className: p.stock === 0 ? 'out' : '', dataset: { id: p.id } },
        el('span', { className: 'product-name' }, p.name),
        el('span', { className: 'badge' + (p.stock === 0 ? ' out' : '') }, t('dash.stock') + ' ' + A.formatCount(p.stock)),
        el('a', { className: 'button small', href: '/admin/keys?product=' + encodeURIComponent(p.id) }, t('dash.keys'))));
    });
    var empty = A.$('low-empty');
    empty.textContent = t('dash.low_none', { n: threshold });
    empty.classList.toggle('hidden', list.length > 0);
  }

  function render(s) {
    var days = Array.isArray(s.days) ? s.days : [];
    fillTile('tile-today', s.today || sum(days.slice(-1)));
    fillTile('tile-7', sum(days.slice(-7)));
    fillTile('tile-30', sum(days));
    chart(days);
    renderTop(s.top_products || []);
    renderLow(s.low_stock || [], typeof s.low_stock_threshold === 'number' ? s.low_stock_threshold : 5);
    A.$('dash-tz').textContent = t('dash.timezone', { tz: s.timezone || 'UTC' }) + ' ' +
      t('dash.updated', { time: A.formatTime(Math.floor(Date.now() / 1000)) });
    A.$('dash-loading').classList.add('hidden');
  }

  A.requireSession().then(function () {
    return A.config();
  }).then(function (cfg) {
    currency = (cfg && cfg.currency) || '';
    return A.api('GET', '/api/admin/stats?days=30');
  }).then(render).catch(function (err) {
    A.$('dash-loading').classList.add('hidden');
    A.showError(pageError, err);
  });
})();
