/* Products page extras (loaded before /admin/products.js): loop keys, checkout input fields,
 * the low-stock threshold and the product image in the product forms, and the shop header
 * (logo, notice, contact link). products.js calls window.ProductsExtra at a few points.
 * Every string is in STR below, so it can be translated in one place. */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var el = A.el;

  var STR = {
    en: {
      extras: 'Keys, checkout and picture',
      loop: 'Loop key: every buyer gets the same (first) key; one per order, never sold out',
      low_stock: 'Low-stock alert at (0 = off)',
      fields: 'Checkout fields (asked from the buyer)',
      field_name: 'name (a-z, 0-9, _)',
      field_label: 'Label shown to the buyer',
      field_max: 'Max. characters',
      field_required: 'Required',
      field_add: 'Add field',
      field_remove: 'Remove',
      image: 'Picture (PNG, JPEG or WebP, at most 2 MiB)',
      image_upload: 'Upload picture',
      image_remove: 'Remove picture',
      image_done: 'Picture saved.',
      image_removed: 'Picture removed.',
      bad_low: 'Low-stock alert: a whole number, 0 or more.',
      bad_name: 'Checkout field name: 1 to 32 of a-z, 0-9 and _.',
      bad_label: 'Checkout field label: required.',
      bad_max: 'Checkout field max. characters: 1 to 1000.',
      too_big: 'Picture: at most 2 MiB.',
      loop_badge: 'loop',
      stock_loop: 'loop',
      shop_title: 'Shop header',
      logo: 'Logo (PNG, JPEG or WebP, at most 2 MiB)',
      logo_upload: 'Upload logo',
      logo_remove: 'Remove logo',
      notice: 'Notice (shown under the shop header)',
      contact: 'Contact link (https://, mailto: or tg://)',
      save: 'Save header',
      saved: 'Shop header saved.'
    },
    'zh-CN': {
      extras: '卡密、下单信息与图片',
      loop: '循环卡密：每位买家都得到同一个（第一个）卡密；每单一个，永不售罄',
      low_stock: '低库存提醒阈值（0 = 关闭）',
      fields: '下单时填写的信息（向买家询问）',
      field_name: '字段名（a-z、0-9、_）',
      field_label: '显示给买家的名称',
      field_max: '最多字符数',
      field_required: '必填',
      field_add: '添加字段',
      field_remove: '删除',
      image: '商品图片（PNG、JPEG 或 WebP，最大 2 MiB）',
      image_upload: '上传图片',
      image_remove: '删除图片',
      image_done: '图片已保存。',
      image_removed: '图片已删除。',
      bad_low: '低库存提醒：请输入 0 或更大的整数。',
      bad_name: '字段名：1 至 32 个 a-z、0-9 或 _。',
      bad_label: '字段名称：必填。',
      bad_max: '最多字符数：1 至 1000。',
      too_big: '图片：最大 2 MiB。',
      loop_badge: '循环',
      stock_loop: '循环',
      shop_title: '店铺页眉',
      logo: '店铺 Logo（PNG、JPEG 或 WebP，最大 2 MiB）',
      logo_upload: '上传 Logo',
      logo_remove: '删除 Logo',
      notice: '公告（显示在店铺页眉下方）',
      contact: '联系方式链接（https://、mailto: 或 tg://）',
      save: '保存页眉',
      saved: '店铺页眉已保存。'
    }
  };
  /* The admin's language once the admin has one (static/assets/i18n.js), else English. */
  var lang = window.I18n && STR[window.I18n.lang] ? window.I18n.lang : 'en';
  function s(key) { return (STR[lang] && STR[lang][key]) || STR.en[key] || key; }

  function fieldRow(f) {
    var name = el('input', { type: 'text', value: f.name || '', maxLength: 32, className: 'f-name',
                             attrs: { 'aria-label': s('field_name'), placeholder: s('field_name') } });
    var label = el('input', { type: 'text', value: f.label || '', maxLength: 200, className: 'f-label',
                              attrs: { 'aria-label': s('field_label'), placeholder: s('field_label') } });
    var max = el('input', { type: 'number', min: 1, max: 1000, step: 1, value: String(f.max_len || 200),
                            className: 'f-max', attrs: { 'aria-label': s('field_max') } });
    var req = el('input', { type: 'checkbox', checked: !!f.required, className: 'f-required' });
    var row = el('div', { className: 'field-row' }, name, label, max,
                 el('label', { className: 'check' }, req, ' ' + s('field_required')));
    var remove = el('button', { type: 'button', className: 'secondary small' }, s('field_remove'));
    remove.addEventListener('click', function () { row.parentNode.removeChild(row); });
    row.appendChild(remove);
    return row;
  }

  function imageControls(p) {
    var box = el('div', { className: 'image-controls' });
    function render(url) {
      A.clear(box);
      if (typeof url === 'string' && /^\/uploads\//.test(url)) box.appendChild(el('img', { className: 'admin-thumb', src: url, alt: '' }));
      var file = el('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp',
                               attrs: { 'aria-label': s('image') } });
      var up = el('button', { type: 'button', className: 'secondary small' }, s('image_upload'));
      var rm = el('button', { type: 'button', className: 'secondary small' }, s('image_remove'));
      var msg = el('p', { className: 'error hidden', attrs: { role: 'alert' } });
      up.addEventListener('click', function () {
        A.clearError(msg);
        var f = file.files && file.files[0];
        if (!f) { file.focus(); return; }
        if (f.size > 2 * 1024 * 1024) { A.showError(msg, s('too_big')); return; }
        up.disabled = true;
        A.api('POST', '/api/admin/products/' + p.id + '/image', f).then(function (res) {
          render(res.image_url);
        }).catch(function (err) { up.disabled = false; A.showError(msg, err); });
      });
      rm.addEventListener('click', function () {
        A.api('DELETE', '/api/admin/products/' + p.id + '/image').then(function (res) {
          render(res.image_url);
        }).catch(function (err) { A.showError(msg, err); });
      });
      box.appendChild(el('div', { className: 'actions' }, file, up, url ? rm : null));
      box.appendChild(msg);
    }
    render(p.image_url);
    return box;
  }

  /* The extras block of a product form (p: the product, or {} for a new one). read(body, Invalid)
   * adds loop, low_stock and fields to body, or throws Invalid naming the input. */
  function editor(p, idPrefix) {
    var loop = el('input', { type: 'checkbox', checked: !!p.loop, id: idPrefix + 'loop', name: 'loop' });
    var low = el('input', { type: 'number', min: 0, step: 1, value: String(p.low_stock || 0),
                            id: idPrefix + 'low_stock', name: 'low_stock' });
    var rows = el('div', { className: 'field-rows' });
    (Array.isArray(p.fields) ? p.fields : []).forEach(function (f) { rows.appendChild(fieldRow(f)); });
    var add = el('button', { type: 'button', className: 'secondary small' }, s('field_add'));
    add.addEventListener('click', function () {
      var row = fieldRow({});
      rows.appendChild(row);
      row.querySelector('.f-name').focus();
    });
    var node = el('fieldset', { className: 'admin-fields-editor' },
      el('legend', null, s('extras')),
      el('label', { className: 'check' }, loop, ' ' + s('loop')),
      el('label', { htmlFor: idPrefix + 'low_stock' }, s('low_stock')), low,
      el('p', { className: 'label' }, s('fields')), rows, add,
      p.id ? el('p', { className: 'label' }, s('image')) : null,
      p.id ? imageControls(p) : null);

    function read(body, Invalid) {
      var lowText = String(low.value).trim();
      if (!/^\d{1,9}$/.test(lowText || '0')) throw new Invalid(s('bad_low'), low);
      body.loop = !!loop.checked;
      body.low_stock = lowText === '' ? 0 : parseInt(lowText, 10);
      var fields = [];
      Array.prototype.forEach.call(rows.querySelectorAll('.field-row'), function (r) {
        var n = r.querySelector('.f-name'), l = r.querySelector('.f-label'), m = r.querySelector('.f-max');
        var name = n.value.trim(), label = l.value.trim(), max = parseInt(m.value, 10);
        if (!name && !label) return; /* an empty row is no field */
        if (!/^[a-z0-9_]{1,32}$/.test(name)) throw new Invalid(s('bad_name'), n);
        if (!label) throw new Invalid(s('bad_label'), l);
        if (!(max >= 1 && max <= 1000)) throw new Invalid(s('bad_max'), m);
        fields.push({ name: name, label: label, required: r.querySelector('.f-required').checked, max_len: max });
      });
      body.fields = fields;
    }
    return { node: node, read: read };
  }

  /* ---- shop header: logo, notice, contact link ----------------------------------------- */

  function shopCard(section) {
    var notice = el('textarea', { id: 'shop-notice-input', rows: 2, maxLength: 2000 });
    var contact = el('input', { id: 'shop-contact-input', type: 'url', maxLength: 500, autocomplete: 'off' });
    var logoBox = el('div', { className: 'logo-controls' });
    var msg = el('p', { className: 'error hidden', attrs: { role: 'alert' } });
    var ok = el('p', { className: 'notice hidden', attrs: { role: 'status' } });
    var save = el('button', { type: 'submit' }, s('save'));
    function renderLogo(url) {
      A.clear(logoBox);
      if (typeof url === 'string' && /^\/uploads\//.test(url)) logoBox.appendChild(el('img', { className: 'admin-thumb', src: url, alt: '' }));
      var file = el('input', { type: 'file', id: 'shop-logo-file', accept: 'image/png,image/jpeg,image/webp' });
      var up = el('button', { type: 'button', className: 'secondary small' }, s('logo_upload'));
      var rm = el('button', { type: 'button', className: 'secondary small' }, s('logo_remove'));
      up.addEventListener('click', function () {
        A.clearError(msg);
        var f = file.files && file.files[0];
        if (!f) { file.focus(); return; }
        if (f.size > 2 * 1024 * 1024) { A.showError(msg, s('too_big')); return; }
        A.api('POST', '/api/admin/logo', f).then(function (res) { renderLogo(res.logo_url); })
          .catch(function (err) { A.showError(msg, err); });
      });
      rm.addEventListener('click', function () {
        A.api('DELETE', '/api/admin/logo').then(function (res) { renderLogo(res.logo_url); })
          .catch(function (err) { A.showError(msg, err); });
      });
      logoBox.appendChild(el('label', { htmlFor: 'shop-logo-file' }, s('logo')));
      logoBox.appendChild(el('div', { className: 'actions' }, file, up, url ? rm : null));
    }
    var form = el('form', { id: 'shop-header-form', noValidate: true },
      el('label', { htmlFor: 'shop-notice-input' }, s('notice')), notice,
      el('label', { htmlFor: 'shop-contact-input' }, s('contact')), contact,
      msg, ok, el('div', { className: 'actions' }, save));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      A.clearError(msg);
      ok.classList.add('hidden');
      var body = { notice: notice.value, contact_url: contact.value.trim() };
      A.busy(form, A.api('PATCH', '/api/admin/shop', body)).then(function () {
        A.showNotice(ok, s('saved'));
      }).catch(function (err) { A.showError(msg, err); });
    });
    section.appendChild(el('h2', null, s('shop_title')));
    section.appendChild(logoBox);
    section.appendChild(form);
    A.api('GET', '/api/admin/shop').then(function (info) {
      notice.value = info.notice || '';
      contact.value = info.contact_url || '';
      renderLogo(info.logo_url);
    }).catch(function (err) { A.showError(msg, err); });
  }

  window.ProductsExtra = {
    editor: editor,
    shopCard: shopCard,
    stockText: function (p) { return p.loop ? s('stock_loop') : String(p.stock); },
    badge: function (p) { return p.loop ? el('span', { className: 'badge' }, s('loop_badge')) : null; }
  };
})();
