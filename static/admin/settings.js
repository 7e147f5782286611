/* Settings: /admin/settings (static/admin/settings.html), owners only. One form per section
 * of the config file, and one for the buyer's mail templates (mail.template.<name>.<lang>);
 * a key fixed by the file or the environment is shown read-only with the reason; a secret is
 * never shown, only replaced ("new value") or cleared. A form sends only the keys it changed,
 * in one PATCH (the server applies all of them or none). Strings: static/assets/admin-i18n.js. */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var T = A.t;
  var has = window.I18n.has;
  var el = A.el;
  var pageError = A.$('page-error');
  var pageNotice = A.$('page-notice');

  var TEMPLATE = 'mail.template.';
  function isTemplate(key) { return key.indexOf(TEMPLATE) === 0; }
  function sectionOf(key) {
    return isTemplate(key) ? 'templates' : key.slice(0, key.lastIndexOf('.'));
  }
  function nameOf(key) { return key.slice(key.lastIndexOf('.') + 1); }
  function fieldId(key) { return 'set-' + key.replace(/[^a-z0-9_]/gi, '-'); }

  /* Keys whose value is one of a few words: a select of them, labelled 'settings.choice.<key>.<value>'. */
  var CHOICES = { 'shop.merchant_lang': ['en', 'zh-CN'] };
  function choiceLabel(key, value) {
    var k = 'settings.choice.' + key + '.' + value;
    return has(k) ? T(k) : String(value);
  }

  function whyFixed(s) {
    if (s.restart) return T('settings.restart');
    return T(s.source === 'environment' ? 'settings.fixed_env' : 'settings.fixed_file');
  }

  /* The control of one key, with read(): its new value, or undefined when unchanged. */
  function control(key, s) {
    var id = fieldId(key), input, read;
    var v = s.value;
    if (s.secret) {
      input = el('input', { id: id, type: 'password', autocomplete: 'new-password',
                            placeholder: T('settings.change') });
      var clear = el('input', { type: 'checkbox', id: id + '-clear' });
      read = function () {
        if (clear.checked) return '';
        return input.value ? input.value : undefined;
      };
      return { node: el('div', null, el('p', { className: 'muted small-print' },
                 T(v ? 'settings.secret_set' : 'settings.secret_unset')), input,
                 v ? el('label', { className: 'inline' }, clear, ' ', T('settings.clear')) : null),
               input: input, read: read };
    }
    if (typeof v === 'boolean') {
      input = el('input', { id: id, type: 'checkbox' });
      input.checked = v;
      read = function () { return input.checked !== v ? input.checked : undefined; };
    } else if (typeof v === 'number') {
      input = el('input', { id: id, type: 'number', step: '1' });
      input.value = String(v);
      read = function () {
        var n = A.parseCount(input.value);
        if (n === null) return input.value; /* the server names what is wrong */
        return n !== v ? n : undefined;
      };
    } else if (isTemplate(key)) {
      return templateControl(id, s);
    } else if (CHOICES[key]) {
      var words = CHOICES[key].indexOf(v) < 0 ? CHOICES[key].concat([v]) : CHOICES[key];
      input = el('select', { id: id }, words.map(function (w) {
        return el('option', { value: w }, choiceLabel(key, w));
      }));
      input.value = v;
      read = function () { return input.value !== v ? input.value : undefined; };
    } else {
      input = s.multiline ? el('textarea', { id: id, rows: 3 }) : el('input', { id: id });
      input.value = v;
      read = function () { return input.value !== v ? input.value : undefined; };
    }
    return { node: input, input: input, read: read };
  }

  /* A template's text, with "use the built-in text" (null) once the merchant has one. */
  function templateControl(id, s) {
    var input = s.multiline ? el('textarea', { id: id, rows: 8, className: 'mono' })
                            : el('input', { id: id, className: 'mono' });
    input.value = s.value;
    var reset = el('input', { type: 'checkbox', id: id + '-reset' });
    var read = function () {
      if (reset.checked) return null;
      return input.value !== s.value ? input.value : undefined;
    };
    return { node: el('div', null, input, s.source === 'settings'
               ? el('label', { className: 'inline' }, reset, ' ', T('settings.tpl_reset')) : null),
             input: input, read: read };
  }

  /* "Delivery mail: body · 中文" for mail.template.delivery_body.zh-CN */
  function labelOf(key) {
    if (isTemplate(key)) {
      var rest = key.slice(TEMPLATE.length), dot = rest.lastIndexOf('.');
      var name = rest.slice(0, dot), lang = rest.slice(dot + 1);
      var tkey = 'settings.tpl.' + name;
      return (has(tkey) ? T(tkey) : name) + ' · ' +
             T(lang === 'zh-CN' ? 'settings.tpl_lang_zh' : 'settings.tpl_lang_en');
    }
    return has('key.' + key) ? T('key.' + key) : nameOf(key);
  }

  function keyRow(key, s, controls) {
    var label = el('label', { htmlFor: fieldId(key), attrs: { title: key } }, labelOf(key));
    if (s.fixed) {
      var shown = s.secret ? T(s.value ? 'settings.secret_set' : 'settings.secret_unset')
                  : CHOICES[key] ? choiceLabel(key, s.value) : String(s.value);
      return el('div', { className: 'setting fixed', dataset: { key: key } }, label,
        el('input', { id: fieldId(key), value: shown, disabled: true, readOnly: true }),
        el('p', { className: 'muted small-print' }, whyFixed(s)));
    }
    var c = control(key, s);
    controls[key] = c;
    return el('div', { className: 'setting', dataset: { key: key } }, label, c.node);
  }

  function sectionForm(section, keys, settings) {
    var controls = {};
    var errBox = el('p', { className: 'error hidden', attrs: { role: 'alert' } });
    var form = el('form', { className: 'card', attrs: { novalidate: '' }, dataset: { section: section } },
      el('h2', null, has('section.' + section) ? T('section.' + section) : '[' + section + ']'),
      section === 'templates' ? el('p', { className: 'muted small-print' }, T('settings.tpl_hint')) : null,
      keys.map(function (k) { return keyRow(k, settings[k], controls); }),
      errBox,
      el('div', { className: 'actions' }, el('button', { type: 'submit' }, T('settings.save'))));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      A.clearError(errBox);
      var body = {}, n = 0;
      Object.keys(controls).forEach(function (k) {
        var v = controls[k].read();
        if (v !== undefined) { body[k] = v; n++; }
      });
      if (!n) { A.showNotice(pageNotice, T('settings.nothing')); return; }
      A.busy(form, A.api('PATCH', '/api/admin/settings', body)).then(function (res) {
        render(res.settings);
        A.showNotice(pageNotice, T('settings.saved'));
      }, function (err) { A.showError(errBox, err); });
    });
    return form;
  }

  function render(settings) {
    var groups = {}, order = [];
    var restart = A.$('restart-body');
    A.clear(restart);
    Object.keys(settings).forEach(function (k) {
      var s = settings[k];
      if (s.restart) {
        restart.appendChild(el('tr', null, el('td', { className: 'mono' }, k),
          el('td', { className: 'mono' }, s.secret ? T(s.value ? 'settings.secret_set' : 'settings.secret_unset')
                                                 : String(s.value))));
        return;
      }
      var sec = sectionOf(k);
      if (!groups[sec]) { groups[sec] = []; order.push(sec); }
      groups[sec].push(k);
    });
    var box = A.$('sections');
    A.clear(box);
    order.forEach(function (sec) { box.appendChild(sectionForm(sec, groups[sec], settings)); });
  }

  A.requireSession().then(function (s) {
    if (s.role !== 'owner') { A.showError(pageError, T('settings.owner_only')); return null; }
    return A.api('GET', '/api/admin/settings').then(function (res) { render(res.settings); });
  }).catch(function (err) { A.showError(pageError, err); });
})();
