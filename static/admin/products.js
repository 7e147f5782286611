/* Products page: /admin/products (static/admin/products.html). Lists products with stock,
 * creates products and categories, edits a product in place, toggles active, deletes. */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var el = A.el;
  var t = A.t;

  var state = { products: [], categories: [], currency: '' };
  var pageError = A.$('page-error');
  var pageNotice = A.$('page-notice');

  function notice(text) {
    A.clearError(pageError);
    A.showNotice(pageNotice, text);
  }

  /* ---- form reading and validation (shared by create and edit) -------------------------- */

  function Invalid(message, field) {
    this.message = message;
    this.field = field;
  }

  /* Volume prices are typed one a line, "quantity price": "5 9.00" = 9.00 each from 5 on. */
  var TIERS_MAX = 20; /* the server's limit */
  var TS = {
    label: 'Volume prices (one a line: quantity and unit price, e.g. “5 9.00”)',
    bad: function (n) { return 'Volume prices, line ' + n + ': a quantity (at least 1) and a unit price such as 9.00.'; },
    order: 'Volume prices: quantities must increase from one line to the next.',
    many: 'Volume prices: at most ' + TIERS_MAX + ' lines.',
    summary: function (n) { return n + (n === 1 ? ' volume price' : ' volume prices'); },
    hiddenByCategory: 'not in the shop: its category is hidden'
  };

  function readTiers(box) {
    var tiers = [];
    var lines = String(box.value || '').split(/\r?\n/);
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i].trim();
      if (!line) continue;
      var m = /^(\d{1,6})\s*(?:[:=x×]\s*|\s+)(\S+)$/.exec(line);
      var qty = m ? A.parseCount(m[1]) : null;
      var unit = m ? A.parseMoney(m[2]) : null;
      if (qty === null || qty < 1 || unit === null) throw new Invalid(TS.bad(i + 1), box);
      if (tiers.length && qty <= tiers[tiers.length - 1].min_qty) throw new Invalid(TS.order, box);
      tiers.push({ min_qty: qty, unit_price: unit });
    }
    if (tiers.length > TIERS_MAX) throw new Invalid(TS.many, box);
    return tiers;
  }

  function tiersText(tiers) {
    return (tiers || []).map(function (t) { return t.min_qty + ' ' + A.moneyInput(t.unit_price); }).join('\n');
  }

  /* fields: {name, price, category, description, min, max, delivery, sort, active?} inputs.
   * Returns the JSON body, or throws Invalid naming the field. */
  function readProduct(f) {
    var name = f.name.value.trim();
    if (!name) throw new Invalid(t('products.err.name'), f.name);
    var price = A.parseMoney(f.price.value);
    if (price === null) {
      throw new Invalid(t('products.err.price'), f.price);
    }
    var min = A.parseCount(f.min.value);
    if (min === null || min < 1) throw new Invalid(t('products.err.min'), f.min);
    var max = A.parseCount(f.max.value);
    if (max === null) throw new Invalid(t('products.err.max'), f.max);
    if (max !== 0 && max < min) {
      throw new Invalid(t('products.err.max_min'), f.max);
    }
    var sortText = String(f.sort.value).trim();
    if (sortText !== '' && !/^-?\d{1,7}$/.test(sortText)) throw new Invalid(t('products.err.sort'), f.sort);
    var body = {
      name: name,
      price: price,
      category_id: f.category.value ? parseInt(f.category.value, 10) : null,
      description: f.description.value,
      min_qty: min,
      max_qty: max,
      delivery: f.delivery.value === 'manual' ? 'manual' : 'auto',
      sort: sortText === '' ? 0 : parseInt(sortText, 10)
    };
    if (f.active) body.active = !!f.active.checked;
    if (f.tiers) body.tiers = readTiers(f.tiers);
    return body;
  }

  function fail(box, err) {
    if (err instanceof Invalid) {
      A.showError(box, err.message);
      if (err.field) err.field.focus();
    } else {
      A.showError(box, err);
    }
  }

  /* ---- categories ---------------------------------------------------------------------- */

  function categoryName(id) {
    for (var i = 0; i < state.categories.length; i++) {
      if (state.categories[i].id === id) return state.categories[i].name;
    }
    return id == null ? '' : '#' + id;
  }

  /* A product of a hidden category is hidden from the shop too, whatever its own switch. */
  function categoryHidden(id) {
    for (var i = 0; i < state.categories.length; i++) {
      if (state.categories[i].id === id) return state.categories[i].active === false;
    }
    return false;
  }

  function fillCategorySelect(select, selected) {
    A.clear(select);
    select.appendChild(el('option', { value: '' }, t('common.none')));
    state.categories.forEach(function (c) {
      select.appendChild(el('option', { value: String(c.id) }, c.name + (c.active ? '' : t('products.hidden_suffix'))));
    });
    select.value = selected == null ? '' : String(selected);
  }

  function renderCategories() {
    Array.prototype.forEach.call(document.querySelectorAll('select.category-select'), function (s) {
      fillCategorySelect(s, s.value || null);
    });
    var list = A.$('categories-list');
    A.clear(list);
    state.categories.forEach(function (c) {
      var toggle = el('button', { type: 'button', className: 'secondary small' }, c.active ? t('products.hide') : t('products.show'));
      toggle.title = c.active ? t('products.hide_title') : t('products.show_title');
      toggle.addEventListener('click', function () {
        toggle.disabled = true;
        A.api('PATCH', '/api/admin/categories/' + c.id, { active: !c.active }).then(function () {
          notice(t(c.active ? 'products.category_hidden' : 'products.category_shown', { name: c.name }));
          return load();
        }).catch(function (err) {
          toggle.disabled = false;
          A.showError(pageError, err);
        });
      });
      list.appendChild(el('li', { className: c.active ? '' : 'inactive', dataset: { id: c.id } },
        el('span', { className: 'category-name' }, c.name),
        c.active ? null : el('span', { className: 'badge' }, t('products.hidden')),
        toggle));
    });
    A.$('categories-empty').classList.toggle('hidden', state.categories.length > 0);
  }

  var categoryForm = A.$('category-form');
  categoryForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var box = A.$('category-form-error');
    A.clearError(box);
    var name = A.$('nc-name').value.trim();
    var sortText = A.$('nc-sort').value.trim();
    if (!name) { fail(box, new Invalid(t('products.err.name'), A.$('nc-name'))); return; }
    if (sortText !== '' && !/^-?\d{1,7}$/.test(sortText)) {
      fail(box, new Invalid(t('products.err.sort'), A.$('nc-sort')));
      return;
    }
    var body = { name: name, sort: sortText === '' ? 0 : parseInt(sortText, 10) };
    A.busy(categoryForm, A.api('POST', '/api/admin/categories', body)).then(function (res) {
      categoryForm.reset();
      notice(t('products.category_created', { name: name }));
      return load().then(function () {
        /* the new category is most likely meant for the next product */
        if (res && res.id) A.$('np-category').value = String(res.id);
      });
    }).catch(function (err) { fail(box, err); });
  });

  /* ---- products -------------------------------------------------------------------------- */

  function productForm(p, onDone) {
    var f = {
      name: el('input', { maxLength: 200, value: p.name, required: true }),
      price: el('input', { value: A.moneyInput(p.price), inputMode: 'decimal', autocomplete: 'off' }),
      category: el('select', { className: 'category-select' }),
      description: el('textarea', { rows: 3, maxLength: 20000, value: p.description || '' }),
      min: el('input', { type: 'number', min: 1, step: 1, value: String(p.min_qty) }),
      max: el('input', { type: 'number', min: 0, step: 1, value: String(p.max_qty) }),
      delivery: el('select', null,
        el('option', { value: 'auto' }, t('products.delivery_auto')),
        el('option', { value: 'manual' }, t('products.delivery_manual'))),
      sort: el('input', { type: 'number', step: 1, value: String(p.sort || 0) }),
      tiers: el('textarea', { rows: 3, value: tiersText(p.tiers), spellcheck: false })
    };
    fillCategorySelect(f.category, p.category_id);
    f.delivery.value = p.delivery === 'manual' ? 'manual' : 'auto';
    var prefix = 'edit-' + p.id + '-';
    Object.keys(f).forEach(function (k) { f[k].id = prefix + k; f[k].name = k; });
    function field(key, label) {
      return el('div', null, el('label', { htmlFor: prefix + key }, label), f[key]);
    }
    var extra = window.ProductsExtra ? window.ProductsExtra.editor(p, prefix) : null; /* loop, fields, low stock, image */
    var errorBox = el('p', { className: 'error hidden', attrs: { role: 'alert' } });
    var cancel = el('button', { type: 'button', className: 'secondary' }, t('common.cancel'));
    var form = el('form', { className: 'edit-form', noValidate: true },
      el('h3', null, t('products.edit')),
      el('div', { className: 'form-row' },
        field('name', t('products.name')),
        field('price', t('products.price') + ' (' + (p.currency || state.currency) + ')'),
        field('category', t('products.category'))),
      el('div', { className: 'form-row' },
        field('delivery', t('products.delivery')),
        field('min', t('products.min')),
        field('max', t('products.max')),
        field('sort', t('products.sort'))),
      field('description', t('products.description')),
      field('tiers', TS.label),
      extra ? extra.node : null,
      errorBox,
      el('div', { className: 'actions' }, el('button', { type: 'submit' }, t('products.save')), cancel));
    cancel.addEventListener('click', function () { onDone(false); });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      A.clearError(errorBox);
      var body;
      try {
        body = readProduct(f);
        if (extra) extra.read(body, Invalid);
      } catch (e) { fail(errorBox, e); return; }
      A.busy(form, A.api('PATCH', '/api/admin/products/' + p.id, body)).then(function () {
        notice(t('products.saved', { name: body.name }));
        onDone(true);
      }).catch(function (err) { fail(errorBox, err); });
    });
    return { form: form, focus: function () { f.name.focus(); } };
  }

  function productRow(p) {
    var row = el('tr', { className: p.active ? '' : 'inactive', dataset: { id: p.id } });
    var active = el('input', { type: 'checkbox', checked: !!p.active, className: 'active-toggle' });
    active.setAttribute('aria-label', t('products.active_label', { name: p.name }));
    active.addEventListener('change', function () {
      var want = active.checked;
      active.disabled = true;
      A.api('PATCH', '/api/admin/products/' + p.id, { active: want }).then(function () {
        notice(t(want ? 'products.now_active' : 'products.now_inactive', { name: p.name }));
        return load();
      }).catch(function (err) {
        active.checked = !want;
        active.disabled = false;
        A.showError(pageError, err);
      });
    });

    var keys = el('a', { className: 'button small', href: '/admin/keys?product=' + encodeURIComponent(p.id) }, t('products.keys'));
    var edit = el('button', { type: 'button', className: 'secondary small edit-button' }, t('common.edit'));
    var del = el('button', { type: 'button', className: 'danger small delete-button' }, t('common.delete'));

    edit.addEventListener('click', function () {
      var open = row.nextSibling && row.nextSibling.classList && row.nextSibling.classList.contains('edit-row');
      if (open) { row.parentNode.removeChild(row.nextSibling); row.classList.remove('editing'); return; }
      var editRow = el('tr', { className: 'edit-row' });
      var cell = el('td', { colSpan: 8 });
      var editor = productForm(p, function (saved) {
        if (saved) { load(); return; }
        if (editRow.parentNode) editRow.parentNode.removeChild(editRow);
        row.classList.remove('editing');
        edit.focus();
      });
      cell.appendChild(editor.form);
      editRow.appendChild(cell);
      row.parentNode.insertBefore(editRow, row.nextSibling);
      row.classList.add('editing');
      editor.focus();
    });

    del.addEventListener('click', function () {
      var question = t('products.confirm_delete', { name: p.name });
      if (!window.confirm(question)) return;
      del.disabled = true;
      A.api('DELETE', '/api/admin/products/' + p.id).then(function (res) {
        notice(t(res && res.deleted ? 'products.deleted' : 'products.deactivated', { name: p.name }));
        return load();
      }).catch(function (err) {
        del.disabled = false;
        A.showError(pageError, err);
      });
    });

    var nameCell = el('td', { className: 'name-cell' },
      el('span', { className: 'product-name' }, p.name),
      window.ProductsExtra ? window.ProductsExtra.badge(p) : null,
      el('span', { className: 'sub muted' },
        '#' + p.id + (p.delivery === 'manual' ? ' · ' + t('products.manual_delivery') : '') +
        (p.max_qty ? ' · ' + t('products.per_order', { min: p.min_qty, max: p.max_qty }) :
          (p.min_qty > 1 ? ' · ' + t('products.at_least', { min: p.min_qty }) : '')) +
        (p.tiers && p.tiers.length ? ' · ' + TS.summary(p.tiers.length) : '') +
        (p.category_id != null && categoryHidden(p.category_id) ? ' · ' + TS.hiddenByCategory : '')));
    row.appendChild(nameCell);
    row.appendChild(el('td', null, p.category_id == null ? el('span', { className: 'muted' }, '—') : categoryName(p.category_id)));
    row.appendChild(el('td', { className: 'num price' }, A.formatMoney(p.price, p.currency)));
    row.appendChild(el('td', { className: 'num stock' + (p.stock === 0 && p.delivery !== 'manual' ? ' out' : '') },
      window.ProductsExtra ? window.ProductsExtra.stockText(p) : String(p.stock)));
    row.appendChild(el('td', { className: 'num reserved' }, String(p.reserved)));
    row.appendChild(el('td', { className: 'num sold' }, String(p.sold)));
    row.appendChild(el('td', { className: 'active' }, active));
    row.appendChild(el('td', { className: 'actions' }, keys, edit, del));
    return row;
  }

  function renderProducts() {
    var body = A.$('products-body');
    A.clear(body);
    state.products.forEach(function (p) { body.appendChild(productRow(p)); });
    A.$('products-loading').classList.add('hidden');
    A.$('products-empty').classList.toggle('hidden', state.products.length > 0);
  }

  var productFormEl = A.$('product-form');
  var newExtra = window.ProductsExtra ? window.ProductsExtra.editor({}, 'np-') : null;
  if (newExtra) A.$('np-extra').appendChild(newExtra.node);
  if (window.ProductsExtra && A.$('shop-header')) window.ProductsExtra.shopCard(A.$('shop-header'));
  productFormEl.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var box = A.$('product-form-error');
    A.clearError(box);
    var body;
    try {
      body = readProduct({
        name: A.$('np-name'), price: A.$('np-price'), category: A.$('np-category'),
        description: A.$('np-description'), min: A.$('np-min'), max: A.$('np-max'),
        delivery: A.$('np-delivery'), sort: A.$('np-sort'), active: A.$('np-active'),
        tiers: A.$('np-tiers')
      });
      if (newExtra) newExtra.read(body, Invalid);
    } catch (e) { fail(box, e); return; }
    if (body.category_id === null) delete body.category_id;
    A.busy(productFormEl, A.api('POST', '/api/admin/products', body)).then(function (res) {
      var category = A.$('np-category').value;
      productFormEl.reset();
      if (newExtra) { /* fresh extras too: no field rows of the last product */
        A.clear(A.$('np-extra'));
        newExtra = window.ProductsExtra.editor({}, 'np-');
        A.$('np-extra').appendChild(newExtra.node);
      }
      A.$('np-category').value = category;
      notice(t(body.delivery === 'auto' ? 'products.created_auto' : 'products.created', { name: body.name }));
      return load().then(function () {
        var row = res && res.id ? document.querySelector('#products-body tr[data-id="' + Number(res.id) + '"]') : null;
        if (row) row.classList.add('fresh');
      });
    }).catch(function (err) { fail(box, err); });
  });

  /* ---- loading -------------------------------------------------------------------------- */

  function load() {
    return Promise.all([
      A.api('GET', '/api/admin/categories'),
      A.api('GET', '/api/admin/products')
    ]).then(function (res) {
      state.categories = (res[0] && res[0].categories) || [];
      state.products = (res[1] && res[1].products) || [];
      renderCategories();
      renderProducts();
    }).catch(function (err) {
      A.$('products-loading').classList.add('hidden');
      A.showError(pageError, err);
    });
  }

  A.requireSession().then(function () {
    A.config().then(function (cfg) {
      state.currency = (cfg && cfg.currency) || '';
      Array.prototype.forEach.call(document.querySelectorAll('.currency-label'), function (n) {
        n.textContent = state.currency || t('products.major_units');
      });
    });
    return load();
  }).catch(function (err) { A.showError(pageError, err); });
})();
