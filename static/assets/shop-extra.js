/* cardshop storefront extras: the shop's logo, notice and contact link in the header and
 * footer, product images, and the input fields a product asks at checkout. Loaded (defer)
 * before /assets/shop.js, which calls window.ShopExtra where these belong. DOM built with
 * textContent only; every string through I18n.t(). */
(function () {
  'use strict';

  var I18n = window.I18n;
  var t = I18n.t;
  var C = window.Cardshop;
  var el = C.el, clear = C.clear;

  /* Only our own upload URLs become <img src>; only the schemes the API allows become links. */
  function uploadUrl(u) {
    return typeof u === 'string' && /^\/uploads\/[0-9a-f]{32}\.(png|jpg|webp)$/.test(u) ? u : null;
  }

  function contactHref(u) {
    return typeof u === 'string' && /^(https?:\/\/|mailto:|tg:\/\/)[^\s"'<>\\`]+$/i.test(u) ? u : null;
  }

  /* After the header got the shop's name: logo before it, notice under it, contact in the footer. */
  function chrome(cfg) {
    var brand = document.querySelector('.shop-top .brand');
    var logo = uploadUrl(cfg.logo_url);
    if (brand && logo && !brand.querySelector('img')) {
      brand.insertBefore(el('img', { className: 'shop-logo', src: logo, alt: '' }), brand.firstChild);
    }
    var header = document.querySelector('header.shop-top');
    if (header && typeof cfg.notice === 'string' && cfg.notice.trim() && !document.getElementById('shop-notice')) {
      header.parentNode.insertBefore(el('div', { id: 'shop-notice', className: 'shop-notice',
                                                 attrs: { role: 'note' } }, cfg.notice), header.nextSibling);
    }
    var footer = document.querySelector('footer.shop-footer');
    var href = contactHref(cfg.contact_url);
    if (footer && href && !footer.querySelector('.shop-contact')) {
      footer.appendChild(document.createTextNode(' · '));
      footer.appendChild(el('a', { className: 'shop-contact', href: href,
                                   attrs: { rel: 'noopener noreferrer', target: '_blank' } }, t('extra.contact')));
    }
  }

  function image(p, className) {
    var src = uploadUrl(p.image_url);
    return src ? el('img', { className: className, src: src, alt: String(p.name || ''),
                             attrs: { loading: 'lazy' } }) : null;
  }

  /* The product page: its picture above the title. */
  function productImage(p) {
    var box = document.getElementById('p-image');
    if (!box) return;
    clear(box);
    var img = image(p, 'product-image');
    if (img) box.appendChild(img);
  }

  function fieldsOf(p) {
    return Array.isArray(p.fields) ? p.fields.filter(function (f) {
      return f && typeof f.name === 'string' && /^[a-z0-9_]{1,32}$/.test(f.name);
    }) : [];
  }

  /* One labelled input per field, inside #p-fields; typed values survive a re-render. */
  function renderFields(p) {
    var box = document.getElementById('p-fields');
    if (!box) return;
    var kept = {};
    var old = box.querySelectorAll('input[data-field]');
    for (var i = 0; i < old.length; i++) kept[old[i].getAttribute('data-field')] = old[i].value;
    clear(box);
    fieldsOf(p).forEach(function (f) {
      var id = 'field-' + f.name;
      box.appendChild(el('label', { htmlFor: id }, String(f.label || f.name),
                         f.required ? null : ' ' + t('extra.optional')));
      box.appendChild(el('input', { id: id, name: 'field_' + f.name, type: 'text', required: !!f.required,
                                    value: kept[f.name] || '', autocomplete: 'off',
                                    attrs: { 'data-field': f.name, 'aria-invalid': 'false' } }));
    });
  }

  function chars(s) { return Array.from(s).length; } /* max_len counts characters */

  /* Puts the answers into body.fields; a message for the first bad one (its input focused),
   * or null. */
  function collect(p, body) {
    var answers = {};
    var list = fieldsOf(p);
    for (var i = 0; i < list.length; i++) {
      var f = list[i];
      var input = document.getElementById('field-' + f.name);
      var v = input ? input.value.trim() : '';
      var label = String(f.label || f.name);
      var msg = null;
      if (f.required && !v) msg = t('extra.field_required', { label: label });
      else if (f.max_len && chars(v) > f.max_len) msg = t('extra.field_too_long', { label: label, n: f.max_len });
      if (input) input.setAttribute('aria-invalid', msg ? 'true' : 'false');
      if (msg) {
        if (input) input.focus();
        return msg;
      }
      if (v) answers[f.name] = v;
    }
    if (list.length) body.fields = answers;
    return null;
  }

  /* "fields.game_id: required" from the server, in the field's own label. */
  function serverMessage(p, message) {
    var m = /^fields\.([a-z0-9_]+): (.+)$/.exec(message || '');
    if (!m) return null;
    var f = fieldsOf(p).filter(function (x) { return x.name === m[1]; })[0];
    var input = document.getElementById('field-' + m[1]);
    if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
    return (f ? String(f.label) : m[1]) + ': ' + I18n.serverMessage(m[2]);
  }

  window.ShopExtra = {
    chrome: chrome,
    cardImage: function (p) { return image(p, 'product-thumb'); },
    product: function (p) { productImage(p); renderFields(p); },
    collect: collect,
    serverMessage: serverMessage
  };
})();
