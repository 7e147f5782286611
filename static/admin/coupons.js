/* Coupons: /admin/coupons (static/admin/coupons.html). Lists the coupons and creates new ones:
 * percent (whole 1-100) or fixed (typed as a decimal amount, sent in minor units), optional
 * number of uses, expiry (local date-time -> UTC seconds), product and cap per unit; edits
 * (uses, expiry, cap, active), disables, enables and deletes (only when no order used it). */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var el = A.el;
  var t = A.t;
  var USES_MAX = 100000000; /* the server's limit */

  /* The strings of the edit, disable and delete actions, in one place for translation. */
  var S = {
    edit: 'Edit', disable: 'Disable', enable: 'Enable', del: 'Delete',
    none: 'none', capped: function (m) { return 'at most ' + m + ' a unit'; },
    editTitle: function (code) { return 'Edit coupon “' + code + '”'; },
    saved: function (code) { return 'Coupon “' + code + '” saved.'; },
    disabled: function (code) { return 'Coupon “' + code + '” disabled: it is refused like an unknown code.'; },
    enabled: function (code) { return 'Coupon “' + code + '” enabled.'; },
    deleted: function (code) { return 'Coupon “' + code + '” deleted.'; },
    confirmDelete: function (code) { return 'Delete coupon “' + code + '”? This cannot be undone.'; },
    usedCannotDelete: 'A coupon that orders used cannot be deleted: disable it instead.',
    badUses: function (used) { return 'Uses: a whole number, at least the ' + used + ' already used, or blank for unlimited.'; },
    badMax: 'Max off: an amount such as 5.00 (more than zero), or blank for no cap.',
    badExpires: 'Expires: a complete date and time, or blank for never.',
    nothing: 'Nothing changed.'
  };

  var state = { coupons: [], products: [], currency: '' };
  var pageError = A.$('page-error');
  var pageNotice = A.$('page-notice');
  var form = A.$('coupon-form');
  var formError = A.$('coupon-form-error');
  var f = {
    code: A.$('nc-code'), kind: A.$('nc-kind'), value: A.$('nc-value'), uses: A.$('nc-uses'),
    expires_at: A.$('nc-expires'), product_id: A.$('nc-product'), max_discount: A.$('nc-max')
  };

  function Invalid(message, field) {
    this.message = message;
    this.field = field;
  }

  function fail(err) {
    if (err instanceof Invalid) {
      A.showError(formError, err.message);
      if (err.field) err.field.focus();
      return;
    }
    A.showError(formError, err);
    /* the server names the field first ("value: must be ..."): put the cursor there */
    if (err && (err.code === 'invalid_request' || err.code === 'conflict')) {
      var m = /^\s*([a-z_]+)\s*:/i.exec(err.message || '');
      var field = m && Object.prototype.hasOwnProperty.call(f, m[1].toLowerCase()) ? f[m[1].toLowerCase()] : null;
      if (field) field.focus();
    }
  }

  /* ---- values ----------------------------------------------------------------------------- */

  function product(id) {
    for (var i = 0; i < state.products.length; i++) {
      if (state.products[i].id === id) return state.products[i];
    }
    return null;
  }

  function currencyFor(productId) {
    var p = productId == null ? null : product(productId);
    return (p && p.currency) || state.currency;
  }

  function discountText(c) {
    if (c.kind === 'percent') return t('coupons.pct', { n: c.value });
    if (c.kind === 'fixed') return t('coupons.amount', { amount: A.formatMoney(c.value, currencyFor(c.product_id)) });
    return String(c.kind) + ' ' + String(c.value);
  }

  function now() { return Math.floor(Date.now() / 1000); }

  function couponStatus(c) {
    if (!c.active) return ['inactive', t('coupons.st_inactive')];
    if (typeof c.expires_at === 'number' && c.expires_at <= now()) return ['expired', t('coupons.st_expired')];
    if (typeof c.uses_left === 'number' && c.uses_left <= 0) return ['used-up', t('coupons.st_used_up')];
    return ['active', t('coupons.st_active')];
  }

  /* "2030-01-02T03:04" (datetime-local, the browser's time zone) -> UTC seconds, or null. */
  function parseLocal(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(String(text || ''));
    if (!m) return null;
    var d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0, 0);
    var t = d.getTime();
    return isFinite(t) ? Math.floor(t / 1000) : null;
  }

  function zoneText() {
    var off = -new Date().getTimezoneOffset();
    var sign = off < 0 ? '−' : '+';
    off = Math.abs(off);
    function two(x) { return (x < 10 ? '0' : '') + x; }
    var s = 'UTC' + sign + two(Math.floor(off / 60)) + ':' + two(off % 60);
    try {
      var name = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (name && !/^(Etc\/)?(UTC|GMT|Universal|Zulu)$/.test(name)) s = name + ', ' + s;
    } catch (e) { /* no Intl: the offset alone */ }
    return s;
  }

  /* ---- the form ------------------------------------------------------------------------- */

  function syncKind() {
    var fixed = f.kind.value === 'fixed';
    var label = A.$('nc-value-label');
    label.textContent = fixed ? t('coupons.amount_off', { currency: currencyFor(productValue()) || t('products.major_units') }) : t('coupons.percent_off');
    f.value.placeholder = fixed ? '5.00' : '10';
    f.value.inputMode = fixed ? 'decimal' : 'numeric';
  }

  function productValue() {
    return f.product_id.value ? parseInt(f.product_id.value, 10) : null;
  }

  function readCoupon() {
    var code = f.code.value.trim();
    if (!code) throw new Invalid(t('coupons.err.code'), f.code);
    if (code.length > 64) throw new Invalid(t('coupons.err.code_long'), f.code);
    var kind = f.kind.value === 'fixed' ? 'fixed' : 'percent';
    var value;
    var raw = String(f.value.value).trim();
    if (kind === 'percent') {
      value = /^\d{1,3}$/.test(raw) ? parseInt(raw, 10) : null;
      if (value === null || value < 1 || value > 100) {
        throw new Invalid(t('coupons.err.percent'), f.value);
      }
    } else {
      value = A.parseMoney(raw);
      if (value === null || value < 1) {
        throw new Invalid(t('coupons.err.amount'), f.value);
      }
    }
    var body = { code: code, kind: kind, value: value };

    var usesText = String(f.uses.value).trim();
    if (usesText === '' && f.uses.validity && f.uses.validity.badInput) {
      throw new Invalid(t('coupons.err.uses'), f.uses);
    }
    if (usesText !== '') {
      var uses = A.parseCount(usesText);
      if (uses === null || uses < 1 || uses > USES_MAX) {
        throw new Invalid(t('coupons.err.uses_range', { max: USES_MAX }), f.uses);
      }
      body.uses = uses;
    }

    var expText = String(f.expires_at.value).trim();
    if (expText === '' && f.expires_at.validity && f.expires_at.validity.badInput) {
      throw new Invalid(t('coupons.err.expires'), f.expires_at);
    }
    if (expText !== '') {
      var exp = parseLocal(expText);
      if (exp === null) throw new Invalid(t('coupons.err.expires'), f.expires_at);
      if (exp <= now()) throw new Invalid(t('coupons.err.past'), f.expires_at);
      body.expires_at = exp;
    }

    var pid = productValue();
    if (pid !== null) body.product_id = pid;
    var maxText = String(f.max_discount.value).trim();
    if (maxText !== '') {
      var max = A.parseMoney(maxText);
      if (max === null || max < 1) throw new Invalid(S.badMax, f.max_discount);
      body.max_discount = max;
    }
    return body;
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    A.clearError(formError);
    var body;
    try { body = readCoupon(); } catch (e) { fail(e); return; }
    A.busy(form, A.api('POST', '/api/admin/coupons', body)).then(function (res) {
      var kind = f.kind.value;
      form.reset();
      f.kind.value = kind;
      syncKind();
      A.clearError(pageError);
      A.showNotice(pageNotice, t('coupons.created', { code: body.code, discount: discountText(body) }));
      return load().then(function () {
        var row = res && res.id ? document.querySelector('#coupons-body tr[data-id="' + Number(res.id) + '"]') : null;
        if (row) row.classList.add('fresh');
      });
    }).catch(fail);
  });

  f.kind.addEventListener('change', syncKind);
  f.product_id.addEventListener('change', syncKind);

  /* ---- the list --------------------------------------------------------------------------- */

  function couponRow(c) {
    var st = couponStatus(c);
    var row = el('tr', { className: 'coupon-' + st[0], dataset: { id: c.id, code: c.code } });
    row.appendChild(el('td', { className: 'mono code' }, c.code));
    row.appendChild(el('td', { className: 'discount nowrap' }, discountText(c)));

    var productCell = el('td', { className: 'product' });
    if (c.product_id == null) {
      productCell.appendChild(el('span', { className: 'muted' }, t('coupons.any_product')));
    } else {
      var p = product(c.product_id);
      productCell.appendChild(el('a', { href: '/admin/keys?product=' + encodeURIComponent(c.product_id) },
        p ? p.name : t('coupons.product_n', { id: c.product_id })));
      if (!p) productCell.appendChild(el('span', { className: 'sub muted' }, t('coupons.deleted')));
    }
    row.appendChild(productCell);

    row.appendChild(el('td', { className: 'num used' }, String(c.used)));
    row.appendChild(el('td', { className: 'num left' },
      c.uses_left == null ? el('span', { className: 'muted' }, t('coupons.unlimited')) : String(c.uses_left)));

    var exp = el('td', { className: 'nowrap expires' });
    if (typeof c.expires_at === 'number') {
      exp.textContent = A.formatTime(c.expires_at);
      exp.title = new Date(c.expires_at * 1000).toString();
    } else {
      exp.appendChild(el('span', { className: 'muted' }, t('coupons.never')));
    }
    row.appendChild(exp);
    row.appendChild(el('td', { className: 'num max-discount' },
      c.max_discount == null ? el('span', { className: 'muted' }, S.none)
                             : A.formatMoney(c.max_discount, currencyFor(c.product_id))));
    row.appendChild(el('td', { className: 'status' },
      el('span', { className: 'badge coupon-status cs-' + st[0] }, st[1])));
    row.appendChild(el('td', { className: 'actions' },
      el('button', { type: 'button', className: 'small secondary', dataset: { action: 'edit' },
                     on: { click: function () { openEdit(c); } } }, S.edit),
      el('button', { type: 'button', className: 'small secondary', dataset: { action: 'toggle' },
                     on: { click: function (ev) { toggle(c, ev.target); } } }, c.active ? S.disable : S.enable),
      el('button', { type: 'button', className: 'small quiet-danger', dataset: { action: 'delete' },
                     disabled: c.used > 0, title: c.used > 0 ? S.usedCannotDelete : '',
                     on: { click: function (ev) { remove(c, ev.target); } } }, S.del)));
    labelCells(row);
    return row;
  }

  /* ---- edit, disable, delete ------------------------------------------------------------ */

  var editing = null;
  var edit = {
    box: A.$('edit-coupon'), form: A.$('edit-form'), error: A.$('edit-form-error'),
    uses: A.$('ec-uses'), expires_at: A.$('ec-expires'), max_discount: A.$('ec-max'), active: A.$('ec-active')
  };

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  /* UTC seconds -> "2030-01-02T03:04" in the browser's time zone (for datetime-local). */
  function localInput(seconds) {
    if (typeof seconds !== 'number') return '';
    var d = new Date(seconds * 1000);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' +
      pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  function openEdit(c) {
    editing = c;
    A.clearError(edit.error);
    A.$('ec-title').textContent = S.editTitle(c.code);
    edit.uses.value = c.uses == null ? '' : String(c.uses);
    edit.uses.min = String(c.used);
    edit.expires_at.value = localInput(c.expires_at);
    edit.max_discount.value = c.max_discount == null ? '' : A.moneyInput(c.max_discount);
    edit.active.checked = !!c.active;
    edit.box.classList.remove('hidden');
    edit.uses.focus();
  }

  function closeEdit() {
    editing = null;
    edit.box.classList.add('hidden');
  }

  /* Only what changed goes to PATCH: a field the merchant did not touch is left alone. */
  function readEdit(c) {
    var body = {};
    var usesText = String(edit.uses.value).trim();
    var uses = usesText === '' ? null : A.parseCount(usesText);
    if ((usesText !== '' && (uses === null || uses < c.used || uses > USES_MAX)) ||
        (usesText === '' && edit.uses.validity && edit.uses.validity.badInput)) {
      throw new Invalid(S.badUses(c.used), edit.uses);
    }
    if (uses !== c.uses) body.uses = uses;
    var expText = String(edit.expires_at.value).trim();
    var exp = expText === '' ? null : parseLocal(expText);
    if (expText !== '' && exp === null) throw new Invalid(S.badExpires, edit.expires_at);
    if (expText !== localInput(c.expires_at)) body.expires_at = exp;
    var maxText = String(edit.max_discount.value).trim();
    var max = maxText === '' ? null : A.parseMoney(maxText);
    if (maxText !== '' && (max === null || max < 1)) throw new Invalid(S.badMax, edit.max_discount);
    if (max !== c.max_discount) body.max_discount = max;
    if (edit.active.checked !== !!c.active) body.active = edit.active.checked;
    return body;
  }

  function patch(c, body) {
    return A.api('PATCH', '/api/admin/coupons/' + encodeURIComponent(c.id), body);
  }

  edit.form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (!editing) return;
    var c = editing, body;
    A.clearError(edit.error);
    try { body = readEdit(c); } catch (e) {
      A.showError(edit.error, e.message);
      if (e.field) e.field.focus();
      return;
    }
    if (!Object.keys(body).length) { A.showError(edit.error, S.nothing); return; }
    A.busy(edit.form, patch(c, body)).then(function () {
      closeEdit();
      A.showNotice(pageNotice, S.saved(c.code));
      return load();
    }).catch(function (err) { A.showError(edit.error, err); });
  });
  A.$('ec-cancel').addEventListener('click', closeEdit);

  function toggle(c, button) {
    button.disabled = true;
    A.clearError(pageError);
    patch(c, { active: !c.active }).then(function () {
      A.showNotice(pageNotice, c.active ? S.disabled(c.code) : S.enabled(c.code));
      return load();
    }).catch(function (err) {
      button.disabled = false;
      A.showError(pageError, err);
    });
  }

  function remove(c, button) {
    if (!window.confirm(S.confirmDelete(c.code))) return;
    button.disabled = true;
    A.clearError(pageError);
    A.api('DELETE', '/api/admin/coupons/' + encodeURIComponent(c.id)).then(function () {
      if (editing && editing.id === c.id) closeEdit();
      A.showNotice(pageNotice, S.deleted(c.code));
      return load();
    }).catch(function (err) {
      button.disabled = false;
      A.showError(pageError, err && err.code === 'conflict' ? S.usedCannotDelete : err);
    });
  }

  /* Each cell carries its column's name: the narrow layout shows it in front of the value. */
  var columnNames = null;
  function labelCells(row) {
    if (!columnNames) {
      columnNames = Array.prototype.map.call(document.querySelectorAll('#coupons-table thead th'),
        function (th) { return th.textContent.trim(); });
    }
    Array.prototype.forEach.call(row.cells, function (td, i) {
      if (columnNames[i]) td.dataset.label = columnNames[i];
    });
  }

  function renderCoupons() {
    var body = A.$('coupons-body');
    A.clear(body);
    state.coupons.forEach(function (c) { body.appendChild(couponRow(c)); });
    A.$('coupons-loading').classList.add('hidden');
    A.$('coupons-empty').classList.toggle('hidden', state.coupons.length > 0);
  }

  function renderProducts() {
    var select = f.product_id;
    var chosen = select.value;
    A.clear(select);
    select.appendChild(el('option', { value: '' }, t('coupons.any_product')));
    state.products.forEach(function (p) {
      select.appendChild(el('option', { value: String(p.id) },
        p.name + ' (#' + p.id + (p.active === false ? t('coupons.inactive_suffix') : '') + ')'));
    });
    select.value = chosen && product(parseInt(chosen, 10)) ? chosen : '';
    syncKind();
  }

  function load() {
    return Promise.all([
      A.api('GET', '/api/admin/coupons'),
      A.api('GET', '/api/admin/products')
    ]).then(function (res) {
      state.coupons = (res[0] && Array.isArray(res[0].coupons)) ? res[0].coupons : [];
      state.products = (res[1] && Array.isArray(res[1].products)) ? res[1].products : [];
      renderProducts();
      renderCoupons();
    }).catch(function (err) {
      A.$('coupons-loading').classList.add('hidden');
      A.showError(pageError, err);
    });
  }

  A.$('nc-tz-hint').textContent = t('coupons.tz_hint', { zone: zoneText() });
  syncKind();
  A.requireSession().then(function () {
    return A.config().then(function (cfg) {
      state.currency = (cfg && cfg.currency) || '';
      syncKind();
      return load();
    });
  }).catch(function (err) { A.showError(pageError, err); });
})();
