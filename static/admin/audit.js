/* Audit log: /admin/audit (static/admin/audit.html); 50 entries a page, newest first. */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var el = A.el;
  var PAGE_SIZE = 50; /* the server's page size; the answer has no total */
  var page = Math.max(1, parseInt(A.query('page') || '1', 10) || 1);
  var pageError = A.$('page-error');

  function detailText(d) {
    if (d === null || d === undefined) return '';
    if (typeof d === 'string') return d;
    try { return JSON.stringify(d); } catch (e) { return String(d); }
  }

  function load() {
    try { history.replaceState(null, '', location.pathname + (page > 1 ? '?page=' + page : '')); } catch (e) { /* ignored */ }
    return A.api('GET', '/api/admin/audit?page=' + page).then(function (res) {
      var entries = (res && res.entries) || [];
      var body = A.$('audit-body');
      A.clear(body);
      entries.forEach(function (e) {
        body.appendChild(el('tr', null,
          el('td', { className: 'nowrap' }, A.formatTime(e.created_at)),
          el('td', null, e.username),
          el('td', { className: 'mono' }, e.action),
          el('td', { className: 'mono' }, e.target),
          el('td', { className: 'mono detail' }, detailText(e.detail)),
          el('td', { className: 'mono' }, e.ip)));
      });
      A.$('audit-empty').classList.toggle('hidden', entries.length > 0);
      A.$('page-info').textContent = A.t('common.page', { n: page });
      A.$('page-prev').disabled = page <= 1;
      A.$('page-next').disabled = entries.length < PAGE_SIZE;
      A.clearError(pageError);
    }).catch(function (err) { A.showError(pageError, err); });
  }

  A.$('page-prev').addEventListener('click', function () { if (page > 1) { page--; load(); } });
  A.$('page-next').addEventListener('click', function () { page++; load(); });

  A.requireSession().then(load).catch(function (err) { A.showError(pageError, err); });
})();
