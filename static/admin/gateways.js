/* Gateways: /admin/gateways (static/admin/gateways.html): each enabled gateway's breaker from
 * GET /api/admin/gateways, refreshed every 5 s. Strings: 'gateways.*' in static/assets/admin-i18n.js. */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var el = A.el;
  function t(k) { return A.t('gateways.' + k); }
  var pageError = A.$('page-error');

  function load() {
    return A.api('GET', '/api/admin/gateways').then(function (res) {
      var list = (res && res.gateways) || [];
      var body = A.$('gateways-body');
      A.clear(body);
      list.forEach(function (g) {
        var state = t(g.state) + (g.ready ? '' : ' (' + t('not_ready') + ')');
        body.appendChild(el('tr', { className: 'gateway-' + g.state },
          el('td', { className: 'mono' }, g.gateway),
          el('td', { className: 'state-' + g.state }, state),
          el('td', null, String(g.failures)),
          el('td', { className: 'mono detail' }, g.last_error ? g.last_error + ' · ' + A.formatTime(g.last_error_at) : ''),
          el('td', { className: 'nowrap' }, g.down_until ? A.formatTime(g.down_until) : ''),
          el('td', null, g.can_query ? t('yes') : t('no'))));
      });
      A.$('gateways-empty').classList.toggle('hidden', list.length > 0);
      A.clearError(pageError);
    }).catch(function (err) { A.showError(pageError, err); });
  }

  A.requireSession().then(function () {
    load();
    setInterval(load, 5000);
  }).catch(function (err) { A.showError(pageError, err); });
})();
