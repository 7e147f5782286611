/* Gateways: /admin/gateways (static/admin/gateways.html): each enabled gateway's breaker from
 * GET /api/admin/gateways, refreshed every 5 s. Every string of the page is in TEXT. */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var el = A.el;
  var TEXT = {
    en: {
      title: 'Payment gateways', none: 'No gateway is enabled.',
      intro: 'A gateway whose calls keep failing is taken out of the checkout for a cool-down, then tried again.',
      col_gateway: 'Gateway', col_state: 'State', col_failures: 'Failures', col_error: 'Last error',
      col_until: 'Down until', col_query: 'Lost notifies asked',
      up: 'Up', down: 'Down', half_open: 'Trying again', not_ready: 'not configured', yes: 'yes', no: 'no'
    },
    'zh-CN': {
      title: '支付网关', none: '没有启用的支付网关。',
      intro: '调用持续失败的网关会在冷却期内从结账页移除，之后再尝试。',
      col_gateway: '网关', col_state: '状态', col_failures: '失败次数', col_error: '最近错误',
      col_until: '停用至', col_query: '查询丢失的通知',
      up: '正常', down: '停用', half_open: '正在重试', not_ready: '未配置', yes: '是', no: '否'
    }
  };
  var lang = 'en';
  try { if (window.localStorage.getItem('cardshop.lang') === 'zh-CN') lang = 'zh-CN'; } catch (e) { /* default */ }
  function t(k) { return TEXT[lang][k] || TEXT.en[k] || k; }
  var pageError = A.$('page-error');

  Array.prototype.forEach.call(document.querySelectorAll('[data-text]'), function (n) {
    n.textContent = t(n.getAttribute('data-text'));
  });

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
