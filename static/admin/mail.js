/* Mail and background jobs: /admin/mail (static/admin/mail.html), from
 * GET /api/admin/jobs?kind=&status=&page= (newest first, 100 a page, one kind at a time).
 *
 * The default view, "mail", is order_mail and alert_mail together: page N of each kind,
 * merged newest first, so every job shows on exactly one page. The state lives in the URL
 * (?kind=&status=&page=; no kind means mail). */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var el = A.el;
  var t = A.t;
  var PAGE_SIZE = 100; /* the server's page size; the answer has no total */
  var MAIL_KINDS = ['order_mail', 'alert_mail'];

  var KINDS = { mail: t('nav.mail'), all: t('mail.kind_all'), order_mail: t('mail.kind_order_mail'),
    alert_mail: t('mail.kind_alert_mail'), lookup_mail: t('mail.kind_lookup_mail'),
    sandbox_notify: t('mail.kind_sandbox_notify') };
  var KIND_LABELS = { order_mail: t('mail.kind_order_mail'), alert_mail: t('mail.kind_alert_mail'),
    lookup_mail: t('mail.kind_lookup_mail'), sandbox_notify: t('mail.kind_sandbox_notify') };
  var STATUSES = { queued: t('mail.st.queued'), running: t('mail.st.running'), done: t('mail.st.done'),
    failed: t('mail.st.failed') };
  var ALERTS = { paid_undelivered: t('mail.alert_paid_undelivered'), duplicate_payment: t('mail.alert_duplicate') };

  var pageError = A.$('page-error');
  var kindSelect = A.$('kind-filter');
  var statusSelect = A.$('status-filter');

  var state = { kind: 'mail', status: '', page: 1 };
  var seq = 0; /* answers to superseded requests are dropped */

  function has(obj, k) { return Object.prototype.hasOwnProperty.call(obj, k); }

  function fromUrl() {
    var kind = A.query('kind') || 'mail';
    var status = A.query('status') || '';
    state.kind = has(KINDS, kind) ? kind : 'mail';
    state.status = has(STATUSES, status) ? status : '';
    state.page = Math.max(1, parseInt(A.query('page') || '1', 10) || 1);
    kindSelect.value = state.kind;
    statusSelect.value = state.status;
  }

  function urlOf() {
    var q = new URLSearchParams();
    if (state.kind !== 'mail') q.set('kind', state.kind);
    if (state.status) q.set('status', state.status);
    if (state.page > 1) q.set('page', String(state.page));
    var s = q.toString();
    return location.pathname + (s ? '?' + s : '');
  }

  function two(x) { return (x < 10 ? '0' : '') + x; }

  /* "2024-05-01 12:30:05": retries come seconds apart. */
  function timeWithSeconds(seconds) {
    if (typeof seconds !== 'number' || !seconds) return '';
    return A.formatTime(seconds) + ':' + two(new Date(seconds * 1000).getSeconds());
  }

  /* When a queued job runs next, next to the clock: "in 34 s", "in 5 min", "due now". */
  function untilText(seconds, now) {
    var d = Math.round(seconds - now);
    if (d < 2) return t('mail.due_now');
    return t(d < 90 ? 'mail.in_s' : d < 5400 ? 'mail.in_min' : 'mail.in_h',
             { n: d < 90 ? d : d < 5400 ? Math.round(d / 60) : Math.round(d / 3600) });
  }

  function timeCell(seconds, className, sub) {
    var cell = el('td', { className: 'time-cell ' + className });
    if (typeof seconds === 'number' && seconds > 0) {
      var parts = timeWithSeconds(seconds).split(' ');
      cell.appendChild(el('span', { className: 'date' }, parts[0]));
      cell.appendChild(document.createTextNode(' '));
      cell.appendChild(el('span', { className: 'clock' }, parts.slice(1).join(' ')));
      if (sub) cell.appendChild(el('span', { className: 'sub muted' }, sub));
      cell.title = new Date(seconds * 1000).toString();
    } else {
      cell.appendChild(el('span', { className: 'muted' }, '—'));
    }
    return cell;
  }

  function safeClass(s) { return String(s || '').replace(/[^a-z_]/g, ''); }

  function retrying(j) {
    return j.status === 'queued' && typeof j.last_error === 'string' && j.last_error !== '';
  }

  function statusBadge(j) {
    var label = has(STATUSES, j.status) ? STATUSES[j.status] : String(j.status || '?');
    var b = el('span', { className: 'badge job-status js-' + safeClass(j.status) + (retrying(j) ? ' js-retrying' : '') },
      label);
    b.dataset.status = String(j.status);
    if (retrying(j)) b.title = t('mail.retrying_title');
    else if (j.status === 'failed') b.title = t('mail.failed_title');
    return b;
  }

  function orderCell(j) {
    var p = (j.payload && typeof j.payload === 'object') ? j.payload : {};
    var cell = el('td', { className: 'order' });
    if (typeof p.order_id === 'number') {
      cell.appendChild(el('span', { className: 'mono order-id' }, '#' + p.order_id));
      cell.dataset.orderId = String(p.order_id);
    } else if (typeof p.order_no === 'string' && p.order_no) {
      var a = el('a', { className: 'mono order-no', href: '/admin/orders?q=' + encodeURIComponent(p.order_no) },
        p.order_no);
      a.title = t('mail.order_link_title');
      cell.appendChild(a);
    } else {
      cell.appendChild(el('span', { className: 'muted' }, '—'));
    }
    return cell;
  }

  function jobRow(j, now) {
    var cls = 'job kind-' + safeClass(j.kind) + ' job-' + safeClass(j.status);
    if (retrying(j)) cls += ' job-retrying';
    var row = el('tr', { className: cls, dataset: { id: j.id, kind: j.kind, status: j.status } });
    var p = (j.payload && typeof j.payload === 'object') ? j.payload : {};

    row.appendChild(el('td', { className: 'mono job-id' }, '#' + j.id,
      el('span', { className: 'sub muted' }, t('mail.created', { time: A.formatTime(j.created_at) }))));
    var what = typeof p.what === 'string' && p.what
      ? el('span', { className: 'sub muted what' }, has(ALERTS, p.what) ? p.what + ': ' + ALERTS[p.what] : p.what)
      : null;
    row.appendChild(el('td', { className: 'kind' },
      el('span', { className: 'kind-label' }, has(KIND_LABELS, j.kind) ? KIND_LABELS[j.kind] : String(j.kind || '?')),
      what));
    row.appendChild(orderCell(j));
    row.appendChild(el('td', { className: 'status' }, statusBadge(j)));

    var attempts = el('td', { className: 'num attempts' }, String(j.attempts) + '/' + String(j.max_attempts));
    attempts.title = t('mail.attempts_title', { n: j.attempts, max: j.max_attempts });
    row.appendChild(attempts);

    row.appendChild(el('td', { className: 'last-error' },
      j.last_error ? el('span', { className: 'error-text' }, j.last_error) : el('span', { className: 'muted' }, '—')));

    if (j.status === 'queued') {
      row.appendChild(timeCell(j.run_at, 'next-run', untilText(j.run_at, now)));
    } else {
      var note = j.status === 'running' ? t('mail.running_now') : j.status === 'failed' ? t('mail.gave_up') : '—';
      row.appendChild(el('td', { className: 'time-cell next-run' }, el('span', { className: 'muted' }, note)));
    }
    row.appendChild(timeCell(j.updated_at, 'updated'));
    labelCells(row);
    return row;
  }

  var columnNames = null;
  function labelCells(row) {
    if (!columnNames) {
      columnNames = Array.prototype.map.call(document.querySelectorAll('#jobs-table thead th'),
        function (th) { return th.textContent.trim(); });
    }
    Array.prototype.forEach.call(row.cells, function (td, i) {
      if (columnNames[i]) td.dataset.label = columnNames[i];
    });
  }

  function render(jobs, more) {
    var now = Date.now() / 1000;
    var body = A.$('jobs-body');
    A.clear(body);
    jobs.forEach(function (j) { body.appendChild(jobRow(j, now)); });
    A.$('jobs-loading').classList.add('hidden');

    var empty = A.$('jobs-empty');
    if (jobs.length === 0) {
      if (state.page > 1) empty.textContent = t('mail.past_last');
      else if (state.status || state.kind !== 'all') empty.textContent = t('mail.no_match');
      else empty.textContent = t('mail.none');
    }
    empty.classList.toggle('hidden', jobs.length > 0);

    var failed = jobs.filter(function (j) { return j.status === 'failed'; }).length;
    var waiting = jobs.filter(retrying).length;
    var note = A.$('jobs-note');
    var parts = [];
    if (failed) parts.push(t(failed === 1 ? 'mail.failed_one' : 'mail.failed_many', { n: failed }));
    if (waiting) parts.push(t(waiting === 1 ? 'mail.waiting_one' : 'mail.waiting_many', { n: waiting }));
    note.textContent = parts.length ? t('mail.note', { parts: parts.join(t('mail.sep')) }) : '';
    note.classList.toggle('hidden', parts.length === 0);
    note.classList.toggle('warn', failed === 0);

    A.$('page-info').textContent = t('common.page', { n: state.page });
    A.$('page-prev').disabled = state.page <= 1;
    A.$('page-next').disabled = !more;
    A.$('page-hint').classList.toggle('hidden', state.kind !== 'mail');
    A.$('jobs-updated').textContent = t('mail.as_of', { time: timeWithSeconds(Math.floor(now)).split(' ')[1] });
  }

  function fetchKind(kind) {
    var q = new URLSearchParams();
    q.set('kind', kind);
    q.set('status', state.status);
    q.set('page', String(state.page));
    return A.api('GET', '/api/admin/jobs?' + q.toString()).then(function (res) {
      return (res && Array.isArray(res.jobs)) ? res.jobs : [];
    });
  }

  function load() {
    var mine = ++seq;
    var kinds = state.kind === 'mail' ? MAIL_KINDS : [state.kind === 'all' ? '' : state.kind];
    A.$('jobs-table').setAttribute('aria-busy', 'true');
    return Promise.all(kinds.map(fetchKind)).then(function (lists) {
      if (mine !== seq) return;
      var more = lists.some(function (l) { return l.length >= PAGE_SIZE; });
      var jobs = [].concat.apply([], lists);
      jobs.sort(function (a, b) { return b.id - a.id; });
      A.clearError(pageError);
      render(jobs, more);
    }).catch(function (err) {
      if (mine !== seq) return;
      A.$('jobs-loading').classList.add('hidden');
      A.showError(pageError, err);
    }).then(function () {
      if (mine === seq) A.$('jobs-table').removeAttribute('aria-busy');
    });
  }

  function go(changes) {
    Object.keys(changes).forEach(function (k) { state[k] = changes[k]; });
    var url = urlOf();
    try {
      if (url !== location.pathname + location.search) history.pushState(null, '', url);
    } catch (e) { /* ignored */ }
    return load();
  }

  kindSelect.addEventListener('change', function () { go({ kind: kindSelect.value, page: 1 }); });
  statusSelect.addEventListener('change', function () { go({ status: statusSelect.value, page: 1 }); });
  A.$('job-filter').addEventListener('submit', function (ev) { ev.preventDefault(); load(); });
  A.$('jobs-refresh').addEventListener('click', function () { load(); });
  A.$('page-prev').addEventListener('click', function () {
    if (state.page > 1) go({ page: state.page - 1 });
  });
  A.$('page-next').addEventListener('click', function () { go({ page: state.page + 1 }); });
  window.addEventListener('popstate', function () { fromUrl(); load(); });

  fromUrl();
  A.requireSession().then(load).catch(function (err) { A.showError(pageError, err); });
})();
